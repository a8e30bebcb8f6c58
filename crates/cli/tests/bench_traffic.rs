//! `speedup bench` for real traffic, from the outside: SLOs as exit codes,
//! a targets file that is refused by its line before anything is sent,
//! targets from stdin, headers from a file, and a Unix socket.

mod bench_support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use bench_support::{counting_server, run_within, scratch, text};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn slo_conditions_are_checked_and_a_failed_one_exits_2() {
    let (base, _) = counting_server(Some(Duration::from_millis(10)));
    let url = format!("{base}/");
    let out = run_within(
        &[
            "bench",
            "-n",
            "20",
            "-c",
            "2",
            "--slo",
            "p99<1s,errors<1%",
            "--json",
            "-",
            &url,
        ],
        LIMIT,
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("slo p99<1s"), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(v["slo"][0]["expr"], "p99<1s");
    assert_eq!(v["slo"][0]["ok"], true);
    assert_eq!(v["slo"][1]["value"], 0.0);

    let out = run_within(
        &["bench", "-n", "20", "-c", "2", "--slo", "p50<1ms", &url],
        LIMIT,
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stdout.contains("slo p50<1ms") && stdout.contains("FAIL"),
        "{stdout}"
    );
    assert!(stderr.contains("did not meet --slo"), "{stderr}");

    // Conditions are read before anything is sent.
    let out = run_within(&["bench", "--slo", "p99<fast", &url], LIMIT);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("--slo \"p99<fast\""), "{stderr}");
    let out = run_within(&["bench", "--slo", "rate>=99%", &url], LIMIT);
    assert!(text(&out).1.contains("add --rate"), "{}", text(&out).1);
}

#[test]
fn a_targets_file_with_an_error_is_refused_by_its_line_before_any_request() {
    let (base, heads) = counting_server(Some(Duration::ZERO));
    let file = scratch("bad-targets").join("t.txt");
    std::fs::write(&file, format!("GET {base}/a\n\nPOST\n")).expect("write");
    let out = run_within(
        &["bench", "-n", "4", "--targets", file.to_str().unwrap()],
        LIMIT,
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("t.txt: line 3: \"POST\": expected a request line"),
        "{stderr}"
    );
    std::fs::write(&file, format!("GET {base}/a\nGET http://127.0.0.2:9/b\n")).expect("write");
    let out = run_within(
        &["bench", "-n", "4", "--targets", file.to_str().unwrap()],
        LIMIT,
    );
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("line 2: http://127.0.0.2:9/b is not on"),
        "{stderr}"
    );
    assert_eq!(heads.load(Ordering::SeqCst), 0, "nothing was sent");
}

#[test]
fn targets_from_stdin_and_headers_from_a_file() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let heads = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().expect("accept");
        let (mut seen, mut answered) = (Vec::new(), 0);
        let mut buf = [0u8; 4096];
        while answered < 2 {
            let n = c.read(&mut buf).expect("read");
            assert!(n > 0, "closed early");
            seen.extend_from_slice(&buf[..n]);
            let heads = seen.windows(4).filter(|w| w == b"\r\n\r\n").count();
            while answered < heads {
                c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    .expect("answer");
                answered += 1;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let headers = scratch("headers").join("h.txt");
    std::fs::write(&headers, "# mine\nX-From-File: 1\n\nX-Both: file\n").expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(["bench", "-n", "2", "-c", "1", "--targets", "-"])
        .args(["-H", &format!("@{}", headers.display()), "-H", "X-Flag: 2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("speedup bench");
    let targets = format!("GET {base}/one\nX-Both: target\n\nPOST {base}/two\n");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(targets.as_bytes())
        .expect("targets on stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = heads.join().expect("server");
    assert!(seen.starts_with("GET /one HTTP/1.1\r\n"), "{seen}");
    assert!(seen.contains("\r\nPOST /two HTTP/1.1\r\n"), "{seen}");
    for header in [
        "X-From-File: 1",
        "X-Flag: 2",
        "X-Both: target",
        "X-Both: file",
    ] {
        assert!(seen.contains(header), "{header}: {seen}");
    }
    // A target's own header wins over -H of the same name.
    let first = &seen[..seen.find("POST").unwrap_or(seen.len())];
    assert!(!first.contains("X-Both: file"), "{first}");
}

#[test]
fn a_unix_socket_carries_the_requests_with_the_urls_host_and_path() {
    let dir = scratch("unix");
    let path = dir.join("s.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    let server = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().expect("accept");
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = c.read(&mut buf).expect("read");
            assert!(n > 0, "closed early");
            seen.extend_from_slice(&buf[..n]);
        }
        c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .expect("answer");
        String::from_utf8_lossy(&seen).into_owned()
    });
    let out = run_within(
        &[
            "bench",
            "-n",
            "1",
            "-c",
            "1",
            "--unix-socket",
            path.to_str().unwrap(),
            "http://my.service:8080/health",
        ],
        LIMIT,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("1 ok (2xx)"), "{stdout}");
    let seen = server.join().expect("server");
    assert!(
        seen.starts_with("GET /health HTTP/1.1\r\nHost: my.service:8080\r\n"),
        "{seen}"
    );
}
