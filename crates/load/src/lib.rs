//! The load engine: a validated [`Plan`](plan) goes in, one [`Record`] per
//! request comes out to a [`Recorder`].
//!
//! The engine knows nothing of ab's flags or report, of percentiles or of
//! charts: front ends (`speedup ab`, `speedup bench`, `speedup lab`) turn
//! their flags into a plan and hand the records to renderers elsewhere.

pub mod record;

pub use record::{ErrorKind, Outcome, Record, Sample};
