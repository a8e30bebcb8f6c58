//! Interval logs forged byte by byte for the `merge`, `compare`, `report`
//! and `plot` tests: HdrHistogram's V2 encoding written here, not by the
//! library under test, so a test can say exactly what a log holds (or
//! claims to).

#![allow(dead_code)] // each test file uses a different subset

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub const HEADER: &str = "#[Histogram log format version 1.3]\n\
#[StartTime: 1700000000.000 (seconds since epoch)]\n\
#[BaseTime: 1700000000.000 (seconds since epoch)]\n\
\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";

/// Zig-zag LEB128, as HdrHistogram's V2 encoding writes a number.
pub fn number(out: &mut Vec<u8>, n: i64) {
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
pub fn histogram(counts: &[(u64, i64)], claimed: Option<u32>) -> String {
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
pub fn log(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, format!("{HEADER}{body}")).unwrap();
    path
}

/// A log whose header says it holds `latency` (`corrected` or
/// `uncorrected`), as `speedup bench` writes it, after the version line.
pub fn marked_log(dir: &Path, name: &str, latency: &str, lines: &[String]) -> PathBuf {
    let path = log(dir, name, lines);
    let text = std::fs::read_to_string(&path).unwrap();
    let (version, rest) = text.split_once('\n').unwrap();
    std::fs::write(&path, format!("{version}\n#[Latency: {latency}]\n{rest}")).unwrap();
    path
}

/// `seconds` one-second intervals from 0, the interval of second `s`
/// holding `per_second` values at bench index `index(s, k)` for k in
/// 0..per_second (below 2048 the index is the value in µs).
pub fn seconds(seconds: u64, per_second: u64, index: impl Fn(u64, u64) -> u64) -> Vec<String> {
    (0..seconds)
        .map(|s| {
            let mut counts: Vec<(u64, i64)> = Vec::new();
            for k in 0..per_second {
                let i = index(s, k);
                match counts.iter_mut().find(|(at, _)| *at == i) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((i, 1)),
                }
            }
            counts.sort_unstable();
            let max = counts.last().map_or(0, |c| c.0);
            format!("{s}.000,1.000,{max}.000,{}", histogram(&counts, None))
        })
        .collect()
}

/// `lines` with each one followed by the same second of `uncorrected`,
/// tagged, as an open-loop run writes them.
pub fn tagged(lines: &[String], uncorrected: &[String]) -> Vec<String> {
    lines
        .iter()
        .zip(uncorrected)
        .flat_map(|(l, u)| [l.clone(), format!("Tag=uncorrected,{u}")])
        .collect()
}
