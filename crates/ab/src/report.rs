//! [`AbReport`]: everything ab's renderers print, gathered after a run, and
//! the switches (`AbOptions`, `HtmlAttrs`) ab's flags set on it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use speedup_load::{Plan, Sample};

use crate::tally::{AbCounts, AbTally};

/// Attributes ab's `-w` HTML tables carry (`-x`, `-y`, `-z`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HtmlAttrs {
    /// Inserted in `<table ...>` (`-x`); ab's default is empty.
    pub table: String,
    /// Inserted in every `<tr ...>` (`-y`); ab's default is empty.
    pub tr: String,
    /// Inserted in every `<td ...>`/`<th ...>` (`-z`); ab's default is
    /// `bgcolor=white`.
    pub td: String,
}

impl Default for HtmlAttrs {
    fn default() -> HtmlAttrs {
        HtmlAttrs {
            table: String::new(),
            tr: String::new(),
            td: "bgcolor=white".to_owned(),
        }
    }
}

/// Report switches, as ab's flags set them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbOptions {
    /// `-k`: print the "Keep-Alive requests" line.
    pub keep_alive: bool,
    /// `-l`: the document length is "Variable" and never a failure.
    pub variable_length: bool,
    /// Not `-S`: print sd and median columns and ab's reliability warnings.
    pub confidence: bool,
    /// Not `-d`: print the percentile table.
    pub percentiles: bool,
}

impl Default for AbOptions {
    fn default() -> AbOptions {
        AbOptions {
            keep_alive: false,
            variable_length: false,
            confidence: true,
            percentiles: true,
        }
    }
}

/// Everything ab's renderers print, gathered after a run.
#[derive(Clone, Debug, PartialEq)]
pub struct AbReport {
    /// The `Server` header of the first response ("Server Software:").
    pub server_software: String,
    /// The host as written in the URL ("Server Hostname:").
    pub host: String,
    /// The port ("Server Port:").
    pub port: u16,
    /// For `https://`: protocol, cipher, server key and cipher bits
    /// ("SSL/TLS Protocol:"), e.g. `TLSv1.3,TLS_AES_256_GCM_SHA384,256,256`.
    pub tls_protocol: Option<String>,
    /// For `https://`: the key-exchange key ("Server Temp Key:"), e.g.
    /// `X25519 253 bits`.
    pub tls_temp_key: Option<String>,
    /// For `https://` to a host name: the name sent ("TLS Server Name:").
    pub tls_server_name: Option<String>,
    /// Path and query ("Document Path:").
    pub path: String,
    /// `-c` ("Concurrency Level:").
    pub concurrency: u32,
    /// From the start of the run to the last record ("Time taken for tests:").
    pub elapsed: Duration,
    /// ab's totals.
    pub counts: AbCounts,
    /// One sample per completed request, sorted by total time (as
    /// [`AbTally::finish`] returns them).
    pub samples: Vec<Sample>,
    /// With `-p`/`-u`: bytes written, request headers included ("Total body sent:").
    pub body_sent: Option<u64>,
    /// Wall-clock time at the start of the run, µs since the Unix epoch
    /// (the `-g` TSV's `seconds` column and its date).
    pub start_epoch_us: u64,
    /// Local time minus UTC in seconds, for the `-g` TSV's date (ab prints
    /// local time).
    pub utc_offset_secs: i64,
    /// Report switches.
    pub options: AbOptions,
}

impl AbReport {
    /// ab's report of a finished run of `plan`: every worker thread's tally
    /// merged, the target and concurrency from the plan, the Server header
    /// of the first response. The body total and the `-g` clock fields
    /// start at zero; front ends that know them set them.
    pub fn from_run(
        plan: &Plan,
        elapsed: Duration,
        server_header: Option<String>,
        tallies: impl IntoIterator<Item = AbTally>,
        options: AbOptions,
    ) -> AbReport {
        let (counts, samples) = AbTally::merge_all(tallies).finish(options.variable_length);
        AbReport {
            server_software: server_header.unwrap_or_default(),
            host: plan.target.host.clone(),
            port: plan.target.port,
            tls_protocol: None,
            tls_temp_key: None,
            tls_server_name: None,
            path: plan.target.path.clone(),
            concurrency: plan.concurrency,
            elapsed,
            counts,
            samples,
            body_sent: None,
            start_epoch_us: 0,
            utc_offset_secs: 0,
            options,
        }
    }

    /// ab's `timetaken`: whole µs as seconds.
    pub(crate) fn seconds(&self) -> f64 {
        self.elapsed.as_micros() as f64 / 1_000_000.0
    }
}

/// Now, in µs since the Unix epoch (0 before it): what a run records as its
/// [`AbReport::start_epoch_us`] just before it starts.
pub fn epoch_us_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
