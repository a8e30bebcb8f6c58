//! Running a plan: worker threads, the shared request budget, the stop
//! switch, and what a run hands back.
//!
//! Each worker thread owns a current-thread tokio runtime and a share of the
//! connections, and records into its own [`Recorder`], so the hot path takes
//! no lock; the front end merges the recorders after the run.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::conn::{Address, SPREAD_ABOVE};
use crate::control::{Control, ControlState};
use crate::error::RunError;
use crate::h2conn::H2Request;
use crate::limits::{check_open_files, descriptors_needed};
use crate::plan::{Plan, PlanError};
use crate::record::Recorder;
use crate::request::{build_request, build_request_for};
use crate::schedule::Schedule;
use crate::start::{hold, Zero};
use crate::tls::{TlsClient, TlsInfo};
use crate::worker::{
    panic_message, run_worker, worker_runtime, Prepared, Reach, RunState, Share, WorkerOutput,
};

/// What a run hands back.
#[derive(Debug)]
pub struct RunOutput<R> {
    /// One recorder per worker thread, in thread order.
    pub recorders: Vec<R>,
    /// From the start of the run to the last record.
    pub elapsed: Duration,
    /// The Server header of the first complete response, if any.
    pub server_header: Option<String>,
    /// For `https://`: the protocol and cipher of the first handshake.
    pub tls: Option<TlsInfo>,
    /// With [`Plan::give_up_unreachable`]: the run stopped because nothing
    /// could be reached at the address.
    pub unreachable: bool,
    /// With [`Plan::http2`] over TLS: the run stopped because the server
    /// chose this protocol by ALPN (`none` if it chose none), not `h2`.
    pub alpn_refused: Option<String>,
}

/// Runs the plan to the end: request count reached, duration passed, or
/// [`Control::stop`]. Blocks the calling thread; spawns its own worker
/// threads, each with a current-thread tokio runtime.
pub fn run<R: Recorder, F: Fn() -> R + Sync>(
    plan: &Plan,
    make_recorder: F,
    control: &Control,
) -> Result<RunOutput<R>, RunError> {
    plan.validate()?;
    check_open_files(descriptors_needed(plan))?;
    let (addr, tls) = destination(plan)?;
    // The runtimes are built before the run's time zero, so the first due
    // times do not wait for them.
    let runtimes = (0..plan.resolved_threads())
        .map(|_| worker_runtime())
        .collect::<Result<Vec<_>, _>>()
        .map_err(RunError::Runtime)?;
    // A start on the wall clock: wait for it (see `start`).
    let zero = match &plan.start {
        Some(start) => hold(start, plan.warmup, &control.state)?,
        None => Zero::now(),
    };
    let run = Arc::new(run_state(plan, addr, tls, zero.base, control)?);
    let outputs = spawn_workers(plan, &run, runtimes, &zero, &make_recorder)?;
    let last = outputs.iter().filter_map(|o| o.last_done).max();
    let base = run.base;
    let elapsed = last.map_or_else(|| base.elapsed(), |t| t.saturating_duration_since(base));
    Ok(RunOutput {
        recorders: outputs.into_iter().map(|o| o.recorder).collect(),
        elapsed,
        server_header: run.server.get().cloned(),
        tls: run.tls_info.get().cloned(),
        unreachable: run.reach.gave_up.load(Ordering::Relaxed),
        alpn_refused: run.alpn_refused.get().cloned(),
    })
}

/// Where the run connects (the Unix socket, the proxy or the target,
/// resolved once) and, for `https://`, its TLS client.
fn destination(plan: &Plan) -> Result<(Address, Option<TlsClient>), RunError> {
    let addr = match (&plan.unix_socket, &plan.proxy) {
        (Some(path), _) => Address::Unix(path.clone()),
        (None, Some(proxy)) => Address::Tcp(resolve(&proxy.host, proxy.port)?),
        (None, None) => Address::Tcp(resolve(&plan.target.host, plan.target.port)?),
    };
    let tls = match plan.target.tls {
        true => Some(
            TlsClient::new(
                &plan.target.host,
                plan.insecure,
                plan.tls_resume,
                plan.http2,
            )
            .map_err(RunError::Tls)?,
        ),
        false => None,
    };
    Ok((addr, tls))
}

/// What every worker shares, with time zero at `base`.
fn run_state(
    plan: &Plan,
    addr: Address,
    tls: Option<TlsClient>,
    base: Instant,
    control: &Control,
) -> Result<RunState, RunError> {
    Ok(RunState {
        spread_sources: addr.is_loopback_v4() && plan.concurrency > SPREAD_ABOVE,
        addr,
        requests: prepare_requests(plan),
        h2_requests: match plan.http2 {
            true => H2Request::all(plan)
                .ok_or(RunError::Plan(PlanError::Http2Request))?
                .into_boxed_slice(),
            false => Box::new([]),
        },
        streams: plan.streams,
        alpn_refused: OnceLock::new(),
        trace_responses: plan.trace_responses,
        keep_alive: plan.keep_alive,
        timeout: plan.timeout,
        send_batch: plan.send_batch,
        limit: plan.requests,
        claimed: AtomicU64::new(0),
        warmup_end: base + plan.warmup,
        reach: Reach {
            give_up: plan.give_up_unreachable,
            ..Reach::default()
        },
        deadline: plan.duration.map(|d| base + d),
        base,
        control: Arc::clone(&control.state),
        server: OnceLock::new(),
        tls,
        tls_info: OnceLock::new(),
    })
}

/// Runs one worker thread per runtime, each with its share of the
/// connections and of the schedule, and joins them all (none outlives the
/// run); the first failure is the run's.
fn spawn_workers<R: Recorder, F: Fn() -> R + Sync>(
    plan: &Plan,
    run: &Arc<RunState>,
    runtimes: Vec<tokio::runtime::Runtime>,
    zero: &Zero,
    make_recorder: &F,
) -> Result<Vec<WorkerOutput<R>>, RunError> {
    let threads = runtimes.len();
    let profile = plan.rate_profile().map(Arc::new);
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        for (i, runtime) in runtimes.into_iter().enumerate() {
            let worker_run = Arc::clone(run);
            let share = Share {
                thread: i,
                threads,
                connections: share(plan.concurrency, threads, i),
                schedule: profile
                    .as_ref()
                    .map(|p| Schedule::new(Arc::clone(p), threads, i).skipping(zero.missed)),
            };
            let handle = std::thread::Builder::new()
                .name(format!("speedup-load-{i}"))
                .spawn_scoped(scope, move || {
                    // A panic anywhere in the worker (a connection, the
                    // recorder, making it) unwinds this thread: stop the
                    // other workers too.
                    let _stop = StopOnPanic(&worker_run.control);
                    run_worker(&runtime, Arc::clone(&worker_run), share, make_recorder())
                });
            match handle {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // Let the started workers finish quickly, then report.
                    run.control.stop();
                    return Err(RunError::Runtime(e));
                }
            }
        }
        let joined: Vec<_> = handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(Ok(out)) => Ok(out),
                Ok(Err(e)) => Err(RunError::Runtime(e)),
                Err(payload) => Err(RunError::Panic {
                    message: panic_message(&*payload),
                }),
            })
            .collect();
        joined.into_iter().collect()
    })
}

/// Aborts the run if dropped while its thread unwinds from a panic.
struct StopOnPanic<'a>(&'a ControlState);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.abort();
        }
    }
}

/// The bytes of every request the plan sends, built once.
fn prepare_requests(plan: &Plan) -> Box<[Prepared]> {
    let prepared = |bytes: Vec<u8>, method: &str| Prepared {
        bytes: bytes.into_boxed_slice(),
        head: method.eq_ignore_ascii_case("HEAD"),
    };
    if plan.mix.is_empty() {
        return Box::new([prepared(build_request(plan), &plan.method)]);
    }
    plan.mix
        .iter()
        .map(|spec| prepared(build_request_for(plan, spec), &spec.method))
        .collect()
}

/// Connections of worker `i` when `total` are spread evenly over `threads`.
fn share(total: u32, threads: usize, i: usize) -> u32 {
    let threads = threads as u32;
    total / threads + u32::from((i as u32) < total % threads)
}

/// Resolves once per run, preferring IPv4: "localhost" often lists ::1
/// first while test servers listen on 127.0.0.1 only.
fn resolve(host: &str, port: u16) -> Result<SocketAddr, RunError> {
    let error = |source| RunError::Resolve {
        host: format!("{host}:{port}"),
        source,
    };
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().map_err(error)?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| error(std::io::Error::other("no addresses found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_spread_evenly() {
        let shares: Vec<u32> = (0..3).map(|i| share(10, 3, i)).collect();
        assert_eq!(shares, [4, 3, 3]);
        assert_eq!(share(1, 1, 0), 1);
    }
}
