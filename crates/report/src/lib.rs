//! Charts and pages: reading ab `-e` CSVs ([`cdf_csv`]), CDF charts
//! ([`plot`]), the concurrency sweep chart ([`sweep`]) and reading it back
//! ([`sweep_file`]), latency against rate for a capacity search
//! ([`capacity`]), the lab's HTML page ([`html`]), and quoting input in
//! messages ([`escape`]). Named files are read within bounds by
//! `speedup_stats::bounded` (re-exported as [`bounded`]).
//!
//! It depends on no engine and knows no front end's format: ab's report
//! lives in `speedup-ab`. This crate never opens a socket. It draws numbers
//! it is given: percentiles and the cumulative distribution are computed in
//! exactly one place, `speedup-stats`, which this crate and the light
//! front ends (`speedup-ab`, `speedup-bench`, which never compile plotters)
//! share.

#![forbid(unsafe_code)]

pub mod bench_json;
pub mod bench_page;
pub mod capacity;
pub mod cdf_csv;
pub mod escape;
pub mod html;
pub mod plot;
pub mod spectrum;
pub mod sweep;
pub mod sweep_file;
pub mod timeseries;

pub use speedup_stats::bounded;
