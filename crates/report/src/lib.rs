//! Statistics and renderers: everything that turns measured samples into
//! numbers, text, CSV, charts and pages.
//!
//! Measurement lives in `speedup-load`; this crate never opens a socket.
//! Percentiles and the cumulative distribution are computed in exactly one
//! place, [`stats`]; every renderer asks it.

pub mod ab;
pub mod cdf_csv;
pub mod html;
pub mod plot;
pub mod stats;
