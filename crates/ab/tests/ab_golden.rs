//! Byte-exact goldens for ab's report, `-w` HTML, `-e` CSV and `-g` TSV.
//!
//! The expected files under `tests/golden/` were derived independently of
//! this crate from ab.c's formulas and printf formats (see
//! `golden/gen_ab_golden.py`); the samples here are the same fixed sets.

use std::time::Duration;

use speedup_ab::{
    write_csv, write_html, write_text, write_tsv, AbOptions, AbReport, AbTally, HtmlAttrs,
};
use speedup_load::{ErrorKind, Outcome, Record, Recorder, Sample};

/// (start_us, connect_us, wait_us, total_us)
type Row = (u64, u32, u32, u32);

const TEN: [Row; 10] = [
    (0, 100, 900, 1200),
    (50, 200, 1800, 2300),
    (1300, 150, 2500, 3100),
    (2400, 300, 700, 1100),
    (3600, 120, 4000, 4600),
    (4000, 90, 1500, 1900),
    (4500, 110, 2900, 3400),
    (5200, 400, 9000, 10000),
    (6000, 130, 1100, 1500),
    (8000, 100, 2000, 2600),
];

fn thousand() -> Vec<Row> {
    (0..1000u32)
        .map(|i| {
            let (c, w) = ((i * 37) % 500, 1000 + (i * 7919) % 20000);
            (u64::from(i) * 97, c, w, c + w + (i * 13) % 700)
        })
        .collect()
}

fn record(row: Row, status: u16, body_bytes: u64, keep_alive: bool) -> Record {
    Record {
        sample: Sample {
            start_us: row.0,
            connect_us: row.1,
            wait_us: row.2,
            total_us: row.3,
        },
        outcome: Outcome::Response {
            status,
            header_bytes: 100,
            body_bytes,
            keep_alive,
            write_failed: false,
        },
        target: 0,
    }
}

fn report(tally: AbTally, options: AbOptions) -> AbReport {
    let (counts, samples) = tally.finish(options.variable_length);
    AbReport {
        server_software: "golden/1.0".into(),
        host: "127.0.0.1".into(),
        port: 8000,
        tls_protocol: None,
        tls_temp_key: None,
        tls_server_name: None,
        path: "/x?y=1".into(),
        concurrency: 2,
        elapsed: Duration::from_micros(12_345),
        counts,
        samples,
        body_sent: None,
        start_epoch_us: 1_795_875_927_250_000,
        utc_offset_secs: 3600,
        options,
    }
}

/// The ten set over two "threads": the first response to complete (row 0)
/// is alone in the second tally, so the document length must come from it
/// after the merge. Row 2 is a 404, row 9 has a 6-byte body and closes.
fn ten(options: AbOptions) -> AbReport {
    let (mut a, mut b) = (AbTally::new(None), AbTally::new(None));
    for (i, row) in TEN.into_iter().enumerate() {
        let status = if i == 2 { 404 } else { 200 };
        let body = if i == 9 { 6 } else { 5 };
        let t = if i == 0 { &mut b } else { &mut a };
        t.record(&record(row, status, body, i != 9));
    }
    // A connect failure is neither a complete request nor a sample in ab;
    // it is not expected in these goldens, so keep it out of this set.
    report(AbTally::merge_all([a, b]), options)
}

fn plain(rows: &[Row]) -> AbReport {
    let mut t = AbTally::new(None);
    for &row in rows {
        t.record(&record(row, 200, 5, true));
    }
    report(t, keep_alive())
}

fn keep_alive() -> AbOptions {
    AbOptions {
        keep_alive: true,
        ..AbOptions::default()
    }
}

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn text(r: &AbReport) -> String {
    let mut out = Vec::new();
    write_text(r, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn csv(r: &AbReport) -> String {
    let mut out = Vec::new();
    write_csv(&r.samples, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn ten_samples_report_csv_tsv_html() {
    let r = ten(keep_alive());
    assert_eq!(text(&r), golden("ab_ten.txt"));
    assert_eq!(csv(&r), golden("ab_ten.csv"));
    let mut tsv = Vec::new();
    write_tsv(&r, &mut tsv).unwrap();
    assert_eq!(String::from_utf8(tsv).unwrap(), golden("ab_ten.tsv"));
    let attrs = HtmlAttrs {
        table: "border=1".into(),
        tr: "class=r".into(),
        ..HtmlAttrs::default()
    };
    let mut html = Vec::new();
    write_html(&r, &attrs, &mut html).unwrap();
    assert_eq!(String::from_utf8(html).unwrap(), golden("ab_ten.html"));
}

/// ab's TLS lines sit between "Server Port:" and the blank line, in this
/// order (real ab 2.3 against `openssl s_server`, EC P-256 certificate).
#[test]
fn https_report_has_abs_tls_lines_in_order() {
    let mut r = ten(keep_alive());
    r.host = "localhost".into();
    r.tls_protocol = Some("TLSv1.3,TLS_AES_256_GCM_SHA384,256,256".into());
    r.tls_temp_key = Some("X25519 253 bits".into());
    r.tls_server_name = Some("localhost".into());
    let expected = golden("ab_ten.txt")
        .replace(
            "Server Hostname:        127.0.0.1\n",
            "Server Hostname:        localhost\n",
        )
        .replace(
            "Server Port:            8000\n",
            "Server Port:            8000\n\
             SSL/TLS Protocol:       TLSv1.3,TLS_AES_256_GCM_SHA384,256,256\n\
             Server Temp Key:        X25519 253 bits\n\
             TLS Server Name:        localhost\n",
        );
    assert_ne!(expected, golden("ab_ten.txt"));
    assert_eq!(text(&r), expected);
}

#[test]
fn ten_samples_without_confidence_or_percentiles_and_with_a_body() {
    let mut r = ten(AbOptions {
        keep_alive: true,
        confidence: false,
        percentiles: false,
        variable_length: false,
    });
    r.body_sent = Some(4070);
    assert_eq!(text(&r), golden("ab_ten_sd.txt"));
}

#[test]
fn variable_length_counts_no_length_failures() {
    let r = ten(AbOptions {
        variable_length: true,
        ..keep_alive()
    });
    assert_eq!(r.counts.err_length, 0);
    assert_eq!(text(&r), golden("ab_ten_variable.txt"));
}

#[test]
fn one_sample_has_no_percentile_table() {
    let r = plain(&[(0, 250, 3000, 3499)]);
    assert_eq!(text(&r), golden("ab_one.txt"));
    assert_eq!(csv(&r), golden("ab_one.csv"));
}

#[test]
fn thousand_samples() {
    let r = plain(&thousand());
    assert_eq!(text(&r), golden("ab_thousand.txt"));
    assert_eq!(csv(&r), golden("ab_thousand.csv"));
}

#[test]
fn errors_land_in_abs_columns() {
    let mut t = AbTally::new(None);
    let row = (0, 10, 10, 30);
    t.record(&record(row, 200, 5, false));
    for kind in [
        ErrorKind::Connect,
        ErrorKind::Read,
        ErrorKind::Length,
        ErrorKind::Timeout,
        ErrorKind::Malformed,
        ErrorKind::Write,
    ] {
        t.record(&Record {
            sample: Sample::default(),
            outcome: Outcome::Error(kind),
            target: 0,
        });
    }
    let (c, samples) = t.finish(false);
    // A failed connect is not a completed request, as in ab.
    assert_eq!((c.complete, samples.len()), (6, 6));
    assert_eq!(
        (c.err_connect, c.err_receive, c.err_length, c.err_except),
        (1, 1, 1, 3)
    );
    assert_eq!(c.write_errors, 1);
    assert_eq!(c.failed(), 6);
}
