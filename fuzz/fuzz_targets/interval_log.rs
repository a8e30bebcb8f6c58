//! `speedup merge`'s interval-log reader (compare, report and plot read
//! logs with it too) against any bytes: a log is a file anyone can write.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    speedup_bench::merge::fuzzing::read_interval_log(data);
});
