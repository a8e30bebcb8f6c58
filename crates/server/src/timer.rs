//! The async endpoint's timer: one thread and one ordered set of deadlines
//! for every sleeper, precise to tens of microseconds.
//!
//! tokio's timer wheel has millisecond slots and rounds every deadline up to
//! the next one, and the reactor parks with a timeout in whole milliseconds:
//! a 100 ms `tokio::time::sleep` wakes 1–2 ms late, and that lateness lands
//! in every async response time the lab measures. A timerfd per sleep is on
//! time but costs six syscalls and a file descriptor per sleeper.
//!
//! So one timer thread keeps all deadlines in a `BTreeMap` (ordered, O(log n)
//! insert and cancel) and blocks on a condition variable until the earliest
//! one. A sleep registers its deadline and waker under a mutex; the timer
//! thread is only signalled (one futex wake) when the new deadline is earlier
//! than the one it waits for, which for a stream of equal sleeps is almost
//! never: zero or one syscall per sleep, no descriptor per sleeper. Dropping
//! a sleep (the client went away) removes its entry at once.
//!
//! Precision: on Linux the condition variable's timeout is a futex with an
//! absolute `CLOCK_MONOTONIC` deadline (an hrtimer), and the timer thread
//! sets its timer slack to 1 ns, so it wakes within microseconds. Elsewhere
//! the OS's timeout precision applies; [`precision_warning`] says so, and the
//! server logs it at startup.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Sleeps `duration` without holding a thread. Zero yields once, as
/// `asyncio.sleep(0)` does. Fails only if the timer thread cannot start.
pub(crate) async fn sleep(duration: Duration) -> io::Result<()> {
    if duration.is_zero() {
        tokio::task::yield_now().await;
        return Ok(());
    }
    let timer = Timer::get()?;
    // A deadline too far to represent is one we never reach: sleep a year.
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600));
    Sleep {
        timer,
        deadline,
        key: None,
    }
    .await;
    Ok(())
}

/// Starts the timer thread now (instead of at the first sleep), so a server
/// that cannot have one fails at startup rather than on a request.
pub(crate) fn start() -> io::Result<()> {
    Timer::get().map(|_| ())
}

/// Why async sleeps may wake late on this platform, if they may.
pub(crate) fn precision_warning() -> Option<&'static str> {
    if cfg!(target_os = "linux") {
        None
    } else {
        Some(
            "async sleeps wait on a condition variable whose timeout precision \
             depends on this OS (microseconds are only ensured on Linux)",
        )
    }
}

/// Async sleeps registered and not yet woken nor cancelled.
pub(crate) fn pending() -> usize {
    Timer::get().map_or(0, |timer| timer.lock().sleepers.len())
}

/// Sleeps registered, not yet woken nor cancelled, due after `after` (for
/// tests, which run concurrently: each counts its own range of deadlines).
#[cfg(test)]
pub(crate) fn pending_after(after: Instant) -> usize {
    Timer::get().map_or(0, |timer| {
        let state = timer.lock();
        state.sleepers.range((after, 0)..).count()
    })
}

/// The process-wide timer: the deadlines and the thread that fires them.
struct Timer {
    state: Mutex<State>,
    /// Signalled when a deadline earlier than the timer thread's arrives.
    earlier: Condvar,
}

/// Entries are keyed by deadline, then a sequence number (deadlines can tie).
type Key = (Instant, u64);

struct State {
    sleepers: BTreeMap<Key, Waker>,
    next_seq: u64,
    /// What the timer thread is blocked waiting for: `None` while it runs
    /// (it re-reads `sleepers` before blocking again, so needs no signal),
    /// `Some(None)` when it waits for any sleeper, `Some(Some(t))` when it
    /// waits until `t`.
    waiting_until: Option<Option<Instant>>,
}

impl Timer {
    /// The timer, its thread started on first use.
    fn get() -> io::Result<&'static Timer> {
        static TIMER: OnceLock<Result<Timer, String>> = OnceLock::new();
        let timer = TIMER.get_or_init(|| {
            std::thread::Builder::new()
                .name("speedup-timer".into())
                .spawn(|| Timer::get().map_or((), Timer::run))
                .map_err(|error| format!("cannot start the timer thread: {error}"))?;
            Ok(Timer {
                state: Mutex::new(State {
                    sleepers: BTreeMap::new(),
                    next_seq: 0,
                    waiting_until: None,
                }),
                earlier: Condvar::new(),
            })
        });
        timer
            .as_ref()
            .map_err(|error| io::Error::other(error.clone()))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
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
                // Mark it signalled so the sleepers after it don't signal again.
                state.waiting_until = None;
                self.earlier.notify_one();
            }
        }
        drop(state);
        due.into_iter().for_each(Waker::wake);
        key
    }

    /// The timer thread: wakes every sleeper whose deadline has passed, then
    /// blocks until the earliest one left (or a new earlier one).
    fn run(&self) {
        #[cfg(target_os = "linux")]
        // SAFETY: plain prctl on the calling thread; 1 ns slack means the
        // kernel does not batch our wake-up with others (default 50 µs).
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
        }
        let mut due = Vec::new();
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            while let Some(entry) = state.sleepers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            if !due.is_empty() {
                // Wake outside the lock: a wake may run the task inline.
                drop(state);
                due.drain(..).for_each(Waker::wake);
                state = self.lock();
                continue;
            }
            let until = state.sleepers.first_key_value().map(|(key, _)| key.0);
            state.waiting_until = Some(until);
            state = match until {
                Some(until) => {
                    self.earlier
                        .wait_timeout(state, until.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .earlier
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
            };
            state.waiting_until = None;
        }
    }
}

/// One sleep: registered with the timer on first poll, removed when it
/// completes or is dropped.
struct Sleep {
    timer: &'static Timer,
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{pending_after, sleep};

    #[tokio::test]
    async fn sleeps_at_least_the_duration() {
        for ms in [0, 1, 20] {
            let d = Duration::from_millis(ms);
            let start = Instant::now();
            sleep(d).await.expect("timer");
            assert!(start.elapsed() >= d, "{ms} ms sleep woke early");
        }
    }

    #[tokio::test]
    async fn subsecond_and_whole_seconds_arm_correctly() {
        let start = Instant::now();
        sleep(Duration::new(0, 1_500_000)).await.expect("timer");
        assert!(start.elapsed() >= Duration::from_micros(1500));
    }

    /// Median of the lateness of 30 sleeps of 2.3 ms, each measured by `late`.
    async fn median_lateness<F, Fut>(mut late: F) -> Duration
    where
        F: FnMut(Duration) -> Fut,
        Fut: std::future::Future<Output = Duration>,
    {
        let mut all = Vec::new();
        for _ in 0..30 {
            all.push(late(Duration::from_micros(2_300)).await);
        }
        all.sort();
        all[all.len() / 2]
    }

    /// tokio's own timer is 1–2 ms late; ours must be well under 1 ms late
    /// (median). On a machine so loaded that the OS itself wakes a sleeping
    /// thread late, the bound is relative to that: the OS's own lateness
    /// (`std::thread::sleep`, measured alongside) plus 0.7 ms. Best of three
    /// attempts, so one burst of load elsewhere does not decide.
    #[tokio::test]
    async fn wakes_well_under_a_millisecond_late() {
        let mut attempts = Vec::new();
        for _ in 0..3 {
            let ours = median_lateness(|d| async move {
                let start = Instant::now();
                sleep(d).await.expect("timer");
                start.elapsed() - d
            })
            .await;
            let os = median_lateness(|d| async move {
                tokio::task::spawn_blocking(move || {
                    let start = Instant::now();
                    std::thread::sleep(d);
                    start.elapsed() - d
                })
                .await
                .expect("blocking sleep")
            })
            .await;
            if ours < Duration::from_micros(500) || ours < os + Duration::from_micros(700) {
                return;
            }
            attempts.push((ours, os));
        }
        panic!("median lateness (ours, the OS's thread sleep) in three attempts: {attempts:?}");
    }

    /// Many sleepers at once, registered out of deadline order, all wake,
    /// none early, and leave nothing registered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_sleepers_all_wake_on_time() {
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..5_000u64 {
            // Deadlines 20..70 ms, shuffled by a multiplicative step.
            let d = Duration::from_micros(20_000 + (i * 7_919) % 50_000);
            tasks.spawn(async move {
                let begun = Instant::now();
                sleep(d).await.expect("timer");
                begun.elapsed() >= d
            });
        }
        let mut on_time = 0;
        while let Some(woke) = tasks.join_next().await {
            on_time += usize::from(woke.expect("sleeper task"));
        }
        assert_eq!(on_time, 5_000, "some sleepers woke early");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    /// A dropped sleep (what hyper does to the handler when its client goes
    /// away) leaves no entry behind.
    #[tokio::test]
    async fn cancelled_sleeps_leave_nothing_registered() {
        // No other test sleeps this long, so these entries are ours.
        let ours = Instant::now() + Duration::from_secs(1800);
        let pending = || pending_after(ours);
        let sleepers: Vec<_> = (0..100)
            .map(|_| tokio::spawn(sleep(Duration::from_secs(3600))))
            .collect();
        tokio::task::yield_now().await;
        // Bounded wait for all of them to be polled once (registered).
        let until = Instant::now() + Duration::from_secs(10);
        while pending() < 100 && Instant::now() < until {
            tokio::task::yield_now().await;
        }
        assert_eq!(pending(), 100, "sleepers never registered");
        for sleeper in &sleepers {
            sleeper.abort();
        }
        for sleeper in sleepers {
            assert!(sleeper.await.is_err_and(|error| error.is_cancelled()));
        }
        assert_eq!(pending(), 0, "sleeps still registered after cancelling");
    }
}
