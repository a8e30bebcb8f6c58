//! The load engine: a validated [`Plan`] goes in, one [`Record`] per
//! request comes out to a [`Recorder`].
//!
//! The engine knows nothing of ab's flags or report, of percentiles or of
//! charts: front ends (`speedup ab`, `speedup bench`, `speedup lab`) turn
//! their flags into a plan and hand the records to renderers elsewhere.

mod body;
mod conn;
pub mod engine;
mod limits;
pub mod plan;
pub mod record;
pub mod request;
mod response;
mod schedule;
mod worker;

pub use engine::{run, Control, Recorder, RunError, RunOutput};
pub use plan::{HttpVersion, Plan, PlanError, Proxy, Target, MAX_TIME};
pub use record::{ErrorKind, Outcome, Record, Sample, Scheduled};
pub use request::{build_request, default_headers, USER_AGENT};
