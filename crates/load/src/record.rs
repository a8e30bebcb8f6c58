//! What the engine measures of one request.
//!
//! Times are whole microseconds, as ab keeps them, so that ab's formulas
//! can be applied to exactly the numbers ab would have seen.

/// The timing of one request, in microseconds, as ab measures it.
///
/// `start_us` is when the request began (the connect for a new connection,
/// the write for a request on a reused keep-alive connection), counted from
/// the start of the run. The other fields are durations from there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sample {
    /// When the request began, µs since the run started.
    pub start_us: u64,
    /// Time to establish the connection; 0 on a reused keep-alive connection.
    pub connect_us: u32,
    /// Time from the end of writing the request to the first byte of the
    /// response (ab's "Waiting").
    pub wait_us: u32,
    /// Time from `start_us` to the last byte of the response (ab's "Total").
    pub total_us: u32,
}

impl Sample {
    /// ab's "Processing" time: total minus connect.
    pub fn processing_us(&self) -> u32 {
        self.total_us.saturating_sub(self.connect_us)
    }
}

/// Why a request failed. Counted by kind, never by message text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The TCP connection could not be established.
    Connect,
    /// Reading the response failed (reset, or closed before a full response).
    Read,
    /// Writing the request failed and no response came.
    Write,
    /// The per-request timeout passed.
    Timeout,
    /// The response was not valid HTTP/1.x, or its head (or a chunk
    /// extension, or its trailers) was longer than 64 KiB. Also the
    /// request due next on a keep-alive connection whose previous response
    /// was followed by bytes no request asked for: the connection is out
    /// of step, so that request is not sent on it.
    Malformed,
    /// The server closed the connection without a byte of response to a
    /// request it was sent (on a reused keep-alive connection: the server
    /// closed it while the request was on its way). Never retried: the
    /// request may have had effects, and its time counts.
    NoResponse,
    /// The body length differed from the expected document length.
    Length,
    /// The server's TLS certificate did not verify (self-signed, expired,
    /// another host's): see the plan's `insecure`.
    Certificate,
    /// The TLS handshake failed for another reason (no common protocol or
    /// cipher, not a TLS server).
    Tls,
    /// HTTP/2: the server reset the request's stream (RST_STREAM) with
    /// this error code (RFC 9113 §7: 0x1 PROTOCOL_ERROR, 0x2 INTERNAL_ERROR,
    /// 0x8 CANCEL, ...). A stream refused before the server processed it
    /// (REFUSED_STREAM, 0x7) is sent again instead, on a new stream.
    Reset(u32),
    /// HTTP/2: the server closed the connection (GOAWAY, or an error) after
    /// it had taken the request: it may have been processed, so it is not
    /// sent again. Requests the GOAWAY says were not processed are.
    GoAway,
    /// HTTP/2: the connection broke the protocol, as the client saw it (a
    /// frame out of place, a header block beyond the client's limit).
    Protocol,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A complete response arrived.
    Response {
        /// HTTP status code.
        status: u16,
        /// Bytes of the status line and headers, including the blank line.
        header_bytes: u64,
        /// Bytes of the body as read from the wire; a chunked body counts its
        /// chunk framing too, as ab (which does not decode chunks) does.
        body_bytes: u64,
        /// The connection stays open for another request.
        keep_alive: bool,
        /// Writing the request failed, or stopped because the whole response
        /// came first (a server refusing an upload answers and closes); the
        /// response was still read.
        write_failed: bool,
    },
    /// The request failed.
    Error(ErrorKind),
}

/// One request as the engine saw it: its timing and how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// When it started and how long each phase took.
    pub sample: Sample,
    /// Its status or its error.
    pub outcome: Outcome,
    /// Which of the plan's requests it was: the index in
    /// [`crate::Plan::mix`], 0 without one.
    pub target: u32,
}

/// Where a request of an open-loop run (a plan with a rate) stood against
/// its schedule, in µs.
///
/// Of one request, the engine knows when it was due (`D`), when its
/// connection became free for it (`F`: the end of the previous exchange on
/// that connection, or the connection's start), when it was actually sent
/// (`S`, the record's `start_us`) and when it ended (`E`). The wait for a
/// free connection, `max(0, F − D)`, is the server's doing: it is added to
/// the response time to correct for coordinated omission. The client's own
/// wake-up lateness, `S − max(D, F)`, is not: it is reported on its own and
/// never charged to the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scheduled {
    /// When the schedule wanted the request sent, µs since the run started.
    pub due_us: u64,
    /// How long after `due_us` a connection became free to send it,
    /// `max(0, F − D)`: 0 when a connection was waiting for the due time,
    /// more when every connection was busy with the server (a late send).
    pub late_us: u64,
    /// How long after it could have been sent the client sent it,
    /// `S − max(D, F)`: the generator's own lateness (a timer waking late,
    /// a busy thread), never part of the server's figures.
    pub send_lateness_us: u64,
}

impl Scheduled {
    /// The response time corrected for coordinated omission, from the
    /// time the request took from its send (`E − S`):
    /// `(E − S) + max(0, F − D)`.
    pub fn corrected_us(&self, took_us: u64) -> u64 {
        took_us + self.late_us
    }
}
