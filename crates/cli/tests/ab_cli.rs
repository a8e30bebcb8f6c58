//! `speedup ab` from the outside: flag errors, the request it sends, and
//! failure accounting against a misbehaving local server.

mod ab_support;

use std::time::{Duration, Instant};

use ab_support::{field, misbehaving, refused_port, speedup_ab, temp_dir, text};

fn fails_with(args: &[&str], needle: &str) {
    let out = speedup_ab(args);
    let (_, err) = text(&out);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(
        err.contains(needle),
        "{args:?}: stderr {err:?} lacks {needle:?}"
    );
}

#[test]
fn flag_errors_are_clear() {
    fails_with(
        &["-n", "5", "-c", "10", "http://127.0.0.1:1/"],
        "-c 10 is greater than -n 5",
    );
    fails_with(&["http://127.0.0.1:8000"], "no path after the host");
    fails_with(
        &["-p", "/nonexistent/post.txt", "http://127.0.0.1:1/"],
        "cannot read the -p file",
    );
    fails_with(&["-Z", "http://127.0.0.1:1/"], "unexpected argument '-Z'");
    fails_with(&["-n", "many", "http://127.0.0.1:1/"], "-n <requests>");
    fails_with(&[], "missing URL");
    fails_with(
        &["-i", "-p", "Cargo.toml", "http://127.0.0.1:1/"],
        "use only one of them",
    );
}

#[test]
fn help_and_version() {
    let (out, _) = text(&speedup_ab(&["-h"]));
    assert!(out.starts_with("Usage: speedup ab [options]"), "{out}");
    assert!(out.contains("-e filename"));
    let (out, _) = text(&speedup_ab(&["-V"]));
    assert!(out.starts_with("This is speedup ab, Version "), "{out}");
}

#[test]
fn refused_connections_fail_clearly() {
    let url = format!("http://127.0.0.1:{}/", refused_port());
    for n in ["3", "50"] {
        let out = speedup_ab(&["-n", n, &url]);
        let (_, err) = text(&out);
        assert!(!out.status.success());
        assert!(err.contains("cannot connect to 127.0.0.1:"), "{err}");
    }
}

#[test]
fn sends_the_request_ab_sends() {
    let base = misbehaving();
    let url = format!("{base}/echo?q=1");
    let out = speedup_ab(&[
        "-k", "-C", "a=1", "-A", "u:p", "-P", "x:y", "-H", "X-A: b", "-v", "2", "-n1", &url,
    ]);
    let (stdout, _) = text(&out);
    let host = base.trim_start_matches("http://");
    let expected = format!(
        "GET /echo?q=1 HTTP/1.0\r\nConnection: Keep-Alive\r\nCookie: a=1\r\n\
         Authorization: Basic dTpw\r\nProxy-Authorization: Basic eDp5\r\nX-A: b\r\n\
         Host: {host}\r\nUser-Agent: speedup/{}\r\nAccept: */*\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        stdout.contains(&format!("INFO: GET header == \n---\n{expected}\n---\n")),
        "{stdout}"
    );
    assert_eq!(
        field(&stdout, "Document Length:"),
        Some(format!("{} bytes", expected.len()).as_str())
    );
    // -H overrides the default User-Agent and Host.
    let out = speedup_ab(&[
        "-H",
        "User-Agent: me",
        "-H",
        "Host: zz",
        "-v",
        "2",
        "-n1",
        &url,
    ]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("User-Agent: me\r\nHost: zz\r\nAccept: */*\r\n\r\n"),
        "{stdout}"
    );
}

/// Every way a server can misbehave (ok, variable length, short body,
/// reset, garbage, closed unanswered, silent, non-2xx) lands in its column.
#[test]
fn failures_land_in_the_right_column() {
    let base = misbehaving();
    let run = |path: &str, extra: &[&str]| {
        let url = format!("{base}{path}");
        let mut args = vec!["-n", "10", "-c", "2", "-s", "1"];
        args.extend_from_slice(extra);
        args.push(&url);
        let out = speedup_ab(&args);
        let (stdout, stderr) = text(&out);
        (out.status.success(), stdout, stderr)
    };
    let (ok, out, _) = run("/404", &[]);
    assert!(ok);
    assert_eq!(field(&out, "Failed requests:"), Some("0"));
    assert_eq!(field(&out, "Non-2xx responses:"), Some("10"));

    let (ok, out, _) = run("/var", &[]);
    assert!(ok);
    assert_eq!(field(&out, "Complete requests:"), Some("10"));
    let failed: u32 = field(&out, "Failed requests:").unwrap().parse().unwrap();
    assert!((4..=6).contains(&failed), "{out}");
    assert!(out.contains(&format!(
        "(Connect: 0, Receive: 0, Length: {failed}, Exceptions: 0)"
    )));

    let (ok, out, _) = run("/short", &[]);
    assert!(ok);
    assert_eq!(field(&out, "Failed requests:"), Some("10"));
    assert!(
        out.contains("(Connect: 0, Receive: 0, Length: 10, Exceptions: 0)"),
        "{out}"
    );

    let (ok, _, err) = run("/reset", &[]);
    assert!(!ok, "a receive error aborts without -r");
    assert!(err.contains("receive error"), "{err}");
    let (ok, out, _) = run("/reset", &["-r"]);
    assert!(ok);
    assert!(
        out.contains("(Connect: 0, Receive: 10, Length: 0, Exceptions: 0)"),
        "{out}"
    );

    let (ok, out, _) = run("/ok", &[]);
    assert!(ok);
    assert_eq!(field(&out, "Failed requests:"), Some("0"));

    // Not HTTP at all: an exception (an abort without -r, as ab's).
    let (ok, out, _) = run("/garbage", &["-r"]);
    assert!(ok);
    assert!(
        out.contains("(Connect: 0, Receive: 0, Length: 0, Exceptions: 10)"),
        "{out}"
    );

    // An answer that never came is never a success: a Receive failure
    // (ab 2.3 counts a server that closes every connection unanswered as
    // 10 complete, 0 failed).
    let (ok, out, _) = run("/close", &["-r"]);
    assert!(ok);
    assert_eq!(field(&out, "Complete requests:"), Some("10"));
    assert!(
        out.contains("(Connect: 0, Receive: 10, Length: 0, Exceptions: 0)"),
        "{out}"
    );

    let started = Instant::now();
    let (ok, out, _) = run("/hang", &["-r"]);
    assert!(ok);
    assert!(out.contains("Exceptions: 10)"), "{out}");
    let (ok, _, err) = run("/hang", &[]);
    assert!(!ok);
    assert!(err.contains("timeout"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "-s 1 must bound the runs"
    );
}

#[test]
fn writes_csv_and_tsv() {
    let base = misbehaving();
    let dir = temp_dir();
    let (csv, tsv) = (dir.join("o.csv"), dir.join("o.tsv"));
    let url = format!("{base}/ok");
    let out = speedup_ab(&[
        "-n",
        "30",
        "-c",
        "3",
        "-e",
        csv.to_str().unwrap(),
        "-g",
        tsv.to_str().unwrap(),
        &url,
    ]);
    assert!(out.status.success());
    let csv = std::fs::read_to_string(csv).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "Percentage served,Time in ms");
    assert_eq!(rows.len(), 102);
    let tsv = std::fs::read_to_string(tsv).unwrap();
    assert_eq!(
        tsv.lines().next(),
        Some("starttime\tseconds\tctime\tdtime\tttime\twait")
    );
    assert_eq!(tsv.lines().count(), 31);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn verbosity_traces_like_ab() {
    let base = misbehaving();
    let ok = format!("{base}/ok");
    let (stdout, _) = text(&speedup_ab(&["-v", "3", "-n", "2", &ok]));
    let info = stdout.find("INFO: GET header == \n---\nGET /ok HTTP/1.0\r\n");
    let bench = stdout.find("Benchmarking ");
    assert!(
        info.is_some() && bench < info,
        "request traced after the banner:\n{stdout}"
    );
    assert_eq!(
        stdout.matches("LOG: header received:\nHTTP/1.").count(),
        2,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("LOG: Response code = 200\n").count(),
        2,
        "{stdout}"
    );

    let (stdout, _) = text(&speedup_ab(&["-v", "2", "-n", "1", &format!("{base}/404")]));
    assert!(
        stdout.contains("WARNING: Response code not 2xx (404)\n"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("LOG: Response code"),
        "level 3 lines at -v 2:\n{stdout}"
    );

    let (stdout, _) = text(&speedup_ab(&["-v", "1", "-n", "1", &ok]));
    assert!(
        !stdout.contains("LOG:") && !stdout.contains("INFO:"),
        "{stdout}"
    );
}
