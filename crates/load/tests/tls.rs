//! `https://` targets against a local rustls server with a certificate made
//! in the test: an insecure plan gets answers over TLS, a verifying one
//! records certificate errors, by kind.

#[path = "support/tls_server.rs"]
mod tls_server;

use std::time::Duration;

use speedup_load::{run, Control, ErrorKind, Outcome, Plan, Record, Recorder, Target};

#[derive(Default)]
struct Outcomes(Vec<Outcome>);

impl Recorder for Outcomes {
    fn record(&mut self, record: &Record) {
        self.0.push(record.outcome);
    }
}

fn plan(url: &str, insecure: bool, keep_alive: bool) -> Plan {
    let mut p = Plan::new(Target::parse(url).expect("url"));
    p.requests = Some(20);
    p.concurrency = 2;
    p.keep_alive = keep_alive;
    p.insecure = insecure;
    p.timeout = Duration::from_secs(10);
    p.headers = speedup_load::default_headers(&p.target);
    p
}

fn outcomes(p: &Plan) -> (Vec<Outcome>, Option<speedup_load::TlsInfo>) {
    let out = run(p, Outcomes::default, &Control::new()).expect("run");
    let all = out.recorders.into_iter().flat_map(|r| r.0).collect();
    (all, out.tls)
}

#[test]
fn insecure_plan_gets_answers_over_tls() {
    let base = tls_server::start();
    for keep_alive in [true, false] {
        let (all, tls) = outcomes(&plan(&format!("{base}/"), true, keep_alive));
        assert_eq!(all.len(), 20);
        for o in &all {
            assert!(
                matches!(
                    o,
                    Outcome::Response {
                        status: 200,
                        body_bytes: 2,
                        ..
                    }
                ),
                "{o:?}"
            );
        }
        let tls = tls.expect("handshake info");
        assert_eq!(tls.protocol, "TLSv1.3");
        assert!(tls.cipher.starts_with("TLS_AES_"), "{}", tls.cipher);
        // rcgen's default key is ECDSA P-256; rustls prefers X25519.
        assert_eq!(tls.server_key_bits, Some(256));
        assert_eq!(tls.key_exchange.as_deref(), Some("X25519"));
    }
}

/// Each new connection is a new client: a full handshake, as real ab does,
/// unless the plan asks for resumption.
#[test]
fn new_connections_resume_sessions_only_when_asked() {
    for resume in [false, true] {
        let (base, handshakes) = tls_server::start_counting();
        let mut p = plan(&format!("{base}/"), true, false);
        p.tls_resume = resume;
        let (all, _) = outcomes(&p);
        assert_eq!(all.len(), 20);
        let (full, resumed) = handshakes.counts();
        assert_eq!(full + resumed, 20, "one handshake per connection");
        if resume {
            // The first connection of each of the two has nothing to resume.
            assert!(resumed >= 15, "resume: {full} full, {resumed} resumed");
        } else {
            assert_eq!((full, resumed), (20, 0));
        }
    }
}

#[test]
fn verifying_plan_records_certificate_errors() {
    let base = tls_server::start();
    let (all, tls) = outcomes(&plan(&format!("{base}/"), false, true));
    assert_eq!(all.len(), 20);
    assert!(
        all.iter()
            .all(|o| *o == Outcome::Error(ErrorKind::Certificate)),
        "{all:?}"
    );
    assert!(tls.is_none());
}

#[test]
fn plain_http_server_is_a_tls_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().map_while(Result::ok) {
            use std::io::Write;
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let mut p = plan(&format!("https://127.0.0.1:{port}/"), true, false);
    p.requests = Some(2);
    let (all, _) = outcomes(&p);
    assert!(
        all.iter().all(|o| *o == Outcome::Error(ErrorKind::Tls)),
        "{all:?}"
    );
}
