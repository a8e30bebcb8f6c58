//! Properties of the one percentile and CDF code, over arbitrary samples:
//! rows are monotone, row 0 is the minimum and row 100 the maximum, every
//! value is one of the samples, and percentiles grow with p.

use proptest::prelude::*;
use speedup_stats::{cdf_index, cdf_rows, percentile, percentile_index};

fn sorted_samples() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 1..2000).prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

proptest! {
    #[test]
    fn cdf_rows_are_monotone_from_min_to_max(sorted in sorted_samples()) {
        let rows = cdf_rows(&sorted);
        prop_assert_eq!(rows.len(), 101);
        prop_assert_eq!(rows[0], (0, sorted[0]));
        prop_assert_eq!(rows[100], (100, *sorted.last().unwrap()));
        for (i, w) in rows.windows(2).enumerate() {
            prop_assert_eq!(w[0].0, i as u32);
            prop_assert!(w[0].1 <= w[1].1, "row {} above row {}", i, i + 1);
        }
        for (_, v) in &rows {
            prop_assert!(sorted.binary_search(v).is_ok());
        }
    }

    #[test]
    fn indexes_stay_in_bounds(n in 1usize..100_000, i in 0u32..=200) {
        prop_assert!(cdf_index(n, i).unwrap() < n);
        prop_assert!(percentile_index(n, i).unwrap() < n);
    }

    #[test]
    fn percentiles_grow_with_p(sorted in sorted_samples(), a in 0u32..=100, b in 0u32..=100) {
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert!(percentile(&sorted, lo).unwrap() <= percentile(&sorted, hi).unwrap());
        prop_assert_eq!(percentile(&sorted, 100), sorted.last().copied());
        prop_assert_eq!(percentile(&sorted, 0), sorted.first().copied());
    }
}

#[test]
fn empty_input_has_no_rows() {
    assert!(cdf_rows::<u32>(&[]).is_empty());
    assert_eq!(percentile::<u32>(&[], 50), None);
}
