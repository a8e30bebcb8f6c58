//! The URL parser (ab's and bench's target, a targets file's lines) against
//! any text: a URL parsed is one a request line and a Host header can be
//! made of.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(target) = speedup_load::Target::parse(text) {
        let bad = |b: u8| b.is_ascii_whitespace() || b.is_ascii_control();
        assert!(!target.host.is_empty() && !target.host.bytes().any(bad));
        assert!(target.path.starts_with('/'), "{:?}", target.path);
        assert!(!target.path.bytes().any(bad));
    }
});
