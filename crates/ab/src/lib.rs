//! Apache Bench 2.3 on the speedup engine, in one place: ab's flags and
//! their validation into a [`speedup_load::Plan`] ([`flags`]), the request
//! ab sends ([`request`]), counting records the way ab counts them
//! ([`AbTally`]), ab's abort rules and heartbeat ([`watch`]), `-v` tracing
//! ([`verbose`]), and ab's report, `-e` CSV, `-g` TSV and `-w` HTML byte for
//! byte ([`write_text`], [`write_csv`], [`write_tsv`], [`write_html`]).
//!
//! `speedup ab` (the CLI) and `speedup lab` both use it. Percentiles and the
//! CDF come from `speedup_stats`; ab's own summary rules (integer
//! mean, sample sd, inverted-parity median) are in [`summary`]. Renderers
//! write to any `impl Write`; nothing here prints to the terminal or exits.

mod files;
pub mod flags;
mod html;
mod report;
pub mod request;
pub mod session;
pub mod summary;
mod tally;
mod text;
pub mod tls;
pub mod verbose;
pub mod watch;

pub use files::{ctime, write_csv, write_tsv};
pub use flags::{AbArgs, FlagError};
pub use html::write_html;
pub use report::{epoch_us_now, AbOptions, AbReport, HtmlAttrs};
pub use request::plain_plan;
pub use tally::{AbCounts, AbTally, LiveErrors};
pub use text::write_text;
