//! `speedup bench`: a load generator that tells the truth about tail
//! latency.
//!
//! Flags become a validated [`BenchPlan`] ([`flags`]); [`run`] drives the
//! engine with one [`recorder::BenchRecorder`] per worker thread, each
//! recording into HDR histograms (constant memory, no per-request samples)
//! and shipping a histogram per second to the [`intervals`] collector,
//! which writes the timeline and the HdrHistogram interval log as the
//! seconds complete. With `--rate` the run is open loop and every latency
//! is recorded twice: corrected (from its send, plus any wait for a free
//! connection after its due time) and uncorrected (from its send); the
//! client's own lateness is recorded apart. Renderers ([`text`], [`json`]) write the
//! result to any `impl Write`; [`merge`] adds the logs of several runs and
//! [`compare`] tells whether one run is faster than another.
//! Percentiles are read through `speedup_stats`, like every other.

pub mod compare;
pub mod counts;
pub mod duration;
pub mod errors;
pub mod findmax;
pub mod flags;
pub mod hist;
pub mod intervals;
pub mod json;
pub mod live;
pub mod merge;
pub mod per_target;
pub mod plan;
pub mod recorder;
pub mod request;
pub mod run;
pub mod slo;
pub mod start;
pub mod targets;
pub mod text;

pub use flags::{BenchArgs, FlagError};
pub use intervals::SeriesWriters;
pub use plan::{BenchPlan, Outputs};
pub use run::{run, BenchError, BenchResult, Observer, Progress, Quiet};
