//! HTTP/2 ([`crate::Plan::http2`]): one connection carrying up to
//! `Plan::streams` requests at once, on the `h2` crate (the implementation
//! under hyper) driven by the worker's runtime.
//!
//! Each stream is a sender of its own, with the same turn as an HTTP/1
//! connection (`turn`: schedule or claim, timing, record), so open and
//! closed loop, `-n`, `-d`, timeouts and the mix behave the same. A
//! connection's streams share one [`Session`]: the first to need it
//! connects; no more streams go at once than the server's
//! `SETTINGS_MAX_CONCURRENT_STREAMS` (until its first SETTINGS arrive,
//! one); a connection that ends (a GOAWAY, an error) is replaced by a new
//! one for the next request, and the run goes on.
//!
//! Nothing is retried unless the server said it did not process it: a
//! stream refused with REFUSED_STREAM, or left out by a graceful GOAWAY
//! (`NO_ERROR`: the server finishes what it took and refuses the rest),
//! goes again on a new stream, at most [`RETRIES`] times. Bodies are
//! counted and their flow-control window given back at once, never stored;
//! a response's header block is capped at 64 KiB.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use h2::client::SendRequest;
use h2::Reason;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST, TRANSFER_ENCODING};
use http::{Method, Request, Uri};
use tokio::sync::Notify;

use crate::conn::open;
use crate::h2clock::{Clock, Clocked};
use crate::plan::Plan;
use crate::record::Recorder;
use crate::record::{ErrorKind, Outcome};
use crate::request::RequestSpec;
use crate::target::Target;
use crate::turn::{next_turn, record_turn, Times, Turn};
use crate::worker::{RunState, Worker};

/// A request not processed by the server goes again at most this often.
const RETRIES: u32 = 3;

/// The largest response header block the client takes (HPACK-decoded).
const MAX_HEADER_LIST: u32 = 64 * 1024;

/// Flow-control window per stream and per connection: what a server may
/// send ahead of our reads, given back as each body chunk is counted.
const WINDOW: u32 = 256 * 1024;

/// One of the run's requests, as HTTP/2 sends it.
pub(crate) struct H2Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Option<Bytes>,
}

impl H2Request {
    /// `spec` for `target`, without the headers HTTP/2 forbids or carries
    /// otherwise (Host becomes `:authority`; Connection and the like mean
    /// nothing on a stream). `None` if the method or a header cannot be
    /// sent (the plan's validation refuses those first).
    pub(crate) fn new(target: &Target, spec: &RequestSpec) -> Option<H2Request> {
        let scheme = if target.tls { "https" } else { "http" };
        let uri = format!("{scheme}://{}{}", target.host_header(), spec.path);
        let mut headers = HeaderMap::with_capacity(spec.headers.len());
        for (name, value) in &spec.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            let forbidden = [CONNECTION, HOST, TRANSFER_ENCODING].contains(&name)
                || ["keep-alive", "proxy-connection", "upgrade"].contains(&name.as_str());
            if !forbidden {
                headers.append(name, HeaderValue::from_str(value).ok()?);
            }
        }
        Some(H2Request {
            method: Method::from_bytes(spec.method.as_bytes()).ok()?,
            uri: uri.parse().ok()?,
            headers,
            body: spec.body.as_deref().map(Bytes::copy_from_slice),
        })
    }

    /// The plan's own request, or each of its mix.
    pub(crate) fn all(plan: &Plan) -> Option<Vec<H2Request>> {
        let own = RequestSpec {
            method: plan.method.clone(),
            path: plan.target.path.clone(),
            headers: plan.headers.clone(),
            body: plan.body.clone(),
        };
        match plan.mix.is_empty() {
            true => Some(vec![H2Request::new(&plan.target, &own)?]),
            false => plan
                .mix
                .iter()
                .map(|s| H2Request::new(&plan.target, s))
                .collect(),
        }
    }

    fn request(&self) -> Request<()> {
        let mut request = Request::new(());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Runs connection number `index`'s streams until the run has no more
/// requests for them.
pub(crate) async fn session<R: Recorder>(run: Arc<RunState>, worker: Rc<Worker<R>>, index: u32) {
    let session = Rc::new(Session::default());
    let mut streams = tokio::task::JoinSet::new();
    for _ in 0..run.streams {
        let (run, worker, session) = (Arc::clone(&run), Rc::clone(&worker), Rc::clone(&session));
        streams.spawn_local(async move { stream(&run, &worker, &session, index).await });
    }
    while let Some(ended) = streams.join_next().await {
        if let Err(e) = ended {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
}

/// One stream's requests, one after another.
async fn stream<R: Recorder>(run: &RunState, worker: &Worker<R>, session: &Session, index: u32) {
    let mut busy_until = None;
    // One timer per stream, pushed forward for each request (as the HTTP/1
    // loop does): a new timer per request would be a wheel insertion and
    // removal each time.
    let timer = tokio::time::sleep(run.timeout);
    tokio::pin!(timer);
    loop {
        session.acquire(run).await;
        let Some(turn) = next_turn(run, worker, busy_until, Instant::now()).await else {
            session.release();
            break;
        };
        timer
            .as_mut()
            .reset(tokio::time::Instant::from_std(turn.deadline));
        let mut times = Times::default();
        let result = tokio::select! {
            biased;
            r = session.exchange(run, &turn, &mut times, index) => r,
            () = &mut timer => Err(ErrorKind::Timeout),
        };
        session.release();
        let done = match (&result, times.last_read) {
            (Ok(_), Some(t)) => t,
            _ => Instant::now(),
        };
        let mut turn = turn;
        from_the_write(&mut turn, &times);
        let outcome = match result {
            Ok((status, header_bytes, body_bytes)) => Outcome::Response {
                status,
                header_bytes,
                body_bytes,
                keep_alive: true,
                write_failed: false,
            },
            Err(kind) => Outcome::Error(kind),
        };
        record_turn(run, worker, &turn, &times, done, outcome);
        busy_until = Some(done);
    }
}

/// Times a request on a kept connection from the write that carried it
/// ([`crate::h2clock`]), not from when its stream queued it: the wait for
/// the connection's task is the client's, so it moves to the send
/// lateness. A request that made its connection keeps its start, so its
/// time includes the connect, as over HTTP/1.
fn from_the_write(turn: &mut Turn, times: &Times) {
    let Some(written) = times.written else { return };
    if times.connected.is_some() || written <= turn.start {
        return;
    }
    let waited = written.duration_since(turn.start).as_micros() as u64;
    if let Some(scheduled) = &mut turn.scheduled {
        scheduled.send_lateness_us += waited;
    }
    turn.start = written;
}

/// What the streams of one connection share.
#[derive(Default)]
struct Session {
    /// The connection, once made; `None` before, and after it ended.
    conn: RefCell<Option<Conn>>,
    /// A stream is making the connection: the others wait.
    connecting: Cell<bool>,
    /// Streams holding a place (in flight, or waiting for their due time).
    active: Cell<usize>,
    /// Connections made so far, to tell one from the next.
    made: Cell<u64>,
    /// Wakes streams waiting for a place or for the connection.
    changed: Notify,
}

#[derive(Clone)]
struct Conn {
    send: SendRequest<Bytes>,
    /// When its transport moved bytes.
    clock: Rc<Clock>,
    number: u64,
}

/// Why an attempt on a stream failed, and what to do about it.
struct Failure {
    kind: ErrorKind,
    /// The connection is done: make a new one for the next request.
    dead: bool,
    /// The server did not process the request: send it again.
    again: bool,
}

impl Session {
    /// Waits for a place among the streams the server allows at once.
    async fn acquire(&self, run: &RunState) {
        loop {
            let notified = self.changed.notified();
            let allowed = match &*self.conn.borrow() {
                Some(c) => c
                    .send
                    .current_max_send_streams()
                    .clamp(1, run.streams as usize),
                None => 1,
            };
            if self.active.get() < allowed || run.control.is_stopped() {
                self.active.set(self.active.get() + 1);
                return;
            }
            notified.await;
        }
    }

    fn release(&self) {
        self.active.set(self.active.get().saturating_sub(1));
        self.changed.notify_waiters();
    }

    /// One request, sent again while the server says it did not process
    /// it: `(status, header bytes, body bytes)`.
    async fn exchange(
        &self,
        run: &RunState,
        turn: &Turn,
        times: &mut Times,
        index: u32,
    ) -> Result<(u16, u64, u64), ErrorKind> {
        let mut tries = 0;
        loop {
            let conn = self.connection(run, times, index).await?;
            match send(conn.send, &conn.clock, run, turn, times).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => {
                    if failure.dead {
                        self.forget(conn.number);
                    }
                    if !(failure.again && tries < RETRIES) {
                        return Err(failure.kind);
                    }
                    tries += 1;
                }
            }
        }
    }

    /// The connection, made now if there is none (by this stream alone).
    async fn connection(
        &self,
        run: &RunState,
        times: &mut Times,
        index: u32,
    ) -> Result<Conn, ErrorKind> {
        loop {
            let notified = self.changed.notified();
            if let Some(conn) = &*self.conn.borrow() {
                return Ok(conn.clone());
            }
            if !self.connecting.get() {
                break;
            }
            notified.await;
        }
        self.connecting.set(true);
        let made = connect(run, index).await;
        self.connecting.set(false);
        self.changed.notify_waiters();
        let (send, clock) = made?;
        times.connected = Some(Instant::now());
        let conn = Conn {
            send,
            clock,
            number: self.made.get() + 1,
        };
        self.made.set(conn.number);
        *self.conn.borrow_mut() = Some(conn.clone());
        Ok(conn)
    }

    /// Forgets connection `number` (if it is still the current one).
    fn forget(&self, number: u64) {
        let mut conn = self.conn.borrow_mut();
        if conn.as_ref().is_some_and(|c| c.number == number) {
            *conn = None;
        }
    }
}

/// A new HTTP/2 connection: the socket (and TLS, which must choose `h2`),
/// then the preface and settings; its driver runs as a task of its own.
async fn connect(run: &RunState, index: u32) -> Result<(SendRequest<Bytes>, Rc<Clock>), ErrorKind> {
    let stream = open(run, crate::conn::source_for(run, index)).await?;
    if let crate::stream::Stream::Tls(tls) = &stream {
        if tls.alpn() != Some(b"h2") {
            let chosen = tls.alpn().map_or("none".to_string(), |p| {
                String::from_utf8_lossy(p).into_owned()
            });
            let _ = run.alpn_refused.set(chosen);
            run.control.stop();
            return Err(ErrorKind::Tls);
        }
    }
    let clock = Rc::new(Clock::default());
    let stream = Clocked::new(stream, Rc::clone(&clock));
    let (send, connection) = h2::client::Builder::new()
        .initial_max_send_streams(1)
        .max_header_list_size(MAX_HEADER_LIST)
        .initial_window_size(WINDOW)
        .initial_connection_window_size(WINDOW)
        .max_send_buffer_size(64 * 1024)
        .enable_push(false)
        .handshake::<_, Bytes>(stream)
        .await
        .map_err(|e| failure(&e).kind)?;
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok((send, clock))
}

/// One attempt on a new stream: send, read the head, count the body.
async fn send(
    send: SendRequest<Bytes>,
    clock: &Clock,
    run: &RunState,
    turn: &Turn,
    times: &mut Times,
) -> Result<(u16, u64, u64), Failure> {
    let request = &run.h2_requests[turn.target];
    let mut send = send.ready().await.map_err(|e| failure(&e))?;
    let no_body = request.body.is_none();
    let (response, mut body) = send
        .send_request(request.request(), no_body)
        .map_err(|e| failure(&e))?;
    // Queued: the connection's next write carries it.
    let queued = Instant::now();
    let ticket = clock.next_write();
    if let Some(data) = &request.body {
        send_body(&mut body, data.clone())
            .await
            .map_err(|e| failure(&e))?;
    }
    let response = response.await.map_err(|e| failure(&e))?;
    let written = clock.write_time(ticket).unwrap_or(queued);
    // The reads that brought the answer came after the write that carried
    // the request; a time before it would be another's (kept no more).
    let read_since = || {
        clock
            .read_time()
            .filter(|&t| t >= written)
            .unwrap_or_else(Instant::now)
    };
    times.written = Some(written);
    times.first_byte = Some(read_since());
    let status = response.status().as_u16();
    let header_bytes = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().len() + v.len() + 4) as u64)
        .sum::<u64>()
        + 17;
    let mut stream = response.into_body();
    let mut body_bytes = 0u64;
    while let Some(chunk) = stream.data().await {
        let chunk = chunk.map_err(|e| failure(&e))?;
        body_bytes += chunk.len() as u64;
        // Counted, not kept: the window goes back at once.
        let _ = stream.flow_control().release_capacity(chunk.len());
    }
    times.last_read = Some(read_since());
    Ok((status, header_bytes, body_bytes))
}

/// Sends a request body within the stream's flow-control window.
async fn send_body(stream: &mut h2::SendStream<Bytes>, mut data: Bytes) -> Result<(), h2::Error> {
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let granted = match std::future::poll_fn(|cx| stream.poll_capacity(cx)).await {
            Some(granted) => granted?,
            None => return Err(h2::Error::from(Reason::STREAM_CLOSED)),
        };
        let piece = data.split_to(granted.min(data.len()));
        stream.send_data(piece, data.is_empty())?;
    }
    Ok(())
}

/// What an h2 error means for the request and the connection.
fn failure(e: &h2::Error) -> Failure {
    let code = e.reason().map_or(0, u32::from);
    if e.is_go_away() {
        // A graceful GOAWAY refuses only what the server did not take.
        let graceful = e.reason() == Some(Reason::NO_ERROR);
        return Failure {
            kind: ErrorKind::GoAway,
            dead: true,
            again: graceful,
        };
    }
    if e.is_reset() && e.is_remote() {
        return Failure {
            kind: ErrorKind::Reset(code),
            dead: false,
            again: e.reason() == Some(Reason::REFUSED_STREAM),
        };
    }
    if e.is_io() {
        return Failure {
            kind: ErrorKind::Read,
            dead: true,
            again: false,
        };
    }
    // The client's own refusal: a frame or header block out of bounds.
    Failure {
        kind: ErrorKind::Protocol,
        dead: !e.is_reset(),
        again: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Scheduled;
    use std::time::Duration;

    fn turn(start: Instant) -> Turn {
        Turn {
            start,
            target: 0,
            deadline: start + Duration::from_secs(1),
            scheduled: Some(Scheduled {
                due_us: 0,
                late_us: 7,
                send_lateness_us: 5,
            }),
        }
    }

    #[test]
    fn the_wait_for_the_connections_write_is_the_clients() {
        let start = Instant::now();
        let times = Times {
            written: Some(start + Duration::from_micros(300)),
            ..Times::default()
        };
        let mut t = turn(start);
        from_the_write(&mut t, &times);
        assert_eq!(t.start, start + Duration::from_micros(300));
        let s = t.scheduled.unwrap();
        assert_eq!((s.late_us, s.send_lateness_us), (7, 305));
    }

    #[test]
    fn a_request_that_made_its_connection_keeps_its_start() {
        let start = Instant::now();
        let times = Times {
            connected: Some(start + Duration::from_micros(100)),
            written: Some(start + Duration::from_micros(300)),
            ..Times::default()
        };
        let mut t = turn(start);
        from_the_write(&mut t, &times);
        assert_eq!(t.start, start);
        assert_eq!(t.scheduled.unwrap().send_lateness_us, 5);
    }
}
