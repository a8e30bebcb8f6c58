//! The one histogram shape bench records into: µs values, 3 significant
//! digits, from 1 µs to one hour; longer values count as one hour.

use hdrhistogram::Histogram;

/// The largest value a histogram tells apart: one hour, in µs.
pub const HIGHEST_US: u64 = 3_600_000_000;

/// Significant digits kept: values are exact to 0.1%.
pub const SIGFIG: u8 = 3;

/// A µs latency histogram of the shape above.
pub type Hist = Histogram<u64>;

/// An empty histogram of bench's shape (about 190 KB, allocated once).
pub fn new_hist() -> Hist {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_max(HIGHEST_US, SIGFIG).expect("valid histogram bounds")
}

/// Adds `from` into `into`. Both have bench's shape, so this cannot fail;
/// a histogram read from a foreign log may be wider, hence auto-resize.
pub fn add(into: &mut Hist, from: &Hist) {
    if into.add(from).is_err() {
        into.auto(true);
        // With auto-resize on, adding only fails on a sigfig mismatch,
        // which `new_hist` and the merge reader rule out.
        let _ = into.add(from);
    }
}
