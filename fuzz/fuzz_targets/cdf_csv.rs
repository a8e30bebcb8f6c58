//! The `plot` command's ab-CSV reader against any bytes: an error or a
//! curve, never a panic; a curve is non-decreasing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use speedup_report::cdf_csv::Cdf;

fuzz_target!(|data: &[u8]| {
    if let Ok(cdf) = Cdf::from_reader("fuzz.csv", data) {
        assert!(cdf.points.windows(2).all(|w| w[0].1 <= w[1].1));
    }
});
