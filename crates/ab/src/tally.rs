//! `AbTally`: a [`Recorder`] that counts what ab counts, one per worker
//! thread, merged after the run.
//!
//! The hot path is a push onto a growing `Vec<Sample>` and a few integer
//! additions: no lock, no allocation up front (a `-t` run with a huge `-n`
//! must not reserve memory for requests it will never make). Errors, which
//! are rare, also bump shared atomics ([`LiveErrors`]) so the front end can
//! abort a run the way ab does while it is still going.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use speedup_load::{ErrorKind, Outcome, Record, Recorder, Sample};

use crate::summary;

/// Error counts shared by all worker threads while a run is going, so that
/// the front end can apply ab's abort rules (too many connect failures, a
/// receive error without `-r`, a timeout). Only error records touch it.
#[derive(Debug, Default)]
pub struct LiveErrors {
    connect: AtomicU64,
    receive: AtomicU64,
    timeout: AtomicU64,
}

impl LiveErrors {
    /// Connections that could not be established so far.
    pub fn connect(&self) -> u64 {
        self.connect.load(Ordering::Relaxed)
    }
    /// Responses cut short (reset, early close inside the response,
    /// malformed) so far.
    pub fn receive(&self) -> u64 {
        self.receive.load(Ordering::Relaxed)
    }
    /// Requests that passed the per-request timeout so far.
    pub fn timeout(&self) -> u64 {
        self.timeout.load(Ordering::Relaxed)
    }
}

/// The first response that completed, by completion time: ab takes the
/// document length from it and judges every other response against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FirstResponse {
    done_us: u64,
    body_bytes: u64,
}

/// What ab counts of a run, accumulated per worker thread and mergeable.
#[derive(Debug, Default)]
pub struct AbTally {
    live: Option<Arc<LiveErrors>>,
    samples: Vec<Sample>,
    responses: u64,
    keep_alive: u64,
    non_2xx: u64,
    header_bytes: u64,
    body_bytes: u64,
    err_connect: u64,
    err_receive: u64,
    err_length: u64,
    err_except: u64,
    write_errors: u64,
    first: Option<FirstResponse>,
    /// Responses per body length, to count Length failures against the
    /// first response's length once all threads are merged.
    lengths: BTreeMap<u64, u64>,
}

/// ab's totals after merging every thread's tally.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AbCounts {
    /// "Complete requests": every request that got a response or failed
    /// after connecting (ab's `done`).
    pub complete: u64,
    /// Complete responses (any status).
    pub responses: u64,
    /// Connections that could not be established (ab's `err_conn`).
    pub err_connect: u64,
    /// Responses cut short or unreadable (ab's `err_recv`), and requests
    /// the server closed without any answer.
    pub err_receive: u64,
    /// Responses whose body length differs from the document length, or
    /// shorter than their Content-Length (ab's `err_length`).
    pub err_length: u64,
    /// Timeouts, malformed responses (bytes beyond a kept response
    /// included) and failed writes (ab's `err_except`).
    pub err_except: u64,
    /// Requests whose write failed (ab's "Write errors").
    pub write_errors: u64,
    /// Responses with a status outside 2xx; not failures, as in ab.
    pub non_2xx: u64,
    /// Responses that kept their connection open (ab's `doneka`).
    pub keep_alive: u64,
    /// The body length of the first response to complete (ab's `doclen`).
    pub doc_length: u64,
    /// All bytes read: status lines, headers and bodies ("Total transferred").
    pub total_bytes: u64,
    /// Body bytes read ("HTML transferred").
    pub body_bytes: u64,
}

impl AbCounts {
    /// ab's "Failed requests": the sum of the four failure columns.
    pub fn failed(&self) -> u64 {
        self.err_connect + self.err_receive + self.err_length + self.err_except
    }
}

impl AbTally {
    /// An empty tally; `live`, when given, is bumped on every error so a
    /// watcher thread can abort the run.
    pub fn new(live: Option<Arc<LiveErrors>>) -> AbTally {
        AbTally {
            live,
            ..AbTally::default()
        }
    }

    /// Adds another thread's tally to this one.
    pub fn merge(&mut self, other: AbTally) {
        self.samples.extend_from_slice(&other.samples);
        self.responses += other.responses;
        self.keep_alive += other.keep_alive;
        self.non_2xx += other.non_2xx;
        self.header_bytes += other.header_bytes;
        self.body_bytes += other.body_bytes;
        self.err_connect += other.err_connect;
        self.err_receive += other.err_receive;
        self.err_length += other.err_length;
        self.err_except += other.err_except;
        self.write_errors += other.write_errors;
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(if b.done_us < a.done_us { b } else { a }),
            (a, b) => a.or(b),
        };
        for (len, n) in other.lengths {
            *self.lengths.entry(len).or_insert(0) += n;
        }
    }

    /// Merges every tally into one.
    pub fn merge_all(tallies: impl IntoIterator<Item = AbTally>) -> AbTally {
        let mut all = AbTally::default();
        for t in tallies {
            all.merge(t);
        }
        all
    }

    /// Final counts and the samples sorted by total time.
    ///
    /// With `variable_length` (ab's `-l`) body lengths are not compared;
    /// otherwise every response whose body length differs from the first
    /// completed response's counts as a Length failure, as in ab.
    pub fn finish(mut self, variable_length: bool) -> (AbCounts, Vec<Sample>) {
        let doc_length = self.first.map_or(0, |f| f.body_bytes);
        let mismatched = if variable_length {
            0
        } else {
            self.responses - self.lengths.get(&doc_length).copied().unwrap_or(0)
        };
        summary::sort_by_total(&mut self.samples);
        let counts = AbCounts {
            complete: self.samples.len() as u64,
            responses: self.responses,
            err_connect: self.err_connect,
            err_receive: self.err_receive,
            err_length: self.err_length + mismatched,
            err_except: self.err_except,
            write_errors: self.write_errors,
            non_2xx: self.non_2xx,
            keep_alive: self.keep_alive,
            doc_length,
            total_bytes: self.header_bytes + self.body_bytes,
            body_bytes: self.body_bytes,
        };
        (counts, self.samples)
    }

    fn error(&mut self, kind: ErrorKind) {
        let live = self.live.as_deref();
        let bump = |c: Option<&AtomicU64>| {
            if let Some(c) = c {
                c.fetch_add(1, Ordering::Relaxed);
            }
        };
        match kind {
            // ab counts a failed TLS handshake where it failed to connect.
            ErrorKind::Connect | ErrorKind::Certificate | ErrorKind::Tls => {
                self.err_connect += 1;
                bump(live.map(|l| &l.connect));
            }
            ErrorKind::Read => {
                self.err_receive += 1;
                bump(live.map(|l| &l.receive));
            }
            // A body shorter than its Content-Length is ab's Length column;
            // ab never aborts on it.
            ErrorKind::Length => self.err_length += 1,
            // ab counts a failed write and goes on: a server refusing an
            // upload is not a broken server.
            ErrorKind::Write => {
                self.write_errors += 1;
                self.err_except += 1;
            }
            // A request the server closed without a byte of answer never
            // succeeded: a Receive failure. (ab 2.3 judges it as an empty
            // response, a Length failure only against a non-empty document:
            // a server that answers nothing at all gets 0 failures from it.)
            // Counted, not an abort: ab goes on after it too.
            ErrorKind::NoResponse => self.err_receive += 1,
            // Also the request due on a keep-alive connection after the
            // server sent bytes no request asked for: an exception, the same
            // count whether those bytes came with a response or after it.
            ErrorKind::Malformed => {
                self.err_except += 1;
                bump(live.map(|l| &l.receive));
            }
            ErrorKind::Timeout => {
                self.err_except += 1;
                bump(live.map(|l| &l.timeout));
            }
            // ab speaks HTTP/1 only; were these to come, they are receive
            // errors as a reset connection is.
            ErrorKind::Reset(_) | ErrorKind::GoAway | ErrorKind::Protocol => {
                self.err_receive += 1;
                bump(live.map(|l| &l.receive));
            }
        }
    }
}

impl Recorder for AbTally {
    fn record(&mut self, record: &Record) {
        match record.outcome {
            Outcome::Response {
                status,
                header_bytes,
                body_bytes,
                keep_alive,
                write_failed,
            } => {
                self.responses += 1;
                self.header_bytes += header_bytes;
                self.body_bytes += body_bytes;
                if write_failed {
                    self.write_errors += 1;
                    self.err_except += 1;
                }
                if !(200..300).contains(&status) {
                    self.non_2xx += 1;
                }
                if keep_alive {
                    self.keep_alive += 1;
                }
                let done_us = record.sample.start_us + u64::from(record.sample.total_us);
                let earlier = match self.first {
                    None => true,
                    Some(f) => done_us < f.done_us,
                };
                if earlier {
                    self.first = Some(FirstResponse {
                        done_us,
                        body_bytes,
                    });
                }
                *self.lengths.entry(body_bytes).or_insert(0) += 1;
            }
            // ab never completes a request whose connection failed.
            Outcome::Error(ErrorKind::Connect) => {
                self.error(ErrorKind::Connect);
                return;
            }
            Outcome::Error(kind) => self.error(kind),
        }
        self.samples.push(record.sample);
    }
}
