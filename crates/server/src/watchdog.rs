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
//! HTTP/2 serves many requests (streams) at once on one connection, and a
//! client may send frames that are not requests (SETTINGS, PING,
//! WINDOW_UPDATE), so the same timeouts are counted differently there
//! (`watched` follows the frames, see `frames`):
//!
//! * the connection is busy while any stream is being served (a count, not
//!   a flag): one stream ending while another runs does not make it idle,
//!   so no idle timeout cuts a stream in flight;
//! * the preface is not a request: the first byte of the first HEADERS
//!   frame is what `first_byte` waits for, and frames that start no
//!   request neither start the header timeout nor hold off the idle one;
//! * the header timeout runs from a HEADERS frame to the end of its header
//!   block, even while other streams are in flight: nothing else may come
//!   between a block's frames, so a block that never ends (a slowloris)
//!   stalls every request of the connection, and the connection is cut;
//! * an idle connection's keep-alive ends with a GOAWAY (hyper's graceful
//!   shutdown) rather than a silent close, so a client that sent a request
//!   meanwhile knows whether it was taken; the connection is closed when
//!   hyper is done (the client answered its PING, no stream is left), or
//!   [`GOAWAY_WAIT`] after it is idle again. With keep-alive off, that
//!   happens as soon as no stream is in flight; at shutdown, the same.
//!
//! Every connection that is not serving a request is also listed, oldest
//! idle first, in its serving thread's shard of the idle registry (see
//! `idle`), which asks it to close ([`Activity::evict`]) when the server
//! needs room at the cap.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::frames::Fed;
use crate::idle::{IdleKey, IdleShard};

/// A connection idle for less than this is never evicted: under an idle
/// flood at the cap, connections churn fast, and a real client needs a
/// moment between its connect and its first byte. It bounds the churn
/// to `max_connections` per this period.
pub(crate) const MIN_IDLE_TO_EVICT: Duration = Duration::from_millis(50);

/// How long an idle HTTP/2 connection told to go away (GOAWAY) has to
/// finish: the client's answer to hyper's PING (one round trip) lets hyper
/// send the last GOAWAY and close; a client that never answers is cut then.
pub(crate) const GOAWAY_WAIT: Duration = Duration::from_secs(1);

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
    /// An HTTP/2 connection told to go away that did not finish within
    /// [`GOAWAY_WAIT`] of being idle.
    GoAway,
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
    /// Requests being served: at most one over HTTP/1, one per stream in
    /// flight over HTTP/2.
    in_flight: usize,
    /// At least one request has been served or started.
    used: bool,
    /// The connection speaks HTTP/2 (its preface arrived).
    http2: bool,
    /// An HTTP/2 connection told to go away (GOAWAY) at its keep-alive.
    going_away: bool,
    /// The server asked this connection to close while idle.
    evicted: Eviction,
    /// When the connection opened or its last request finished.
    idle_since: Instant,
    /// When the first byte of the next head arrived, if it has (HTTP/2:
    /// when the header block now open began).
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
        let busy = self.in_flight > 0;
        // Over HTTP/1 a head is only ever open while idle; an HTTP/2 block
        // is timed whatever else is in flight (see the module).
        if let Some(head_since) = self.head_since.filter(|_| self.http2 || !busy) {
            Some((head_since + timeouts.header, Expired::Header))
        } else if busy {
            None
        } else if self.going_away {
            Some((self.idle_since + GOAWAY_WAIT, Expired::GoAway))
        } else if !self.used {
            Some((self.idle_since + timeouts.first_byte, Expired::FirstByte))
        } else {
            // HTTP/2 without keep-alive: away as soon as idle.
            let idle = timeouts.keep_alive.or(self.http2.then_some(Duration::ZERO));
            idle.map(|idle| (self.idle_since + idle, Expired::KeepAlive))
        }
    }

    /// Whether the watchdog must look again now that a deadline may be
    /// `now + after` (as soon as): only if it waits for something later.
    fn sooner(&self, now: Instant, after: Option<Duration>) -> bool {
        self.sooner_than(after.map(|after| now + after))
    }

    /// Whether the watchdog must look again for a deadline at `deadline`:
    /// only if it waits for something later, or for nothing.
    fn sooner_than(&self, deadline: Option<Instant>) -> bool {
        match (self.armed, deadline) {
            (Some(None), Some(_)) => true,
            (Some(Some(armed)), Some(deadline)) => deadline < armed,
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
                    in_flight: 0,
                    used: false,
                    http2: false,
                    going_away: false,
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

    /// Whether the connection speaks HTTP/2.
    pub(crate) fn http2(&self) -> bool {
        self.lock().http2
    }

    /// Marks a request as started; the guard marks it finished when dropped
    /// (also when the client disconnects and hyper drops the handler).
    ///
    /// No idle deadline runs while busy, so the watchdog is not woken: if
    /// its deadline comes first, it finds the connection busy and waits.
    pub(crate) fn begin(self: &Arc<Self>) -> BusyGuard {
        let mut state = self.lock();
        state.in_flight += 1;
        state.used = true;
        // HTTP/2's blocks are followed frame by frame (`frames_arrived`).
        if !state.http2 {
            state.head_since = None;
        }
        if let Some(key) = state.idle_key.take() {
            self.idle.remove(key);
        }
        drop(state);
        BusyGuard(Arc::clone(self))
    }

    /// Whether a request is being served.
    pub(crate) fn busy(&self) -> bool {
        self.lock().in_flight > 0
    }

    /// Bytes arrived (HTTP/1, or the preface so far): if the connection was
    /// idle, a head has begun.
    pub(crate) fn bytes_arrived(&self) {
        let mut state = self.lock();
        if state.in_flight > 0 || state.head_since.is_some() {
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

    /// HTTP/2 frames arrived (see `frames`): the preface (the connection is
    /// HTTP/2, and what it sent so far started no request), or a header
    /// block closing (its request begins, or h2 refuses it), or one open at
    /// the end (opened now if another closed, or none was open).
    pub(crate) fn frames_arrived(&self, fed: Fed) {
        if fed == Fed::default() {
            // Frames outside any block (DATA, PING, WINDOW_UPDATE, ...).
            return;
        }
        let mut state = self.lock();
        if fed.preface {
            state.http2 = true;
            state.head_since = None;
        }
        if fed.closed {
            state.head_since = None;
        }
        if fed.open && state.head_since.is_none() {
            state.head_since = Some(Instant::now());
        }
        // The preface may bring the first-byte deadline back; a block, the
        // header one. Later deadlines need no wake-up.
        let deadline = state.deadline(&self.timeouts).map(|(at, _)| at);
        let sooner = state.sooner_than(deadline);
        drop(state);
        if sooner {
            self.changed.notify_one();
        }
    }

    /// An HTTP/2 connection was told to go away (GOAWAY: at its keep-alive,
    /// or at shutdown): it gets [`GOAWAY_WAIT`] once idle
    /// ([`Expired::GoAway`]), instead of another keep-alive.
    pub(crate) fn going_away(&self) {
        let mut state = self.lock();
        state.going_away = true;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
        }
        let deadline = state.deadline(&self.timeouts).map(|(at, _)| at);
        let sooner = state.sooner_than(deadline);
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
        if state.in_flight > 0
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
        if state.in_flight > 0 || state.evicted != Eviction::Polite || !unread() {
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
                if state.evicted != Eviction::No && state.in_flight == 0 {
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

/// A request in progress; dropping it makes the connection idle again,
/// once no other request (HTTP/2 stream) is in flight.
pub(crate) struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        let mut state = activity.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight > 0 {
            return;
        }
        let now = Instant::now();
        state.idle_since = now;
        if !state.http2 {
            state.head_since = None;
        }
        if state.idle_key.is_none() {
            // Nested lock order is always state, then idle list.
            state.idle_key = Some(activity.idle.insert(Arc::downgrade(activity), now));
        }
        // A watchdog waiting for the end of the request, or for a later
        // deadline than the keep-alive one now running, must look again.
        let evicted = state.evicted != Eviction::No;
        let deadline = state.deadline(&activity.timeouts).map(|(at, _)| at);
        let sooner = evicted || state.sooner_than(deadline);
        drop(state);
        if sooner {
            activity.changed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests;
