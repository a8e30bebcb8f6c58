//! The V2 histogram decoder under the interval log's base64, against any
//! bytes: headers that lie about lengths, ranges and counts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    speedup_bench::merge::fuzzing::decode_histogram(data);
});
