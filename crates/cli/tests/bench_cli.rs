//! `speedup bench` and `speedup merge` from the outside: flag errors name
//! the flag, `--json -` puts the JSON alone on stdout, `--csv` is drawn by
//! `speedup plot`, and `merge` reads the logs bench wrote.

#[path = "../../load/tests/support/tls_server.rs"]
mod tls_server;

use std::path::PathBuf;
use std::process::{Command, Output};

fn speedup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(args)
        .output()
        .expect("run speedup")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("speedup-bench-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn bad_input_names_the_flag_and_the_fix() {
    let url = "http://127.0.0.1:1/";
    for (args, needle) in [
        (
            vec!["--rate", "0", url],
            "--rate 0: the rate must be a positive number",
        ),
        (
            vec!["--rate", "1", "--threads", "2", "-c", "2", url],
            "below the number of client threads (2)",
        ),
        (
            vec!["-d", "0", url],
            "--duration 0: the duration must be greater than 0",
        ),
        (
            vec!["-d", "10y", url],
            "'--duration <TIME>': unknown unit \"y\"",
        ),
        (vec!["--rate", "fast", url], "'--rate <R>'"),
        (
            vec!["--timeline", "/nonexistent/dir/t.csv", url],
            "--timeline /nonexistent/dir/t.csv: cannot create",
        ),
    ] {
        let out = speedup(&[&["bench"], args.as_slice()].concat());
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    let out = speedup(&["merge", "/nonexistent.hlog"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read /nonexistent.hlog"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_on_stdout_csv_for_plot_and_merge() {
    let server =
        speedup_lab::EmbeddedServer::start(speedup_server::Config::default()).expect("serve");
    let url = format!("{}/async/sleep/0.001", server.base_url());
    let dir = scratch("run");
    let (csv, hlog) = (dir.join("bench.csv"), dir.join("bench.hlog"));
    let out = speedup(&[
        "bench",
        "--rate",
        "200",
        "-c",
        "4",
        "-d",
        "1s",
        "--json",
        "-",
        "--csv",
        csv.to_str().unwrap(),
        "--hdr-log",
        hlog.to_str().unwrap(),
        &url,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the JSON alone");
    assert_eq!(v["schema"], "speedup-bench/1");
    assert_eq!(v["requests"]["total"], 200);
    assert!(
        stderr(&out).contains("corrected  uncorrected"),
        "{}",
        stderr(&out)
    );

    let svg = dir.join("cdf.svg");
    let out = speedup(&["plot", "-o", svg.to_str().unwrap(), csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));

    // Two generators' logs (a copy: the same file twice is refused).
    let copy = dir.join("copy.hlog");
    std::fs::copy(&hlog, &copy).unwrap();
    let out = speedup(&[
        "merge",
        "--json",
        "-",
        hlog.to_str().unwrap(),
        copy.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).expect("merge JSON");
    assert_eq!(m["requests"]["total"], 400);
    assert!(
        stderr(&out).contains("speedup merge: 2 logs"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tls_needs_insecure_for_a_self_signed_certificate_and_ab_reaches_it() {
    let base = tls_server::start();
    let url = format!("{base}/");
    let out = speedup(&["bench", "-n", "4", "-c", "2", &url]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("could not be verified") && err.contains("-k/--insecure"),
        "{err}"
    );

    let out = speedup(&["bench", "-k", "-n", "20", "-c", "2", "--json", "-", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["status"]["200"], 20);

    // ab never verifies, as real ab doesn't, and says what it negotiated.
    let out = Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(["ab", "-n", "10", "-c", "2", &url])
        .output()
        .expect("run speedup ab");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    // rcgen's default key is ECDSA P-256; both rustls ends prefer AES-256.
    assert!(
        text.contains("SSL/TLS Protocol:       TLSv1.3,TLS_AES_256_GCM_SHA384,256,256\n"),
        "{text}"
    );
    assert!(
        text.contains("\nServer Temp Key:        X25519 253 bits\n\n"),
        "{text}"
    );
    assert!(text.contains("Complete requests:      10"), "{text}");
    assert!(text.contains("Failed requests:        0"), "{text}");
}
