//! The flags' tests: each form, each refusal and its message.

use super::*;

fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
    BenchArgs::from_flags(args)
}

fn error(args: &[&str]) -> String {
    match parse(args) {
        Ok(a) => a.plan().expect_err("an error").to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_input_names_the_flag() {
    let url = "http://127.0.0.1:1/";
    assert!(error(&["--rate", "0", url]).starts_with("--rate 0"));
    assert!(error(&["--rate", "1", "--threads", "2", url])
        .contains("below the number of client threads"));
    assert!(error(&["-d", "0", url]).starts_with("--duration 0"));
    assert!(error(&["-d", "5y", url]).contains("--duration"));
    assert!(error(&["-d", "5y", url]).contains("unknown unit"));
    assert!(error(&["-n", "0", url]).starts_with("--requests 0"));
    assert!(error(&["--rate", "-5", url]).starts_with("--rate -5"));
    assert!(error(&["-H", "nocolon", url]).starts_with("--header"));
    assert!(error(&["-m", "G T", url]).starts_with("--method"));
    assert!(error(&["--timeout", "0s", url]).starts_with("--timeout 0"));
    assert!(error(&["--body-file", "/nonexistent/x", url]).starts_with("--body-file"));
    assert!(error(&["ftp://h/"]).starts_with("URL"));
}

#[test]
fn what_a_wrk_or_oha_user_types_first() {
    let plan = |args: &[&str]| parse(args).unwrap().plan().unwrap();
    // A URL without a path is the root.
    assert_eq!(with_path("http://h:8080"), "http://h:8080/");
    assert_eq!(with_path("http://h:8080?q=1"), "http://h:8080/?q=1");
    assert_eq!(with_path("https://h/x"), "https://h/x");
    assert_eq!(plan(&["http://h:8080"]).engine.target.path, "/");
    // -n below -c: n connections, said so.
    let p = plan(&["-c", "10", "-n", "5", "http://h/"]);
    assert_eq!(p.engine.concurrency, 5);
    assert_eq!(p.notes, ["-c 10 is more than -n 5: using 5 connections"]);
    // A fractional rate runs on one thread.
    let p = plan(&["--rate", "0.5", "-c", "20", "http://h/"]);
    assert_eq!((p.engine.rate, p.threads()), (Some(0.5), 1));
    // Compound durations.
    assert_eq!(
        plan(&["-d", "1m30s", "http://h/"]).engine.duration,
        Some(Duration::from_secs(90))
    );
}

#[test]
fn plan_from_flags() {
    let p = parse(&[
        "-c",
        "4",
        "--threads",
        "2",
        "--rate",
        "100",
        "-d",
        "2s",
        "--warmup",
        "1s",
        "-H",
        "User-Agent: me",
        "--body",
        "abc",
        "-m",
        "POST",
        "http://h:81/x",
    ])
    .unwrap()
    .plan()
    .unwrap();
    assert_eq!(p.threads(), 2);
    assert_eq!(p.warmup, Duration::from_secs(1));
    assert_eq!(p.engine.duration, Some(Duration::from_secs(3)));
    assert_eq!(p.engine.rate, Some(100.0));
    assert!(p.engine.keep_alive);
    let names: Vec<&str> = p.engine.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Host", "Accept", "Content-Length", "User-Agent"]);
    let closed = parse(&["--no-keepalive", "http://h/"])
        .unwrap()
        .plan()
        .unwrap();
    assert_eq!(closed.engine.duration, Some(DEFAULT_DURATION));
    assert!(closed
        .engine
        .headers
        .contains(&("Connection".into(), "close".into())));
}
