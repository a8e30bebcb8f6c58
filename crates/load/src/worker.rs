//! One client worker thread: a current-thread tokio runtime running its
//! share of the connections, all recording into the thread's own recorder.

use std::cell::{Cell, RefCell, RefMut};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::conn::{connection, Address};
use crate::control::ControlState;
use crate::h2conn::{session, H2Request};
use crate::record::Recorder;
use crate::record::{Record, Scheduled};
use crate::schedule::Schedule;
use crate::tls::{TlsClient, TlsInfo};

/// The one read buffer of a worker thread: every connection on the thread
/// reads through it (reads never wait while holding it), so bodies of any
/// size cost no memory per connection.
const SCRATCH: usize = 64 * 1024;

/// How often a worker looks whether a target that never answered should
/// be given up (only until a connection is made).
const UNREACHABLE_POLL: Duration = Duration::from_millis(5);

/// With [`crate::Plan::give_up_unreachable`]: how long a run goes on
/// without a single connection before it gives up.
const UNREACHABLE_AFTER: Duration = Duration::from_secs(1);

/// What every connection of a run shares, across threads.
pub(crate) struct RunState {
    /// Where to connect (the target, the proxy, or a Unix socket).
    pub addr: Address,
    /// Spread connections over several loopback source addresses, so that
    /// very high concurrency does not run out of ephemeral ports.
    pub spread_sources: bool,
    /// The requests, built once: one, or the plan's mix sent in turn.
    pub requests: Box<[Prepared]>,
    /// HTTP/2: the same requests as HTTP/2 sends them (empty otherwise).
    pub h2_requests: Box<[H2Request]>,
    /// HTTP/2: streams per connection.
    pub streams: u32,
    /// HTTP/2 over TLS: what the server chose by ALPN instead of `h2`.
    pub alpn_refused: OnceLock<String>,
    /// Call [`Recorder::first_read`] for every response.
    pub trace_responses: bool,
    /// Reuse connections the server keeps open.
    pub keep_alive: bool,
    /// Per-request limit.
    pub timeout: Duration,
    /// Open loop: the period sends are batched into ([`crate::Plan::send_batch`]).
    pub send_batch: Option<Duration>,
    /// Stop after this many started requests.
    pub limit: Option<u64>,
    /// Requests started so far (may overshoot `limit` by the refused claims).
    pub claimed: AtomicU64,
    /// Requests started before this do not count towards `limit` (a
    /// warm-up).
    pub warmup_end: Instant,
    /// Whether anything was reached at `addr`.
    pub reach: Reach,
    /// No request starts at or after this.
    pub deadline: Option<Instant>,
    /// Time zero of the run; samples count µs from here.
    pub base: Instant,
    /// The front end's progress counter and stop switch.
    pub control: Arc<ControlState>,
    /// The first Server header seen.
    pub server: OnceLock<String>,
    /// For `https://`: the TLS client, built once.
    pub tls: Option<TlsClient>,
    /// The first handshake's protocol and cipher.
    pub tls_info: OnceLock<TlsInfo>,
}

/// One request's bytes, built once.
pub(crate) struct Prepared {
    /// What is written.
    pub bytes: Box<[u8]>,
    /// A HEAD request: its response has no body whatever its headers say.
    pub head: bool,
}

/// Whether anything listens at the run's address: a run that reached
/// nothing a second in, with a failed connect, may give up instead of
/// counting connect errors for its whole duration.
#[derive(Debug, Default)]
pub(crate) struct Reach {
    /// Give up (see [`crate::Plan::give_up_unreachable`]).
    pub give_up: bool,
    /// A connection was established.
    pub connected: AtomicBool,
    /// A connect failed.
    pub failed: AtomicBool,
    /// The run gave up.
    pub gave_up: AtomicBool,
}

impl Reach {
    /// Notes how a connect ended (a relaxed load per new connection).
    pub(crate) fn connect(&self, ok: bool) {
        let flag = if ok { &self.connected } else { &self.failed };
        if !flag.load(Ordering::Relaxed) {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the run may still give up: asked to, and no connection
    /// made yet.
    fn may_give_up(&self) -> bool {
        self.give_up && !self.connected.load(Ordering::Relaxed)
    }

    /// Whether the run should give up now, `elapsed` after its start.
    fn should_give_up(&self, elapsed: Duration) -> bool {
        self.may_give_up() && elapsed >= UNREACHABLE_AFTER && self.failed.load(Ordering::Relaxed)
    }
}

impl RunState {
    /// Claims the right to start one more request at `now`.
    pub(crate) fn claim(&self, now: Instant) -> bool {
        if self.control.is_stopped() || self.deadline.is_some_and(|d| now >= d) {
            return false;
        }
        if now < self.warmup_end {
            return true;
        }
        // One at a time, so the run never starts more than `limit`.
        self.limit
            .is_none_or(|limit| self.claimed.fetch_add(1, Ordering::Relaxed) < limit)
    }
}

/// A worker thread's own state, shared by its connections on that thread.
pub(crate) struct Worker<R> {
    recorder: RefCell<R>,
    /// Open loop: this thread's share of the schedule; `None` in closed loop.
    pub(crate) schedule: Option<Schedule>,
    last_done: Cell<Option<Instant>>,
    scratch: RefCell<Box<[u8]>>,
    /// Woken when the run is stopped, so connections waiting for a later
    /// due time end at once.
    pub(crate) stopping: tokio::sync::Notify,
    /// The next request of the mix this thread sends, and the step: the
    /// threads interleave (thread i sends i, i + T, ...) so a run sends the
    /// mix in turn as a whole.
    next_target: Cell<usize>,
    target_step: usize,
}

impl<R: Recorder> Worker<R> {
    /// Which of the run's `count` requests to send next (round robin).
    pub(crate) fn next_target(&self, count: usize) -> usize {
        if count == 1 {
            return 0;
        }
        let next = self.next_target.get();
        self.next_target.set((next + self.target_step) % count);
        next % count
    }

    /// The thread's read buffer, for one synchronous read and parse.
    pub(crate) fn scratch(&self) -> RefMut<'_, Box<[u8]>> {
        self.scratch.borrow_mut()
    }

    /// Hands a response's first read to this thread's recorder.
    pub(crate) fn first_read(&self, bytes: &[u8]) {
        self.recorder.borrow_mut().first_read(bytes);
    }

    /// Hands a record to this thread's recorder; `done` is when it ended,
    /// `scheduled` where it stood against an open-loop schedule.
    pub(crate) fn record(&self, record: &Record, scheduled: Option<Scheduled>, done: Instant) {
        match scheduled {
            Some(s) => self.recorder.borrow_mut().record_scheduled(record, s),
            None => self.recorder.borrow_mut().record(record),
        }
        if self.last_done.get().is_none_or(|last| done > last) {
            self.last_done.set(Some(done));
        }
    }
}

/// What one worker thread hands back: its recorder and its last record time.
pub(crate) struct WorkerOutput<R> {
    pub recorder: R,
    pub last_done: Option<Instant>,
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// A worker thread's part of the run.
pub(crate) struct Share {
    /// The thread's number, from 0.
    pub thread: usize,
    /// How many worker threads the run has.
    pub threads: usize,
    /// The thread's connections.
    pub connections: u32,
    /// Open loop: the thread's share of the schedule.
    pub schedule: Option<Schedule>,
}

/// A worker thread's runtime: current-thread, with I/O and time.
pub(crate) fn worker_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
}

/// Runs `connections` connections on the calling thread, in `runtime` (on
/// `schedule` in an open-loop run) until the run ends; errs only if the
/// open loop's timer cannot be installed. A panic in any connection (or the recorder it called) is resumed
/// on the calling thread, whose unwinding the engine turns into an aborted
/// run.
pub(crate) fn run_worker<R: Recorder>(
    runtime: &tokio::runtime::Runtime,
    run: Arc<RunState>,
    share: Share,
    recorder: R,
) -> std::io::Result<WorkerOutput<R>> {
    let Share {
        thread,
        threads,
        connections,
        schedule,
    } = share;
    let worker = Rc::new(Worker {
        recorder: RefCell::new(recorder),
        schedule,
        last_done: Cell::new(None),
        scratch: RefCell::new(vec![0; SCRATCH].into_boxed_slice()),
        stopping: tokio::sync::Notify::new(),
        next_target: Cell::new(thread),
        target_step: threads,
    });
    let local = tokio::task::LocalSet::new();
    // Open loop: the schedule's due times wait on this thread's own
    // precise timer (tokio's wheel has millisecond slots), and the kernel
    // is asked not to batch the thread's wake-ups.
    speedup_timer::fine_timer_slack();
    local.block_on(runtime, async {
        let _timer = match worker.schedule {
            Some(_) => Some(speedup_timer::install_local()?),
            None => None,
        };
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..connections {
            let (run, worker) = (Arc::clone(&run), Rc::clone(&worker));
            match run.h2_requests.is_empty() {
                true => tasks.spawn_local(connection(run, worker, index)),
                false => tasks.spawn_local(session(run, worker, index)),
            };
        }
        // A stop or an abort wakes this loop (`Control`'s notification):
        // nothing on the per-request path watches for them, and an idle
        // thread is not woken to look. Only while the target may yet prove
        // unreachable does a slow tick look at the connections.
        let mut tick = tokio::time::interval(UNREACHABLE_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            // Made before the flags are read, so a change between is seen.
            let changed = run.control.changed();
            if run.control.is_aborted() {
                tasks.abort_all();
            } else if run.control.is_stopped() {
                worker.stopping.notify_waiters();
            }
            tokio::select! {
                biased;
                next = tasks.join_next() => match next {
                    None => break,
                    Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Some(_) => {}
                },
                () = changed => {}
                _ = tick.tick(), if run.reach.may_give_up() => {
                    if run.reach.should_give_up(run.base.elapsed()) {
                        run.reach.gave_up.store(true, Ordering::Relaxed);
                        run.control.stop();
                    }
                }
            }
        }
        Ok::<(), std::io::Error>(())
    })?;
    let worker = Rc::try_unwrap(worker)
        .map_err(|_| std::io::Error::other("a connection task outlived its worker"))?;
    Ok(WorkerOutput {
        last_done: worker.last_done.get(),
        recorder: worker.recorder.into_inner(),
    })
}
