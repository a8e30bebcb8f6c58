//! A local HTTP/2 server for tests (h2c, prior knowledge), on the `h2`
//! crate's server side, that misbehaves as told: at most so many streams at
//! once, a GOAWAY after so many, a reset of every n-th stream, a huge
//! header block, a huge body, a stall. It counts what it saw.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::Reason;
use http::Response;

/// How the server behaves.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// SETTINGS_MAX_CONCURRENT_STREAMS (none: h2's default).
    pub max_streams: Option<u32>,
    /// Each connection goes away gracefully after this many streams.
    pub goaway_after: Option<usize>,
    /// Every n-th stream (counted over the server) is reset with this code.
    pub reset_every: Option<(usize, Reason)>,
    /// Responses carry a header of this many bytes.
    pub header_bytes: usize,
    /// Responses carry a body of this many bytes (default "ok").
    pub body_bytes: Option<usize>,
    /// Streams that arrive between these times after the first are
    /// answered only when the window ends.
    pub stall: Option<(Duration, Duration)>,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Streams (requests) received.
    pub streams: AtomicUsize,
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Streams in progress now, and the most ever at once on one server.
    pub in_flight: AtomicUsize,
    pub most_in_flight: AtomicUsize,
}

/// Starts the server on `127.0.0.1:0` for the life of the test process:
/// its base URL (`http://127.0.0.1:PORT`) and what it saw.
pub fn start(behaviour: Behaviour) -> (String, Arc<Seen>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Seen::default());
    let counts = Arc::clone(&seen);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let first = Arc::new(std::sync::OnceLock::<Instant>::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                seen.connections.fetch_add(1, Ordering::SeqCst);
                let (b, seen, first) = (behaviour.clone(), Arc::clone(&seen), Arc::clone(&first));
                tokio::spawn(async move { connection(socket, b, seen, first).await });
            }
        });
    });
    (base, counts)
}

async fn connection(
    socket: tokio::net::TcpStream,
    b: Behaviour,
    seen: Arc<Seen>,
    first: Arc<std::sync::OnceLock<Instant>>,
) {
    let mut builder = h2::server::Builder::new();
    if let Some(max) = b.max_streams {
        builder.max_concurrent_streams(max);
    }
    let Ok(mut conn) = builder.handshake::<_, Bytes>(socket).await else {
        return;
    };
    let mut here = 0;
    while let Some(Ok((request, mut respond))) = conn.accept().await {
        here += 1;
        let n = seen.streams.fetch_add(1, Ordering::SeqCst) + 1;
        if b.goaway_after == Some(here) {
            conn.graceful_shutdown();
        }
        let (b, seen) = (b.clone(), Arc::clone(&seen));
        let start = *first.get_or_init(Instant::now);
        tokio::spawn(async move {
            let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
            drop(request);
            if let Some((every, reason)) = b.reset_every {
                if n % every == 0 {
                    seen.in_flight.fetch_sub(1, Ordering::SeqCst);
                    respond.send_reset(reason);
                    return;
                }
            }
            if let Some((after, length)) = b.stall {
                let (from, until) = (start + after, start + after + length);
                let now = Instant::now();
                if now >= from && now < until {
                    tokio::time::sleep(until - now).await;
                }
            } else {
                // Long enough for the client to have several in flight.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let mut response = Response::builder().status(200);
            if b.header_bytes > 0 {
                response = response.header("x-big", "x".repeat(b.header_bytes));
            }
            let body = match b.body_bytes {
                Some(n) => Bytes::from(vec![b'x'; n]),
                None => Bytes::from_static(b"ok"),
            };
            seen.in_flight.fetch_sub(1, Ordering::SeqCst);
            let Ok(mut stream) = respond.send_response(response.body(()).expect("response"), false)
            else {
                return;
            };
            let _ = send_all(&mut stream, body).await;
        });
    }
}

/// Sends `body` within the flow-control windows the client gives.
async fn send_all(stream: &mut h2::SendStream<Bytes>, mut body: Bytes) -> Result<(), h2::Error> {
    while !body.is_empty() {
        stream.reserve_capacity(body.len().min(1 << 16));
        let granted = match std::future::poll_fn(|cx| stream.poll_capacity(cx)).await {
            Some(granted) => granted?,
            None => return Ok(()),
        };
        let piece = body.split_to(granted.min(body.len()));
        stream.send_data(piece, body.is_empty())?;
    }
    Ok(())
}
