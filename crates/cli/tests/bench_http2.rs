//! `speedup bench --http2` from the outside: h2c with several streams per
//! connection says `"protocol": "h2"`, resets are listed by code, and a TLS
//! server that will not choose `h2` by ALPN gets a message that says so.

#[path = "../../load/tests/support/h2_server.rs"]
mod h2_server;
#[path = "../../load/tests/support/tls_server.rs"]
mod tls_server;

use std::process::{Command, Output};

use h2::Reason;
use h2_server::Behaviour;

fn speedup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(args)
        .output()
        .expect("run speedup")
}

#[test]
fn h2c_with_streams_and_resets_by_code() {
    let (base, _) = h2_server::start(Behaviour {
        reset_every: Some((10, Reason::CANCEL)),
        ..Behaviour::default()
    });
    let url = format!("{base}/");
    let out = speedup(&[
        "bench",
        "--http2",
        "--streams",
        "4",
        "-c",
        "2",
        "-n",
        "40",
        "--json",
        "-",
        &url,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["protocol"], "h2");
    assert_eq!(v["requests"]["total"], 40);
    assert_eq!(v["status"]["200"], 36);
    assert_eq!(v["errors"]["reset"], 4);
    assert_eq!(v["resets"]["CANCEL"], 4);
    assert!(stderr.contains("2 h2 connections × 4 streams"), "{stderr}");
    assert!(stderr.contains("resets:     CANCEL 4"), "{stderr}");
}

#[test]
fn a_server_that_does_not_choose_h2_is_named() {
    let base = tls_server::start();
    let out = speedup(&[
        "bench",
        "--http2",
        "-k",
        "-n",
        "4",
        "-c",
        "1",
        &format!("{base}/"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the server does not speak HTTP/2 (ALPN chose none): drop --http2"),
        "{stderr}"
    );
    let out = speedup(&["bench", "--streams", "4", "http://127.0.0.1:1/"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--http2"));
}
