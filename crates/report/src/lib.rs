//! What every front end shares: percentiles and the CDF ([`stats`]),
//! reading ab `-e` CSVs ([`cdf_csv`]), CDF charts ([`plot`]), the concurrency
//! sweep chart ([`sweep`]) and reading it back ([`sweep_file`]), the lab's
//! HTML page ([`html`]), reading named files within bounds ([`bounded`]) and
//! quoting input in messages ([`escape`]).
//!
//! It depends on no engine and knows no front end's format: ab's report
//! lives in `speedup-ab`. This crate never opens a socket.
//! Percentiles and the cumulative distribution are computed in exactly one
//! place, [`stats`]; every renderer asks it.

#![forbid(unsafe_code)]

pub mod bounded;
pub mod cdf_csv;
pub mod escape;
pub mod html;
pub mod plot;
pub mod stats;
pub mod sweep;
pub mod sweep_file;
