//! `speedup ab` when things go wrong: Ctrl-C, absurd flags and input files,
//! servers that close kept connections, refuse uploads, or are not there.
//! Each test bounds its own wait on the child process: a hang is a failure.

mod ab_support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ab_support::{
    ab_within, ab_within_memory, field, finish_within, read_request, refused_port, server, sigint,
    spawn_ab, temp_dir, text,
};

/// Answers the first request with keep-alive, then reads the next one and
/// closes without answering.
fn keep_alive_then_close(mut c: TcpStream, count: &AtomicUsize) {
    if read_request(&mut c) {
        count.fetch_add(1, Ordering::SeqCst);
        let _ = c.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
        );
        if read_request(&mut c) {
            count.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Answers 2 bytes after 5 ms, keep-alive, forever.
fn slow_ok(mut c: TcpStream, count: &AtomicUsize) {
    while read_request(&mut c) {
        count.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(5));
        if c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

/// Answers 405 to the head at once and closes, leaving any upload unread.
fn refuse_upload(mut c: TcpStream, count: &AtomicUsize) {
    if read_request(&mut c) {
        count.fetch_add(1, Ordering::SeqCst);
        let _ = c.write_all(
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
}

#[test]
fn ctrl_c_reports_what_finished_writes_the_files_and_exits_1() {
    let (base, count) = server(slow_ok);
    let csv = temp_dir().join("int.csv");
    let tsv = temp_dir().join("int.tsv");
    let _ = std::fs::remove_file(&csv);
    let url = format!("{base}/");
    let child = spawn_ab(&[
        "-k",
        "-n",
        "1000000",
        "-c",
        "2",
        "-e",
        csv.to_str().unwrap(),
        "-g",
        tsv.to_str().unwrap(),
        &url,
    ]);
    let begun = Instant::now();
    while count.load(Ordering::SeqCst) < 20 {
        assert!(
            begun.elapsed() < Duration::from_secs(30),
            "no requests arrived"
        );
        thread::sleep(Duration::from_millis(10));
    }
    sigint(&child);
    let out = finish_within(child, Duration::from_secs(20));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let complete: u64 = field(&stdout, "Complete requests:")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no report: {stdout}\n{stderr}"));
    assert!(complete >= 10, "{stdout}");
    assert_eq!(field(&stdout, "Failed requests:"), Some("0"), "{stdout}");
    let rows = std::fs::read_to_string(&csv).expect("-e written");
    assert_eq!(rows.lines().count(), 102);
    let tsv_rows = std::fs::read_to_string(&tsv).expect("-g written");
    assert_eq!(tsv_rows.lines().count() as u64, complete + 1);
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let (base, count) = server(slow_ok);
    let url = format!("{base}/");
    let child = spawn_ab(&["-k", "-n", "1000000", "-c", "2", &url]);
    let begun = Instant::now();
    while count.load(Ordering::SeqCst) < 5 {
        assert!(
            begun.elapsed() < Duration::from_secs(30),
            "no requests arrived"
        );
        thread::sleep(Duration::from_millis(10));
    }
    sigint(&child);
    sigint(&child);
    let out = finish_within(child, Duration::from_secs(20));
    // Either the report was already out (1) or the second one cut it (130).
    assert!(
        matches!(out.status.code(), Some(1 | 130)),
        "{:?}",
        out.status
    );
}

#[test]
fn absurd_durations_are_refused_by_flag_never_a_hang() {
    let url = format!("http://127.0.0.1:{}/", refused_port());
    for (flag, value) in [
        ("-s", "9300000000000000000"),
        ("-t", "18446744073709551615"),
    ] {
        let out = ab_within(&["-n", "1", flag, value, &url], Duration::from_secs(20));
        let (_, err) = text(&out);
        assert!(!out.status.success());
        assert!(
            err.starts_with("speedup ab: ") && err.contains(&format!("{flag} must be at most")),
            "{err}"
        );
    }
}

#[test]
fn counts_must_be_positive_and_errors_have_one_prefix() {
    let url = format!("http://127.0.0.1:{}/", refused_port());
    for (flag, value) in [("-n", "-1"), ("-c", "0"), ("-n", "0")] {
        let out = ab_within(&[flag, value, &url], Duration::from_secs(20));
        let (_, err) = text(&out);
        assert!(!out.status.success());
        assert!(
            err.starts_with("speedup ab: ")
                && err.contains(&format!("{flag} must be a positive number")),
            "{err}"
        );
    }
    let out = ab_within(&["-Z", &url], Duration::from_secs(20));
    let (_, err) = text(&out);
    assert!(
        err.starts_with("speedup ab: unexpected argument '-Z'"),
        "{err}"
    );
}

#[test]
fn a_dead_proxy_is_named_as_the_proxy() {
    let (base, _) = server(slow_ok);
    let proxy = format!("127.0.0.1:{}", refused_port());
    let out = ab_within(
        &["-n", "2", "-X", &proxy, &format!("{base}/")],
        Duration::from_secs(20),
    );
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("cannot connect to the proxy {proxy} (-X)")),
        "{err}"
    );
}

#[test]
fn an_unknown_host_is_said_once() {
    let out = ab_within(
        &["-n", "1", "http://nonexistent.invalid/"],
        Duration::from_secs(30),
    );
    let (_, err) = text(&out);
    assert!(!out.status.success());
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("speedup ab: cannot resolve host"),
        "{err}"
    );
    // The OS's reason appears once, not once per error layer.
    let reason = first.rsplit(": ").next().unwrap_or_default();
    assert_eq!(first.matches(reason).count(), 1, "{err}");
}

#[test]
fn keep_alive_requests_closed_unanswered_are_failures_not_hidden() {
    let (base, count) = server(keep_alive_then_close);
    let out = ab_within(
        &["-k", "-n", "100", "-c", "4", &format!("{base}/")],
        Duration::from_secs(60),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let failed: u64 = field(&stdout, "Failed requests:").unwrap().parse().unwrap();
    let kept: u64 = field(&stdout, "Keep-Alive requests:")
        .unwrap()
        .parse()
        .unwrap();
    // Real ab: 48-49 failed (in its Length column: it judges them as empty
    // responses), 51-52 keep-alive, on this server. Ours are Receive
    // failures: no answer came.
    assert!((45..=55).contains(&failed), "{stdout}");
    assert_eq!(failed + kept, 100, "{stdout}");
    assert!(
        stdout.contains(&format!("(Connect: 0, Receive: {failed}, Length: 0, ")),
        "{stdout}"
    );
    // Each request went out once: nothing was retried behind the report.
    assert_eq!(count.load(Ordering::SeqCst), 100);
}

#[test]
fn a_refused_upload_is_counted_not_a_dead_server() {
    let (base, _) = server(refuse_upload);
    let body = temp_dir().join("upload.bin");
    std::fs::write(&body, vec![b'x'; 20 << 20]).expect("write the upload");
    let out = ab_within(
        &[
            "-n",
            "10",
            "-c",
            "2",
            "-p",
            body.to_str().unwrap(),
            &format!("{base}/"),
        ],
        Duration::from_secs(60),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(field(&stdout, "Complete requests:"), Some("10"), "{stdout}");
    assert_eq!(field(&stdout, "Write errors:"), Some("10"), "{stdout}");
    let non_2xx: u64 = field(&stdout, "Non-2xx responses:")
        .unwrap()
        .parse()
        .unwrap();
    assert!(non_2xx >= 1, "{stdout}");
}

#[test]
fn a_timeout_abort_counts_only_answered_requests() {
    let base = ab_support::misbehaving();
    let out = ab_within(
        &["-n", "3", "-s", "1", &format!("{base}/hang")],
        Duration::from_secs(30),
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("took longer than the 1 s timeout"),
        "{stderr}"
    );
    // The timed-out request did not complete: no "Total of 1 requests".
    assert!(
        !stdout.contains("Total of") && !stderr.contains("Total of"),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn body_files_that_are_not_regular_or_over_1_gib_are_refused_unread() {
    let url = format!("http://127.0.0.1:{}/", refused_port());
    // A sparse file one byte over the limit: no disk space, and reading it
    // would need more memory than the child may have.
    let big = temp_dir().join("over-1-gib.bin");
    let file = std::fs::File::create(&big).expect("create the sparse file");
    file.set_len((1 << 30) + 1).expect("size the sparse file");
    let big = big.to_str().unwrap().to_owned();
    // A pipe with no writer: opening it would wait forever.
    let fifo = temp_dir().join("body.fifo");
    let _ = std::fs::remove_file(&fifo);
    let fifo = fifo.to_str().unwrap().to_owned();
    let c_fifo = std::ffi::CString::new(fifo.as_str()).unwrap();
    // SAFETY: mkfifo reads a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0, "mkfifo");
    for (flag, path, says) in [
        (
            "-p",
            "/dev/zero",
            "the -p file /dev/zero is not a regular file",
        ),
        ("-u", "/dev/zero", "so -u needs a regular file"),
        ("-p", fifo.as_str(), "is not a regular file"),
        (
            "-p",
            big.as_str(),
            "is 1073741825 bytes, more than the 1 GiB",
        ),
    ] {
        let out = ab_within_memory(
            &["-n", "1", flag, path, &url],
            512 << 20,
            Duration::from_secs(30),
        );
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{flag} {path}: {stdout}\n{stderr}"
        );
        assert!(
            stderr.starts_with("speedup ab: ") && stderr.contains(says),
            "{flag} {path}: {stderr}"
        );
    }
    let _ = std::fs::remove_file(&big);
    let _ = std::fs::remove_file(&fifo);
}
