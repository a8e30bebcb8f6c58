//! The load engine: a validated [`Plan`] goes in, one [`Record`] per
//! request comes out to a [`Recorder`].
//!
//! The engine knows nothing of ab's flags or report, of percentiles or of
//! charts: front ends (`speedup ab`, `speedup bench`, `speedup lab`) turn
//! their flags into a plan and hand the records to renderers elsewhere.

mod body;
mod cert;
mod conn;
pub mod control;
pub mod engine;
pub mod error;
mod h2clock;
mod h2conn;
mod limits;
pub mod plan;
pub mod rate;
pub mod record;
pub mod request;
mod response;
mod schedule;
pub mod start;
mod stream;
pub mod target;
mod tls;
mod turn;
mod worker;

/// The response parser and the certificate walk, for the fuzz targets in
/// `fuzz/` (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use crate::response::{ResponseReader, MAX_HEAD};

    /// The key size the TLS report gives for a server certificate `der`:
    /// whatever the bytes, an answer or `None`, never a panic, an
    /// overflow or a read past the input.
    pub fn certificate_key_bits(der: &[u8]) -> Option<u32> {
        crate::cert::public_key_bits(der)
    }

    /// Feeds `data` to a fresh response reader in pieces of `step` bytes
    /// (then the end of the stream), as the connection loop would, and
    /// checks what must hold whatever a server sends: no panic, counts
    /// within what was fed, and a head never held beyond its cap.
    pub fn feed_response(data: &[u8], step: usize, head_request: bool) {
        let mut reader = ResponseReader::new();
        reader.begin(head_request, true);
        let mut fed = 0u64;
        let mut done = false;
        for piece in data.chunks(step.max(1)) {
            fed += piece.len() as u64;
            match reader.feed(piece) {
                Ok(true) => {
                    done = true;
                    break;
                }
                Ok(false) => {}
                Err(_) => return,
            }
            assert!(reader.head_len() <= MAX_HEAD);
        }
        if !done {
            let _ = reader.eof();
        }
        assert!(reader.header_bytes + reader.body_bytes <= fed);
    }
}

pub use control::Control;
pub use engine::{run, RunOutput};
pub use error::RunError;
pub use limits::descriptors_needed;
pub use plan::{HttpVersion, Plan, PlanError, Proxy, MAX_TIME};
pub use rate::{RateProfile, Stage};
pub use record::{ErrorKind, Outcome, Record, Recorder, Sample, Scheduled};
pub use request::{build_request, build_request_for, default_headers, RequestSpec, USER_AGENT};
pub use start::Start;
pub use target::{url_host, Target};
pub use tls::TlsInfo;
