//! Async sleeps precise to tens of microseconds, for the server's async
//! endpoint and the load generator's open-loop schedule alike.
//!
//! tokio's timer wheel has millisecond slots and rounds every deadline up to
//! the next one, and the reactor parks with a timeout in whole milliseconds:
//! a 100 ms `tokio::time::sleep` wakes 1–2 ms late, and that lateness lands
//! in every async response time the lab measures (and, in a load generator,
//! bunches the sends of a schedule into millisecond batches). A timerfd per sleep is on
//! time but costs six syscalls and a file descriptor per sleeper.
//!
//! So a timer keeps its deadlines in a `BTreeMap` (ordered, O(log n) insert
//! and cancel) and waits for the earliest one only. A sleep registers its
//! deadline and waker under a mutex; whatever waits is only signalled when
//! the new deadline is earlier than the one it waits for, which for a stream
//! of equal sleeps is almost never: zero or one syscall per sleep, no
//! descriptor per sleeper. Dropping a sleep (the client went away) removes
//! its entry at once. There are two kinds of timer:
//!
//! * Each serving thread of `speedup serve` and each worker thread of the
//!   load engine (a current-thread runtime) installs its own
//!   ([`install_local`]): one timerfd, watched by
//!   the thread's own reactor, re-armed only when the earliest deadline
//!   changes (`timerfd`). Its sleepers are woken on their own thread, so a
//!   wake is a queue push: no cross-thread wake-up, no eventfd write, no
//!   extra thread to schedule.
//! * Everywhere else (any runtime, tests), one process-wide timer thread
//!   blocks on a condition variable until the earliest deadline.
//!
//! Precision: a timerfd is an hrtimer; on Linux the condition variable's
//! timeout is a futex with an absolute `CLOCK_MONOTONIC` deadline (an
//! hrtimer too), and the timer thread sets its timer slack to 1 ns. Both
//! wake within microseconds. Elsewhere only the thread exists and the OS's
//! timeout precision applies; [`precision_warning`] says so, and the server
//! logs it at startup.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Sleeps `duration` without holding a thread. Zero yields once, as
/// `asyncio.sleep(0)` does. Fails only if the timer thread cannot start.
pub async fn sleep(duration: Duration) -> io::Result<()> {
    if duration.is_zero() {
        tokio::task::yield_now().await;
        return Ok(());
    }
    // A deadline too far to represent is one we never reach: sleep a year.
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600));
    sleep_until(deadline).await
}

/// Sleeps until `deadline` (at once if it has passed) on this thread's own
/// timer, or the process-wide one. Fails only if the timer thread cannot
/// start.
pub async fn sleep_until(deadline: Instant) -> io::Result<()> {
    if Instant::now() >= deadline {
        return Ok(());
    }
    let timer = match LOCAL.with(|local| local.borrow().clone()) {
        Some(local) => local,
        None => Arc::clone(Timer::global()?),
    };
    Sleep {
        timer,
        deadline,
        key: None,
    }
    .await;
    Ok(())
}

/// Asks the kernel to wake the calling thread on time: a timer slack of 1 ns
/// instead of the default 50 µs, which lets it batch our wake-ups with
/// others. Applies to the thread's blocking waits (its reactor's
/// `epoll_wait`, a condition variable); a no-op off Linux.
pub fn fine_timer_slack() {
    #[cfg(target_os = "linux")]
    {
        // Fails only on kernels without the option: then the default stays.
        let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
    }
}

/// Starts the timer thread now (instead of at the first sleep), so a server
/// that cannot have one fails at startup rather than on a request.
pub fn start() -> io::Result<()> {
    Timer::global().map(|_| ())
}

thread_local! {
    /// This thread's own timer, if it installed one.
    static LOCAL: RefCell<Option<Arc<Timer>>> = const { RefCell::new(None) };
}

/// Every timer of the process, for [`pending`].
static ALL: Mutex<Vec<Weak<Timer>>> = Mutex::new(Vec::new());

/// Gives the calling thread its own timer, driven by a task on the current
/// (current-thread) runtime, for as long as the guard lives; the thread's
/// async sleeps then use it. Must be called from within that runtime.
/// Without timerfd (not Linux) the process-wide thread is used instead,
/// started now.
pub fn install_local() -> io::Result<LocalTimer> {
    #[cfg(not(target_os = "linux"))]
    start()?;
    #[cfg(target_os = "linux")]
    {
        let fd = crate::timerfd::TimerFd::new()?;
        let timer = Timer::new(Signal::Fd(Arc::new(fd)));
        let driver = crate::timerfd::Driver::new(Arc::clone(&timer))?;
        tokio::spawn(driver.run());
        LOCAL.with(|local| *local.borrow_mut() = Some(timer));
    }
    Ok(LocalTimer(()))
}

/// Keeps a thread's own timer installed (see [`install_local`]).
#[derive(Debug)]
pub struct LocalTimer(());

impl Drop for LocalTimer {
    fn drop(&mut self) {
        LOCAL.with(|local| local.borrow_mut().take());
    }
}

/// Why async sleeps may wake late on this platform, if they may.
pub fn precision_warning() -> Option<&'static str> {
    if cfg!(target_os = "linux") {
        None
    } else {
        Some(
            "async sleeps wait on a condition variable whose timeout precision \
             depends on this OS (microseconds are only ensured on Linux)",
        )
    }
}

/// Async sleeps registered and not yet woken nor cancelled, on any timer.
pub fn pending() -> usize {
    pending_in(None)
}

/// Sleeps registered, not yet woken nor cancelled, due between the two
/// instants if given (tests run concurrently: each counts its own range of
/// deadlines).
pub fn pending_in(range: Option<(Instant, Instant)>) -> usize {
    let timers = ALL.lock().unwrap_or_else(PoisonError::into_inner).clone();
    timers
        .iter()
        .filter_map(Weak::upgrade)
        .map(|timer| match range {
            Some((from, to)) => timer.lock().sleepers.range((from, 0)..(to, 0)).count(),
            None => timer.lock().sleepers.len(),
        })
        .sum()
}

/// A set of deadlines and what waits for the earliest one.
pub(crate) struct Timer {
    state: Mutex<State>,
    signal: Signal,
}

/// How a timer waits for its earliest deadline, and how it is told of an
/// earlier one.
enum Signal {
    /// The timer thread blocks on it; notified of an earlier deadline.
    Thread(Condvar),
    /// A serving thread's timerfd, re-armed for an earlier deadline.
    #[cfg(target_os = "linux")]
    Fd(Arc<crate::timerfd::TimerFd>),
}

/// Entries are keyed by deadline, then a sequence number (deadlines can tie).
type Key = (Instant, u64);

pub(crate) struct State {
    sleepers: BTreeMap<Key, Waker>,
    next_seq: u64,
    /// What the timer's waiter (thread or driver task) waits for: `None`
    /// while it runs (it re-reads `sleepers` before waiting again, so needs
    /// no signal), `Some(None)` when it waits for any sleeper, `Some(Some(t))`
    /// when it waits until `t`.
    waiting_until: Option<Option<Instant>>,
}

impl Timer {
    fn new(signal: Signal) -> Arc<Self> {
        let timer = Arc::new(Timer {
            state: Mutex::new(State {
                sleepers: BTreeMap::new(),
                next_seq: 0,
                waiting_until: None,
            }),
            signal,
        });
        let mut all = ALL.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|timer| timer.strong_count() > 0);
        all.push(Arc::downgrade(&timer));
        timer
    }

    /// The process-wide timer, its thread started on first use.
    fn global() -> io::Result<&'static Arc<Timer>> {
        static TIMER: OnceLock<Result<Arc<Timer>, String>> = OnceLock::new();
        let timer = TIMER.get_or_init(|| {
            std::thread::Builder::new()
                .name("speedup-timer".into())
                .spawn(|| Timer::global().map_or((), |timer| timer.run()))
                .map_err(|error| format!("cannot start the timer thread: {error}"))?;
            Ok(Timer::new(Signal::Thread(Condvar::new())))
        });
        timer
            .as_ref()
            .map_err(|error| io::Error::other(error.clone()))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked mid-way
        // (every change is a single map operation).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a sleeper; wakes the timer thread if it waits for later.
    ///
    /// Also wakes sleepers already due: on a machine so loaded that the timer
    /// thread waits for a CPU, the threads registering new sleeps (busy
    /// serving requests) fire the due ones for it, so one descheduled thread
    /// cannot hold every sleeper back.
    fn insert(&self, deadline: Instant, waker: Waker) -> Key {
        let mut state = self.lock();
        let key = (deadline, state.next_seq);
        state.next_seq += 1;
        state.sleepers.insert(key, waker);
        let now = Instant::now();
        let mut due = Vec::new();
        while let Some(entry) = state.sleepers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        if let Some(until) = state.waiting_until {
            let earlier = match until {
                Some(until) => deadline < until,
                None => true,
            };
            if earlier {
                match &self.signal {
                    Signal::Thread(earlier) => {
                        // Mark it signalled so the sleepers after it don't
                        // signal again.
                        state.waiting_until = None;
                        earlier.notify_one();
                    }
                    #[cfg(target_os = "linux")]
                    Signal::Fd(fd) => {
                        fd.arm(Some(deadline));
                        state.waiting_until = Some(Some(deadline));
                    }
                }
            }
        }
        drop(state);
        due.into_iter().for_each(Waker::wake);
        key
    }

    /// Removes the sleepers due by now from `state` into `due`; returns the
    /// earliest deadline left.
    pub(crate) fn take_due(state: &mut State, due: &mut Vec<Waker>) -> Option<Instant> {
        let now = Instant::now();
        while let Some(entry) = state.sleepers.first_entry() {
            if entry.key().0 > now {
                return Some(entry.key().0);
            }
            due.push(entry.remove());
        }
        None
    }

    /// The timer's timerfd, if it has one.
    #[cfg(target_os = "linux")]
    pub(crate) fn fd(&self) -> Option<&Arc<crate::timerfd::TimerFd>> {
        match &self.signal {
            Signal::Fd(fd) => Some(fd),
            Signal::Thread(_) => None,
        }
    }

    /// Records what the waiter waits for (see [`State::waiting_until`]).
    pub(crate) fn set_waiting(state: &mut State, until: Option<Option<Instant>>) {
        state.waiting_until = until;
    }

    /// The timer thread: wakes every sleeper whose deadline has passed, then
    /// blocks until the earliest one left (or a new earlier one).
    fn run(&self) {
        let Signal::Thread(earlier) = &self.signal else {
            return;
        };
        fine_timer_slack();
        let mut due = Vec::new();
        let mut state = self.lock();
        loop {
            let until = Timer::take_due(&mut state, &mut due);
            if !due.is_empty() {
                // Wake outside the lock: a wake may run the task inline.
                drop(state);
                due.drain(..).for_each(Waker::wake);
                state = self.lock();
                continue;
            }
            state.waiting_until = Some(until);
            state = match until {
                Some(until) => {
                    earlier
                        .wait_timeout(state, until.saturating_duration_since(Instant::now()))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => earlier.wait(state).unwrap_or_else(PoisonError::into_inner),
            };
            state.waiting_until = None;
        }
    }
}

/// One sleep: registered with the timer on first poll, removed when it
/// completes or is dropped.
struct Sleep {
    timer: Arc<Timer>,
    deadline: Instant,
    /// The registered entry, if any.
    key: Option<Key>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            self.cancel();
            return Poll::Ready(());
        }
        match self.key {
            None => {
                let key = self.timer.insert(self.deadline, cx.waker().clone());
                self.key = Some(key);
            }
            Some(key) => {
                // Polled again early (e.g. a spurious wake): keep the entry,
                // refresh the waker only if the task's changed.
                let mut state = self.timer.lock();
                match state.sleepers.get_mut(&key) {
                    Some(waker) => waker.clone_from(cx.waker()),
                    // Fired an instant before our deadline by clock skew
                    // between threads: register again.
                    None => {
                        drop(state);
                        self.key = Some(self.timer.insert(self.deadline, cx.waker().clone()));
                    }
                }
            }
        }
        Poll::Pending
    }
}

impl Sleep {
    /// Removes the entry, if the timer thread has not already.
    fn cancel(&mut self) {
        if let Some(key) = self.key.take() {
            self.timer.lock().sleepers.remove(&key);
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[cfg(target_os = "linux")]
mod timerfd;
mod wall;

pub use wall::sleep_until_wall;

#[cfg(test)]
mod tests;
