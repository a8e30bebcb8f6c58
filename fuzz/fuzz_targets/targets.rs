//! `speedup bench --targets`' parser (vegeta's HTTP format) against any
//! text: whatever the file holds, targets or an error naming a line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    match speedup_bench::targets::parse_targets(data) {
        Ok(targets) => assert!(targets.len() as u64 <= lines),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
