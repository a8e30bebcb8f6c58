//! `speedup merge` against logs that lie: a histogram header claiming 4 GB,
//! timestamps past any clock, counts that add up past 2^53, a last line cut
//! short, an input that never ends, and `--json` naming one of the logs.
//! Each runs the binary under a small address-space limit, bounded in time:
//! every refusal is an error naming the file and line, never a crash.

mod bench_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bench_support::{scratch, spawn, text};

/// The address space a merge may map here: the forged header asks for 4 GB.
const SMALL: u64 = 256 << 20;

const HEADER: &str = "#[Histogram log format version 1.3]\n\
#[StartTime: 1700000000.000 (seconds since epoch)]\n\
#[BaseTime: 1700000000.000 (seconds since epoch)]\n\
\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";

/// Zig-zag LEB128, as HdrHistogram's V2 encoding writes a number.
fn number(out: &mut Vec<u8>, n: i64) {
    let mut v = ((n << 1) ^ (n >> 63)) as u64;
    let mut bytes = 0;
    while bytes < 8 && v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
        bytes += 1;
    }
    out.push(v as u8);
}

/// One interval's histogram as a log holds it (bench's shape: µs, 3
/// digits, up to an hour; below 2048 the index is the value), with `counts`
/// as `(index, count)` by rising index and the header claiming `claimed`
/// payload bytes (the true length if `None`).
fn histogram(counts: &[(u64, i64)], claimed: Option<u32>) -> String {
    let mut payload = Vec::new();
    let mut next = 0;
    for &(index, count) in counts {
        if index > next {
            number(&mut payload, -((index - next) as i64));
        }
        number(&mut payload, count);
        next = index + 1;
    }
    let mut v2 = Vec::new();
    v2.extend(0x1c84_9313u32.to_be_bytes());
    v2.extend(claimed.unwrap_or(payload.len() as u32).to_be_bytes());
    v2.extend(0u32.to_be_bytes()); // normalizing index offset
    v2.extend(3u32.to_be_bytes()); // significant digits
    v2.extend(1u64.to_be_bytes());
    v2.extend(3_600_000_000u64.to_be_bytes());
    v2.extend(1.0f64.to_be_bytes());
    v2.extend(&payload);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&v2).unwrap();
    let compressed = z.finish().unwrap();
    let mut raw = 0x1c84_9314u32.to_be_bytes().to_vec();
    raw.extend((compressed.len() as u32).to_be_bytes());
    raw.extend(compressed);
    STANDARD.encode(raw)
}

/// A log of `lines` (each `start,length,max,histogram`) after the header.
fn log(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, format!("{HEADER}{body}")).unwrap();
    path
}

/// `speedup merge ARGS` under [`SMALL`], within 20 s: (exit code, stdout, stderr).
fn merge(args: &[&str]) -> (Option<i32>, String, String) {
    let out = spawn(&[&["merge"], args].concat(), SMALL).finish_within(Duration::from_secs(20));
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

#[test]
fn a_histogram_header_claiming_gigabytes_is_refused_within_a_small_address_space() {
    let dir = scratch("forged");
    for (name, claimed) in [("4g.hlog", 0xf000_0000u32), ("1g.hlog", 1 << 30)] {
        let forged = histogram(&[(1000, 1)], Some(claimed));
        let path = log(&dir, name, &[format!("0.000,1.000,1.000,{forged}")]);
        assert!(std::fs::metadata(&path).unwrap().len() < 400, "a small log");
        let (code, _, stderr) = merge(&[path.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{name}:5: the interval's histogram claims a {claimed}-byte payload"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn an_impossible_timestamp_is_refused_naming_the_file_and_line() {
    let dir = scratch("timestamp");
    let h = histogram(&[(1000, 1)], None);
    let path = log(
        &dir,
        "ts.hlog",
        &[
            format!("0.000,1.000,1.000,{h}"),
            format!("18446744073709551615.999,1.000,1.000,{h}"),
        ],
    );
    let (code, _, stderr) = merge(&[path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "ts.hlog:6: the interval's start of 18446744073709552000 s is past the year 2286"
        ),
        "{stderr}"
    );
}

#[test]
fn counts_past_any_run_are_refused() {
    let dir = scratch("saturated");
    let h = histogram(&[(1000, i64::MAX)], None);
    let line = format!("0.000,1.000,1.000,{h}");
    let path = log(&dir, "sat.hlog", &[line.clone(), line]);
    let (code, stdout, stderr) = merge(&[path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("sat.hlog:5: the interval's histogram its counts add up to more than 2^53"),
        "{stderr}"
    );
    // Below the limit, many intervals add up exactly.
    let h = histogram(&[(1000, 1 << 40)], None);
    let path = log(&dir, "big.hlog", &vec![format!("0.000,1.000,1.000,{h}"); 4]);
    let (code, stdout, stderr) = merge(&["--json", "-", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["requests"]["total"], 4u64 << 40);
}

#[test]
fn a_log_cut_short_loses_only_its_last_line_with_a_warning() {
    let dir = scratch("cut");
    let line = |second: u64, index: u64| {
        format!(
            "{second}.000,1.000,1.000,{}",
            histogram(&[(index, 10)], None)
        )
    };
    let path = log(
        &dir,
        "cut.hlog",
        &[line(0, 100), line(1, 200), line(2, 300)],
    );
    let whole = std::fs::read_to_string(&path).unwrap();
    // A run killed in the middle of writing its last line.
    std::fs::write(&path, &whole[..whole.len() - 7]).unwrap();
    let (code, stdout, stderr) = merge(&["--json", "-", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: ") && stderr.contains("cut.hlog: the last line has no newline"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["intervals"], 2);
    assert_eq!(v["requests"]["total"], 20);
    assert_eq!(v["latency_ms"]["max"], 0.2);
}

#[test]
fn an_input_that_never_ends_is_refused() {
    let (code, _, stderr) = merge(&["/dev/zero"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("/dev/zero:1: a line longer than 4 MiB"),
        "{stderr}"
    );
}

#[test]
fn the_merged_json_never_replaces_a_log() {
    let dir = scratch("json-log");
    let path = log(
        &dir,
        "a.hlog",
        &[format!("0.000,1.000,1.000,{}", histogram(&[(5, 1)], None))],
    );
    let before = std::fs::read(&path).unwrap();
    let dotted = format!("{}/./a.hlog", dir.display());
    let (code, _, stderr) = merge(&["--json", &dotted, path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is the log"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
