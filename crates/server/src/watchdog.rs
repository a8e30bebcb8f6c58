//! The watchdog: what a connection is doing ([`Activity`]), for its
//! timeouts and for eviction at the cap.
//!
//! hyper's own header-read timer also runs while a keep-alive connection is
//! idle, so it bounds "idle + reading the next head" together and silently
//! caps `--keep-alive` at `--header-timeout`. So the server keeps hyper's
//! timer off and times each phase itself, from an [`Activity`] per
//! connection:
//!
//! * a new connection must send its first byte within `first_byte`;
//! * an idle keep-alive connection may wait `keep_alive` for its next head;
//! * once a head's first byte has arrived (`watched` sees it), the whole
//!   head must follow within `header`;
//! * while a request is being served, no timeout runs (the handlers bound
//!   their own work).
//!
//! Every connection that is not serving a request is also listed, oldest
//! idle first, in its serving thread's shard of the idle registry (see
//! `idle`), which asks it to close ([`Activity::evict`]) when the server
//! needs room at the cap.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::idle::{IdleKey, IdleShard};

/// A connection idle for less than this is never evicted: under an idle
/// flood at the cap, connections churn fast, and a real client needs a
/// moment between its connect and its first byte. It bounds the churn
/// to `max_connections` per this period.
pub(crate) const MIN_IDLE_TO_EVICT: Duration = Duration::from_millis(50);

/// The three idle-phase timeouts of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// From accept to the first byte.
    pub(crate) first_byte: Duration,
    /// From the end of a request to the next head's first byte; `None` when
    /// keep-alive is off (hyper then closes after each response).
    pub(crate) keep_alive: Option<Duration>,
    /// From a head's first byte to its end.
    pub(crate) header: Duration,
}

/// Why a connection's watchdog closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// No first byte within `first_byte`.
    FirstByte,
    /// Idle between requests for `keep_alive`.
    KeepAlive,
    /// A head that did not complete within `header`.
    Header,
    /// Closed to make room at the connection cap.
    Evicted,
}

/// One connection's state, shared by its task, its hyper service and its IO.
///
/// The watchdog ([`Activity::expired`]) is lazy, so that a busy keep-alive
/// connection costs it nothing per request: it sleeps until the deadline it
/// last computed (`armed`), and a change of state wakes it only when that
/// change could make a deadline come *earlier* (or one appear where it
/// waits for none). A request starting removes the deadline, and one ending
/// moves it later, so neither wakes it; when it wakes at a deadline that
/// has since moved, it looks again and sleeps on.
#[derive(Debug)]
pub(crate) struct Activity {
    state: Mutex<State>,
    /// Wakes the watchdog when a deadline may have come earlier.
    changed: Notify,
    timeouts: Timeouts,
    /// Where it is listed while idle: its serving thread's shard.
    idle: Arc<IdleShard>,
}

/// Whether, and how firmly, the server asked a connection to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eviction {
    /// Not asked.
    No,
    /// Asked, unless bytes of a request wait unread in its socket, which
    /// only the connection's own task looks at ([`Activity::keep_if`]).
    Polite,
    /// Asked, whatever is on the way.
    Regardless,
}

#[derive(Debug)]
struct State {
    /// A request is being served.
    busy: bool,
    /// At least one request has been served or started.
    used: bool,
    /// The server asked this connection to close while idle.
    evicted: Eviction,
    /// When the connection opened or its last request finished.
    idle_since: Instant,
    /// When the first byte of the next head arrived, if it has.
    head_since: Option<Instant>,
    /// Its place in the idle list while it is idle.
    idle_key: Option<IdleKey>,
    /// What the watchdog sleeps until: `Some(None)` when it waits for a
    /// change only, `None` while it is not waiting (it will look again).
    armed: Option<Option<Instant>>,
}

impl State {
    /// The watchdog's next deadline and what it means, if one runs now.
    fn deadline(&self, timeouts: &Timeouts) -> Option<(Instant, Expired)> {
        if self.busy {
            None
        } else if let Some(head_since) = self.head_since {
            Some((head_since + timeouts.header, Expired::Header))
        } else if !self.used {
            Some((self.idle_since + timeouts.first_byte, Expired::FirstByte))
        } else {
            timeouts
                .keep_alive
                .map(|idle| (self.idle_since + idle, Expired::KeepAlive))
        }
    }

    /// Whether the watchdog must look again now that a deadline may be
    /// `now + after` (as soon as): only if it waits for something later.
    fn sooner(&self, now: Instant, after: Option<Duration>) -> bool {
        match (self.armed, after) {
            (Some(None), Some(_)) => true,
            (Some(Some(armed)), Some(after)) => now + after < armed,
            _ => false,
        }
    }
}

impl Activity {
    /// A new, idle connection, listed in `idle`.
    pub(crate) fn new(idle: Arc<IdleShard>, timeouts: Timeouts) -> Arc<Self> {
        let now = Instant::now();
        Arc::new_cyclic(|me| {
            let idle_key = Some(idle.open(me.clone(), now));
            Self {
                state: Mutex::new(State {
                    busy: false,
                    used: false,
                    evicted: Eviction::No,
                    idle_since: now,
                    head_since: None,
                    idle_key,
                    armed: None,
                }),
                changed: Notify::new(),
                timeouts,
                idle,
            }
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain data, valid even if a holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the server asked the connection to close while idle.
    #[cfg(test)]
    pub(crate) fn evicted(&self) -> bool {
        self.lock().evicted != Eviction::No
    }

    /// Whether the connection ever started a request.
    pub(crate) fn used(&self) -> bool {
        self.lock().used
    }

    /// Marks a request as started; the guard marks it finished when dropped
    /// (also when the client disconnects and hyper drops the handler).
    ///
    /// No deadline runs while busy, so the watchdog is not woken: if its
    /// deadline comes first, it finds the connection busy and waits.
    pub(crate) fn begin(self: &Arc<Self>) -> BusyGuard {
        let mut state = self.lock();
        state.busy = true;
        state.used = true;
        state.head_since = None;
        if let Some(key) = state.idle_key.take() {
            self.idle.remove(key);
        }
        drop(state);
        BusyGuard(Arc::clone(self))
    }

    /// Whether a request is being served.
    pub(crate) fn busy(&self) -> bool {
        self.lock().busy
    }

    /// Bytes arrived: if the connection was idle, a head has begun.
    pub(crate) fn bytes_arrived(&self) {
        let mut state = self.lock();
        if state.busy || state.head_since.is_some() {
            return;
        }
        let now = Instant::now();
        state.head_since = Some(now);
        let sooner = state.sooner(now, Some(self.timeouts.header));
        drop(state);
        if sooner {
            self.changed.notify_one();
        }
    }

    /// Asks an idle connection to close; false if it is serving a request,
    /// has been idle for less than [`MIN_IDLE_TO_EVICT`], or, unless `any`,
    /// has bytes of a request on the way: read already, or (its task will
    /// look, see [`Activity::keep_if`]) still in the socket. A client that
    /// just connected and sent its request, before its task first ran, must
    /// not lose it.
    pub(crate) fn evict(&self, any: bool) -> bool {
        let mut state = self.lock();
        if state.busy
            || state.idle_since.elapsed() < MIN_IDLE_TO_EVICT
            || (!any && state.head_since.is_some())
        {
            return false;
        }
        state.evicted = if any {
            Eviction::Regardless
        } else {
            Eviction::Polite
        };
        if let Some(key) = state.idle_key.take() {
            self.idle.remove(key);
        }
        drop(state);
        self.changed.notify_one();
        true
    }

    /// When the watchdog said [`Expired::Evicted`]: keeps the connection if
    /// the eviction was polite and `unread()` (bytes of a request wait in
    /// the socket, which the connection's task looks at, on its own
    /// thread). The connection is then listed idle again with a head on
    /// the way, and the server makes room with another. Returns whether it
    /// stays.
    pub(crate) fn keep_if(self: &Arc<Self>, unread: impl FnOnce() -> bool) -> bool {
        let mut state = self.lock();
        if state.busy || state.evicted != Eviction::Polite || !unread() {
            return false;
        }
        state.evicted = Eviction::No;
        state.head_since.get_or_insert_with(Instant::now);
        if state.idle_key.is_none() {
            let since = state.idle_since;
            state.idle_key = Some(self.idle.insert(Arc::downgrade(self), since));
        }
        true
    }

    /// Resolves when one of `timeouts` runs out or the connection is
    /// evicted, never while a request is being served.
    pub(crate) async fn expired(&self) -> Expired {
        // One timer for the connection's life, moved instead of replaced.
        let mut timer = std::pin::pin!(tokio::time::sleep_until(Instant::now()));
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            // Listen before looking, so no change between the two is missed.
            changed.as_mut().enable();
            let next = {
                let mut state = self.lock();
                if state.evicted != Eviction::No && !state.busy {
                    return Expired::Evicted;
                }
                let next = state.deadline(&self.timeouts);
                state.armed = Some(next.map(|(deadline, _)| deadline));
                next
            };
            match next {
                Some((deadline, why)) if Instant::now() >= deadline => return why,
                Some((deadline, _)) => {
                    if timer.deadline() != deadline {
                        timer.as_mut().reset(deadline);
                    }
                    tokio::select! {
                        biased;
                        () = changed => {}
                        () = timer.as_mut() => {}
                    }
                }
                None => changed.await,
            }
            self.lock().armed = None;
        }
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        let key = self.lock().idle_key.take();
        self.idle.close(key);
    }
}

/// A request in progress; dropping it makes the connection idle again.
pub(crate) struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        let mut state = activity.lock();
        let now = Instant::now();
        state.busy = false;
        state.idle_since = now;
        state.head_since = None;
        if state.idle_key.is_none() {
            // Nested lock order is always state, then idle list.
            state.idle_key = Some(activity.idle.insert(Arc::downgrade(activity), now));
        }
        // A watchdog waiting for the end of the request, or for a later
        // deadline than the keep-alive one now running, must look again.
        let evicted = state.evicted != Eviction::No;
        let sooner = evicted || state.sooner(now, activity.timeouts.keep_alive);
        drop(state);
        if sooner {
            activity.changed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shard of a registry of its own.
    fn shard() -> Arc<IdleShard> {
        Arc::clone(crate::idle::IdleRegistry::new(1).shard(0))
    }

    const TIMEOUTS: Timeouts = Timeouts {
        first_byte: Duration::from_secs(1),
        keep_alive: Some(Duration::from_secs(20)),
        header: Duration::from_secs(10),
    };

    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_own_timeout() {
        let activity = Activity::new(shard(), TIMEOUTS);
        let start = Instant::now();
        assert_eq!(activity.expired().await, Expired::FirstByte);
        assert_eq!(start.elapsed(), Duration::from_secs(1));

        drop(activity.begin());
        let idle = Instant::now();
        assert_eq!(activity.expired().await, Expired::KeepAlive);
        assert_eq!(
            idle.elapsed(),
            Duration::from_secs(20),
            "not capped by header"
        );

        activity.bytes_arrived();
        let head = Instant::now();
        assert_eq!(activity.expired().await, Expired::Header);
        assert_eq!(head.elapsed(), Duration::from_secs(10));
    }

    /// The lazy watchdog sleeps until the deadline it last saw; a change
    /// that brings a deadline earlier while it sleeps must still wake it.
    #[tokio::test(start_paused = true)]
    async fn a_sleeping_watchdog_sees_deadlines_come_earlier() {
        let timeouts = Timeouts {
            first_byte: Duration::from_secs(30),
            keep_alive: Some(Duration::from_secs(2)),
            header: Duration::from_secs(1),
        };
        let activity = Activity::new(shard(), timeouts);
        let watchdog = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { activity.expired().await }
        });
        // Asleep until the first-byte deadline, 30 s away.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let start = Instant::now();
        // A request, then 2 s of keep-alive: not the 29 s left.
        let busy = activity.begin();
        tokio::time::sleep(Duration::from_secs(40)).await;
        assert!(!watchdog.is_finished(), "no timeout while busy");
        drop(busy);
        assert_eq!(watchdog.await.unwrap(), Expired::KeepAlive);
        assert_eq!(start.elapsed(), Duration::from_secs(42));

        // Asleep until the keep-alive deadline, 2 s away; a head's first
        // byte brings it to 1 s.
        let watchdog = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { activity.expired().await }
        });
        drop(activity.begin());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let head = Instant::now();
        activity.bytes_arrived();
        assert_eq!(watchdog.await.unwrap(), Expired::Header);
        assert_eq!(head.elapsed(), Duration::from_secs(1));
    }

    /// A polite eviction is withdrawn by the connection's task when bytes
    /// of a request wait in its socket; the connection is listed again,
    /// with a head on the way, so a second pass may still take it.
    #[tokio::test(start_paused = true)]
    async fn eviction_spares_a_request_waiting_in_the_socket() {
        let registry = crate::idle::IdleRegistry::new(1);
        let activity = Activity::new(Arc::clone(registry.shard(0)), TIMEOUTS);
        tokio::time::advance(MIN_IDLE_TO_EVICT).await;
        assert!(registry.evict_oldest());
        assert_eq!(activity.expired().await, Expired::Evicted);
        assert!(!activity.keep_if(|| false), "nothing unread: it goes");
        assert!(activity.keep_if(|| true), "a request waits: it stays");
        assert!(!activity.evicted());
        assert_eq!(registry.len(), 1, "listed again");
        // With a head on the way, only the second pass takes it, for good.
        assert!(registry.evict_oldest());
        assert_eq!(activity.expired().await, Expired::Evicted);
        assert!(!activity.keep_if(|| true));
    }
}
