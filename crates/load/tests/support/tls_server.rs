//! A local HTTPS server for tests: rustls with a self-signed certificate
//! made in the test (rcgen), one thread per connection, keep-alive, every
//! request answered `200 ok`. Shared by the engine's and the CLI's tests.
//! It counts its handshakes, full and resumed, so tests can tell whether a
//! client resumed sessions.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Handshakes the server completed, by kind.
#[derive(Debug, Default)]
pub struct Handshakes {
    /// Full handshakes (a new session).
    pub full: AtomicUsize,
    /// Resumed sessions.
    pub resumed: AtomicUsize,
}

impl Handshakes {
    /// `(full, resumed)` so far.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.full.load(Ordering::SeqCst),
            self.resumed.load(Ordering::SeqCst),
        )
    }
}

/// Starts the server on `127.0.0.1:0` for the life of the test process;
/// returns its base URL, `https://127.0.0.1:PORT`.
pub fn start() -> String {
    start_counting().0
}

/// [`start`], with the server's count of handshakes.
pub fn start_counting() -> (String, Arc<Handshakes>) {
    let handshakes = Arc::new(Handshakes::default());
    let counts = Arc::clone(&handshakes);
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("self-signed certificate");
    let chain = vec![CertificateDer::from(cert.cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    // Deprecated in rustls 0.23.48 (no post-quantum groups), still ours.
    #[allow(deprecated)]
    let ring = rustls::crypto::ring::default_provider();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(ring))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("https://{}", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        for tcp in listener.incoming().map_while(Result::ok) {
            let config = Arc::clone(&config);
            let handshakes = Arc::clone(&handshakes);
            thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut counted = false;
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    if !counted {
                        counted = true;
                        let kind = match tls.conn.handshake_kind() {
                            Some(rustls::HandshakeKind::Resumed) => &handshakes.resumed,
                            _ => &handshakes.full,
                        };
                        kind.fetch_add(1, Ordering::SeqCst);
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
                    buf.drain(..end);
                    let answer =
                        b"HTTP/1.1 200 OK\r\nServer: tls-test\r\nContent-Length: 2\r\n\r\nok";
                    if tls.write_all(answer).and_then(|()| tls.flush()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, counts)
}
