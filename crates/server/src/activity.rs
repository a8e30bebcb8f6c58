//! What a connection is doing, for its timeouts and for eviction at the cap.
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
//! idle first, in the server's [`IdleList`]: at the connection cap the
//! server closes the connection idle the longest to make room, so idle
//! sockets cannot starve clients that have a request to send.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How many of the oldest idle connections eviction looks at.
const EVICT_SCAN: usize = 64;

/// A connection idle for less than this is never evicted: under an idle
/// flood at the cap, connections churn fast, and a real client needs a
/// moment between its connect and its first byte. It bounds the churn
/// to `max_connections` per this period.
const MIN_IDLE_TO_EVICT: Duration = Duration::from_millis(50);

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
    idle: Arc<IdleList>,
    /// The socket, to look for unread bytes before evicting.
    #[cfg(unix)]
    fd: Option<std::os::fd::RawFd>,
}

#[derive(Debug)]
struct State {
    /// A request is being served.
    busy: bool,
    /// At least one request has been served or started.
    used: bool,
    /// The server asked this connection to close while idle.
    evicted: bool,
    /// When the connection opened or its last request finished.
    idle_since: Instant,
    /// When the first byte of the next head arrived, if it has.
    head_since: Option<Instant>,
    /// Its place in the idle list while it is idle.
    idle_key: Option<u64>,
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
    /// A new, idle connection on socket `fd` (if known), listed in `idle`.
    pub(crate) fn new(
        idle: Arc<IdleList>,
        timeouts: Timeouts,
        #[cfg(unix)] fd: Option<std::os::fd::RawFd>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| {
            let idle_key = Some(idle.open(me.clone()));
            Self {
                state: Mutex::new(State {
                    busy: false,
                    used: false,
                    evicted: false,
                    idle_since: Instant::now(),
                    head_since: None,
                    idle_key,
                    armed: None,
                }),
                changed: Notify::new(),
                timeouts,
                idle,
                #[cfg(unix)]
                fd,
            }
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain data, valid even if a holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// has bytes of a request on the way (read or still in the socket: a
    /// client that just connected and sent its request, before its task
    /// first ran, must not lose it).
    fn evict(&self, any: bool) -> bool {
        let mut state = self.lock();
        if state.busy
            || state.idle_since.elapsed() < MIN_IDLE_TO_EVICT
            || (!any && (state.head_since.is_some() || self.unread_bytes()))
        {
            return false;
        }
        state.evicted = true;
        if let Some(key) = state.idle_key.take() {
            self.idle.remove(key);
        }
        drop(state);
        self.changed.notify_one();
        true
    }

    /// Whether the socket holds bytes not read yet.
    fn unread_bytes(&self) -> bool {
        #[cfg(unix)]
        if let Some(fd) = self.fd {
            let mut unread: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int. The fd belongs to this live
            // connection (at worst just closed: the call then fails or
            // asks an unrelated socket, which only misjudges one eviction).
            let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut unread) };
            return rc == 0 && unread > 0;
        }
        false
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
                if state.evicted && !state.busy {
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
            state.idle_key = Some(activity.idle.insert(Arc::downgrade(activity)));
        }
        // A watchdog waiting for the end of the request, or for a later
        // deadline than the keep-alive one now running, must look again.
        let sooner = state.evicted || state.sooner(now, activity.timeouts.keep_alive);
        drop(state);
        if sooner {
            activity.changed.notify_one();
        }
    }
}

/// The server's idle connections, oldest idle first.
#[derive(Debug, Default)]
pub(crate) struct IdleList {
    inner: Mutex<IdleInner>,
    /// Wakes an accept waiting at the cap for something to evict.
    listed: Notify,
    /// How many accepts wait on `listed`: a connection going idle (every
    /// request's end) signals only if one does, since `notify_waiters`
    /// takes a lock shared by every serving thread.
    waiting: AtomicUsize,
}

/// An accept counted in [`IdleList::waiting`] while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Default)]
struct IdleInner {
    next_key: u64,
    idle: BTreeMap<u64, Weak<Activity>>,
    /// Connections open, idle or not: counted under the lock a connection
    /// takes anyway as it opens and closes.
    open: usize,
}

impl IdleList {
    fn lock(&self) -> MutexGuard<'_, IdleInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new connection open and lists it idle.
    fn open(&self, activity: Weak<Activity>) -> u64 {
        self.lock().open += 1;
        self.insert(activity)
    }

    /// Counts a connection closed, and takes it off the list if listed.
    fn close(&self, key: Option<u64>) {
        let mut inner = self.lock();
        inner.open = inner.open.saturating_sub(1);
        if let Some(key) = key {
            inner.idle.remove(&key);
        }
    }

    fn insert(&self, activity: Weak<Activity>) -> u64 {
        let mut inner = self.lock();
        let key = inner.next_key;
        inner.next_key += 1;
        inner.idle.insert(key, activity);
        drop(inner);
        // An accept that starts waiting after this load looks at the list
        // (`until_any`) or only wants later arrivals (`newly_idle`).
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.listed.notify_waiters();
        }
        key
    }

    fn remove(&self, key: u64) {
        self.lock().idle.remove(&key);
    }

    /// How many connections are idle.
    pub(crate) fn len(&self) -> usize {
        self.lock().idle.len()
    }

    /// How many connections are open, and how many of them are not idle
    /// (serving a request, or evicted and closing).
    pub(crate) fn open_and_busy(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.open, inner.open.saturating_sub(inner.idle.len()))
    }

    /// Resolves once at least one connection is idle.
    pub(crate) async fn until_any(&self) {
        let _waiting = Waiting::new(&self.waiting);
        let listed = self.listed.notified();
        let mut listed = std::pin::pin!(listed);
        listed.as_mut().enable();
        if self.len() == 0 {
            listed.await;
        }
    }

    /// Resolves when a connection next goes idle.
    pub(crate) async fn newly_idle(&self) {
        let _waiting = Waiting::new(&self.waiting);
        self.listed.notified().await;
    }

    /// Asks the connection idle the longest to close; false if none is idle.
    ///
    /// Among the oldest few, a connection with no request on the way goes
    /// first; failing that, the oldest one not serving a request (so a
    /// flood of slow heads cannot hold the cap either).
    pub(crate) fn evict_oldest(&self) -> bool {
        // Never hold the list's lock while taking a connection's.
        let oldest: Vec<(u64, Weak<Activity>)> = self
            .lock()
            .idle
            .iter()
            .take(EVICT_SCAN)
            .map(|(key, activity)| (*key, activity.clone()))
            .collect();
        for any in [false, true] {
            for (key, activity) in &oldest {
                match activity.upgrade() {
                    Some(activity) if activity.evict(any) => return true,
                    Some(_) => {}
                    None => self.remove(*key),
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        first_byte: Duration::from_secs(1),
        keep_alive: Some(Duration::from_secs(20)),
        header: Duration::from_secs(10),
    };

    #[tokio::test(start_paused = true)]
    async fn eviction_takes_the_oldest_idle_and_skips_busy_ones() {
        let idle = Arc::new(IdleList::default());
        let first = Activity::new(Arc::clone(&idle), TIMEOUTS, None);
        let second = Activity::new(Arc::clone(&idle), TIMEOUTS, None);
        let third = Activity::new(Arc::clone(&idle), TIMEOUTS, None);
        let busy = first.begin();
        assert_eq!(idle.len(), 2);
        assert!(!idle.evict_oldest(), "too young to evict");
        tokio::time::advance(MIN_IDLE_TO_EVICT).await;
        assert!(idle.evict_oldest());
        assert!(second.lock().evicted, "the oldest idle one goes first");
        assert!(!first.lock().evicted);
        drop(busy);
        // `first` is idle again, now the most recent: `third` goes next.
        tokio::time::advance(MIN_IDLE_TO_EVICT).await;
        assert!(idle.evict_oldest());
        assert!(third.lock().evicted);
        drop(third);
        assert!(idle.evict_oldest());
        assert!(first.lock().evicted);
        assert!(!idle.evict_oldest());
    }

    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_own_timeout() {
        let activity = Activity::new(Arc::new(IdleList::default()), TIMEOUTS, None);
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
        let activity = Activity::new(Arc::new(IdleList::default()), timeouts, None);
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
}
