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
//! * once a head's first byte has arrived ([`Watched`] sees it), the whole
//!   head must follow within `header`;
//! * while a request is being served, no timeout runs (the handlers bound
//!   their own work).
//!
//! Every connection that is not serving a request is also listed, oldest
//! idle first, in the server's [`IdleList`]: at the connection cap the
//! server closes the connection idle the longest to make room, so idle
//! sockets cannot starve clients that have a request to send.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
#[derive(Debug)]
pub(crate) struct Activity {
    state: Mutex<State>,
    /// Wakes the watchdog when the state changes.
    changed: Notify,
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
}

impl Activity {
    /// A new, idle connection on socket `fd` (if known), listed in `idle`.
    pub(crate) fn new(
        idle: Arc<IdleList>,
        #[cfg(unix)] fd: Option<std::os::fd::RawFd>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| {
            let idle_key = Some(idle.insert(me.clone()));
            Self {
                state: Mutex::new(State {
                    busy: false,
                    used: false,
                    evicted: false,
                    idle_since: Instant::now(),
                    head_since: None,
                    idle_key,
                }),
                changed: Notify::new(),
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
    pub(crate) fn begin(self: &Arc<Self>) -> BusyGuard {
        let mut state = self.lock();
        state.busy = true;
        state.used = true;
        state.head_since = None;
        if let Some(key) = state.idle_key.take() {
            self.idle.remove(key);
        }
        drop(state);
        self.changed.notify_one();
        BusyGuard(Arc::clone(self))
    }

    /// Bytes arrived: if the connection was idle, a head has begun.
    fn bytes_arrived(&self) {
        let mut state = self.lock();
        if state.busy || state.head_since.is_some() {
            return;
        }
        state.head_since = Some(Instant::now());
        drop(state);
        self.changed.notify_one();
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
    pub(crate) async fn expired(&self, timeouts: &Timeouts) -> Expired {
        loop {
            let next = {
                let state = self.lock();
                if state.busy {
                    None
                } else if state.evicted {
                    return Expired::Evicted;
                } else if let Some(head_since) = state.head_since {
                    Some((head_since + timeouts.header, Expired::Header))
                } else if !state.used {
                    Some((state.idle_since + timeouts.first_byte, Expired::FirstByte))
                } else {
                    timeouts
                        .keep_alive
                        .map(|idle| (state.idle_since + idle, Expired::KeepAlive))
                }
            };
            match next {
                Some((deadline, why)) if Instant::now() >= deadline => return why,
                Some((deadline, _)) => tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = self.changed.notified() => {}
                },
                None => self.changed.notified().await,
            }
        }
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        let key = self.lock().idle_key.take();
        if let Some(key) = key {
            self.idle.remove(key);
        }
    }
}

/// A request in progress; dropping it makes the connection idle again.
pub(crate) struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        let mut state = activity.lock();
        state.busy = false;
        state.idle_since = Instant::now();
        state.head_since = None;
        if state.idle_key.is_none() {
            // Nested lock order is always state, then idle list.
            state.idle_key = Some(activity.idle.insert(Arc::downgrade(activity)));
        }
        drop(state);
        activity.changed.notify_one();
    }
}

/// The server's idle connections, oldest idle first.
#[derive(Debug, Default)]
pub(crate) struct IdleList {
    inner: Mutex<IdleInner>,
    /// Wakes an accept waiting at the cap for something to evict.
    listed: Notify,
}

#[derive(Debug, Default)]
struct IdleInner {
    next_key: u64,
    idle: BTreeMap<u64, Weak<Activity>>,
}

impl IdleList {
    fn lock(&self) -> MutexGuard<'_, IdleInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn insert(&self, activity: Weak<Activity>) -> u64 {
        let mut inner = self.lock();
        let key = inner.next_key;
        inner.next_key += 1;
        inner.idle.insert(key, activity);
        drop(inner);
        self.listed.notify_waiters();
        key
    }

    fn remove(&self, key: u64) {
        self.lock().idle.remove(&key);
    }

    /// How many connections are idle.
    pub(crate) fn len(&self) -> usize {
        self.lock().idle.len()
    }

    /// Resolves once at least one connection is idle.
    pub(crate) async fn until_any(&self) {
        let listed = self.listed.notified();
        let mut listed = std::pin::pin!(listed);
        listed.as_mut().enable();
        if self.len() == 0 {
            listed.await;
        }
    }

    /// Resolves when a connection next goes idle.
    pub(crate) async fn newly_idle(&self) {
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

/// A connection's socket as hyper sees it. It tells the [`Activity`] when
/// bytes arrive (the start of a head while idle), and it implements
/// half-close: an end of stream read while a request is being served is
/// held back until the response has been written, so a client that shuts
/// down its sending side after a complete request still gets its answer.
/// (hyper's own `half_close` option would stop reading mid-request
/// altogether, so a reset from a client that went away would go unseen
/// and its request would run on; here a reset still reaches hyper and
/// cancels the request.)
pub(crate) struct Watched<'a, T> {
    io: T,
    activity: &'a Activity,
    eof: Eof,
}

/// An end of stream seen by [`Watched`].
enum Eof {
    /// None seen yet.
    No,
    /// Seen while a request was in flight; hyper waits (with this waker)
    /// until the response has been written.
    Held(Waker),
    /// To be reported to hyper.
    Report,
}

impl<'a, T> Watched<'a, T> {
    pub(crate) fn new(io: T, activity: &'a Activity) -> Self {
        Self {
            io,
            activity,
            eof: Eof::No,
        }
    }

    /// A write went out: a held end of stream may now be reported.
    fn wrote(&mut self) {
        if matches!(self.eof, Eof::Held(_)) && !self.activity.lock().busy {
            if let Eof::Held(waker) = std::mem::replace(&mut self.eof, Eof::Report) {
                waker.wake();
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<'_, T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.eof {
            Eof::Report => return Poll::Ready(Ok(())),
            Eof::Held(_) => {
                self.eof = Eof::Held(cx.waker().clone());
                return Poll::Pending;
            }
            Eof::No => {}
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_arrived();
        } else if matches!(polled, Poll::Ready(Ok(()))) && buf.remaining() > 0 {
            if self.activity.lock().busy {
                self.eof = Eof::Held(cx.waker().clone());
                return Poll::Pending;
            }
            self.eof = Eof::Report;
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<'_, T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn eviction_takes_the_oldest_idle_and_skips_busy_ones() {
        let idle = Arc::new(IdleList::default());
        let first = Activity::new(Arc::clone(&idle), None);
        let second = Activity::new(Arc::clone(&idle), None);
        let third = Activity::new(Arc::clone(&idle), None);
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
        let timeouts = Timeouts {
            first_byte: Duration::from_secs(1),
            keep_alive: Some(Duration::from_secs(20)),
            header: Duration::from_secs(10),
        };
        let activity = Activity::new(Arc::new(IdleList::default()), None);
        let start = Instant::now();
        assert_eq!(activity.expired(&timeouts).await, Expired::FirstByte);
        assert_eq!(start.elapsed(), Duration::from_secs(1));

        drop(activity.begin());
        let idle = Instant::now();
        assert_eq!(activity.expired(&timeouts).await, Expired::KeepAlive);
        assert_eq!(
            idle.elapsed(),
            Duration::from_secs(20),
            "not capped by header"
        );

        activity.bytes_arrived();
        let head = Instant::now();
        assert_eq!(activity.expired(&timeouts).await, Expired::Header);
        assert_eq!(head.elapsed(), Duration::from_secs(10));
    }
}
