//! TLS as the user's tools do it: `speedup ab` and `speedup bench` do a
//! full handshake on every new connection (each stands for a new client),
//! `bench --tls-resume` resumes sessions, and the key exchange prefers
//! X25519 against a real OpenSSL server. The OpenSSL tests are
//! `#[ignore = "needs openssl"]`; `.ci/run` installs it and runs them.

#[path = "../../load/tests/support/tls_server.rs"]
mod tls_server;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

fn speedup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(args)
        .output()
        .expect("run speedup")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_new_connection_is_a_full_handshake_unless_bench_is_told_to_resume() {
    let runs: [(&[&str], bool); 3] = [
        (&["ab", "-n", "20", "-c", "2"], false),
        (
            &["bench", "-k", "--no-keepalive", "-n", "20", "-c", "2"],
            false,
        ),
        (
            &[
                "bench",
                "-k",
                "--no-keepalive",
                "--tls-resume",
                "-n",
                "20",
                "-c",
                "2",
            ],
            true,
        ),
    ];
    for (args, resume) in runs {
        let (base, handshakes) = tls_server::start_counting();
        let url = format!("{base}/");
        let out = speedup(&[args, &[url.as_str()]].concat());
        assert!(out.status.success(), "{args:?}: {}", stdout(&out));
        let (full, resumed) = handshakes.counts();
        assert_eq!(full + resumed, 20, "{args:?}: one handshake per request");
        if resume {
            assert!(resumed >= 15, "{args:?}: {full} full, {resumed} resumed");
        } else {
            assert_eq!((full, resumed), (20, 0), "{args:?}");
        }
    }
}

/// `openssl s_server -www` on a free loopback port with a fresh
/// self-signed P-256 certificate, killed on drop.
struct OpensslServer {
    child: Child,
    url: String,
    _dir: PathBuf,
}

impl OpensslServer {
    fn start() -> OpensslServer {
        let dir = std::env::temp_dir().join(format!("speedup-tls-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=localhost", "-keyout"])
            .args([&key, Path::new("-out"), &cert])
            .stderr(Stdio::null())
            .status()
            .expect("openssl (apt-get install -y openssl)");
        assert!(made.success(), "openssl req failed");
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-cert"])
            .args([&cert, Path::new("-key"), &key])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("ACCEPT ") {
                    let _ = tx.send(format!("https://{}/", addr.trim()));
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("openssl s_server printed no ACCEPT line within 30 s");
        OpensslServer {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// s_server's page says whether the session was new or reused, so a client
/// that resumes sees pages of two lengths: ab counts no Length failure
/// because it never resumes, and neither may we.
#[test]
#[ignore = "needs openssl"]
fn ab_against_openssl_negotiates_x25519_and_never_resumes() {
    let server = OpensslServer::start();
    let out = speedup(&["ab", "-n", "40", "-c", "4", &server.url]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("\nServer Temp Key:        X25519 253 bits\n"),
        "{text}"
    );
    assert!(text.contains("Complete requests:      40\n"), "{text}");
    assert!(text.contains("Failed requests:        0\n"), "{text}");
}
