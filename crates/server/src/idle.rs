//! The idle registry: which connections are open and which of them are
//! idle (no request in progress), oldest idle first, so that at the
//! connection cap the server can close the connection idle the longest to
//! make room: idle sockets cannot starve clients that have a request to
//! send.
//!
//! Every request takes a connection off the idle list and puts it back, so
//! the list is sharded: one [`IdleShard`] per serving thread, whose
//! connections only that thread's requests touch. A request then locks a
//! mutex no other thread takes (but eviction, rarely): no lock shared by
//! the serving threads on the request path. Only at the cap does eviction
//! look at every shard, and order their oldest by when they went idle.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::watchdog::Activity;

/// How many of the oldest idle connections eviction looks at.
const EVICT_SCAN: usize = 64;

/// A connection's place in its shard's idle list: when it went idle, then
/// the order it did so in its shard (the same instant twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IdleKey {
    since: Instant,
    seq: u64,
}

/// The server's connections, in one shard per serving thread.
#[derive(Debug)]
pub(crate) struct IdleRegistry {
    shards: Vec<Arc<IdleShard>>,
    waiters: Arc<Waiters>,
}

/// One serving thread's connections.
#[derive(Debug)]
pub(crate) struct IdleShard {
    inner: Mutex<ShardInner>,
    waiters: Arc<Waiters>,
}

#[derive(Debug, Default)]
struct ShardInner {
    next_seq: u64,
    idle: BTreeMap<IdleKey, Weak<Activity>>,
    /// Connections open, idle or not: counted under the lock a connection
    /// takes anyway as it opens and closes.
    open: usize,
}

/// Accepts waiting at the cap for a connection to go idle.
#[derive(Debug, Default)]
struct Waiters {
    /// Wakes them.
    listed: Notify,
    /// How many there are: a connection going idle (every request's end)
    /// signals only if one waits, since `notify_waiters` takes a lock
    /// shared by every serving thread.
    count: AtomicUsize,
}

/// An accept counted in [`Waiters::count`] while it lives.
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

impl IdleRegistry {
    /// A registry of `shards` shards (at least one).
    pub(crate) fn new(shards: usize) -> Self {
        let waiters = Arc::new(Waiters::default());
        let shards = (0..shards.max(1))
            .map(|_| {
                Arc::new(IdleShard {
                    inner: Mutex::default(),
                    waiters: Arc::clone(&waiters),
                })
            })
            .collect();
        Self { shards, waiters }
    }

    /// Shard number `index` (serving thread `index`'s).
    pub(crate) fn shard(&self, index: usize) -> &Arc<IdleShard> {
        &self.shards[index % self.shards.len()]
    }

    /// How many connections are idle.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().idle.len())
            .sum()
    }

    /// How many connections are open, and how many of them are not idle
    /// (serving a request, or evicted and closing).
    pub(crate) fn open_and_busy(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(open, busy), shard| {
            let inner = shard.lock();
            let idle = inner.idle.len();
            (open + inner.open, busy + inner.open.saturating_sub(idle))
        })
    }

    /// Resolves once at least one connection is idle.
    pub(crate) async fn until_any(&self) {
        let _waiting = Waiting::new(&self.waiters.count);
        let listed = self.waiters.listed.notified();
        let mut listed = std::pin::pin!(listed);
        listed.as_mut().enable();
        if self.len() == 0 {
            listed.await;
        }
    }

    /// Resolves when a connection next goes idle.
    pub(crate) async fn newly_idle(&self) {
        let _waiting = Waiting::new(&self.waiters.count);
        self.waiters.listed.notified().await;
    }

    /// Asks the connection idle the longest, whichever thread it is on, to
    /// close; false if none is idle.
    ///
    /// Among the oldest few, a connection with no request on the way goes
    /// first; failing that, the oldest one not serving a request (so a
    /// flood of slow heads cannot hold the cap either).
    pub(crate) fn evict_oldest(&self) -> bool {
        // Never hold a shard's lock while taking a connection's.
        let mut oldest: Vec<(IdleKey, &IdleShard, Weak<Activity>)> = Vec::new();
        for shard in &self.shards {
            let inner = shard.lock();
            let listed = inner.idle.iter().take(EVICT_SCAN);
            oldest.extend(listed.map(|(key, activity)| (*key, &**shard, activity.clone())));
        }
        oldest.sort_unstable_by_key(|(key, _, _)| *key);
        oldest.truncate(EVICT_SCAN);
        for any in [false, true] {
            for (key, shard, activity) in &oldest {
                match activity.upgrade() {
                    Some(activity) if activity.evict(any) => return true,
                    Some(_) => {}
                    None => shard.remove(*key),
                }
            }
        }
        false
    }
}

impl IdleShard {
    fn lock(&self) -> MutexGuard<'_, ShardInner> {
        // Plain data, valid even if a holder panicked.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new connection open and lists it idle since `since`.
    pub(crate) fn open(&self, activity: Weak<Activity>, since: Instant) -> IdleKey {
        self.lock().open += 1;
        self.insert(activity, since)
    }

    /// Counts a connection closed, and takes it off the list if listed.
    pub(crate) fn close(&self, key: Option<IdleKey>) {
        let mut inner = self.lock();
        inner.open = inner.open.saturating_sub(1);
        if let Some(key) = key {
            inner.idle.remove(&key);
        }
    }

    /// Lists a connection idle since `since`.
    pub(crate) fn insert(&self, activity: Weak<Activity>, since: Instant) -> IdleKey {
        let mut inner = self.lock();
        let key = IdleKey {
            since,
            seq: inner.next_seq,
        };
        inner.next_seq += 1;
        inner.idle.insert(key, activity);
        drop(inner);
        // An accept that starts waiting after this load looks at the lists
        // (`until_any`) or only wants later arrivals (`newly_idle`).
        if self.waiters.count.load(Ordering::SeqCst) > 0 {
            self.waiters.listed.notify_waiters();
        }
        key
    }

    /// Takes a connection off the list.
    pub(crate) fn remove(&self, key: IdleKey) {
        self.lock().idle.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::watchdog::{Timeouts, MIN_IDLE_TO_EVICT};

    const TIMEOUTS: Timeouts = Timeouts {
        first_byte: Duration::from_secs(1),
        keep_alive: Some(Duration::from_secs(20)),
        header: Duration::from_secs(10),
    };

    /// A new connection on `shard`, a moment after the previous one.
    async fn open(shard: &Arc<IdleShard>) -> Arc<Activity> {
        tokio::time::advance(Duration::from_millis(1)).await;
        Activity::new(Arc::clone(shard), TIMEOUTS)
    }

    #[tokio::test(start_paused = true)]
    async fn eviction_takes_the_oldest_idle_and_skips_busy_ones() {
        let idle = IdleRegistry::new(1);
        let shard = idle.shard(0);
        let first = open(shard).await;
        let second = open(shard).await;
        let third = open(shard).await;
        let busy = first.begin();
        assert_eq!(idle.len(), 2);
        assert!(!idle.evict_oldest(), "too young to evict");
        tokio::time::advance(MIN_IDLE_TO_EVICT).await;
        assert!(idle.evict_oldest());
        assert!(second.evicted(), "the oldest idle one goes first");
        assert!(!first.evicted());
        drop(busy);
        // `first` is idle again, now the most recent: `third` goes next.
        tokio::time::advance(MIN_IDLE_TO_EVICT).await;
        assert!(idle.evict_oldest());
        assert!(third.evicted());
        drop(third);
        assert!(idle.evict_oldest());
        assert!(first.evicted());
        assert!(!idle.evict_oldest());
    }

    /// Each serving thread lists its connections in its own shard; at the
    /// cap, the oldest idle connection goes first whichever shard holds it.
    #[tokio::test(start_paused = true)]
    async fn eviction_takes_the_oldest_idle_across_shards() {
        let idle = IdleRegistry::new(2);
        let a = open(idle.shard(0)).await;
        let b = open(idle.shard(1)).await;
        let c = open(idle.shard(0)).await;
        let d = open(idle.shard(1)).await;
        assert_eq!(idle.open_and_busy(), (4, 0));
        // `a` serves a request and goes idle again: now the youngest.
        drop(a.begin());
        let busy = d.begin();
        assert_eq!((idle.len(), idle.open_and_busy()), (3, (4, 1)));
        tokio::time::advance(MIN_IDLE_TO_EVICT).await;
        let mut order = Vec::new();
        while idle.evict_oldest() {
            let evicted = [("a", &a), ("b", &b), ("c", &c), ("d", &d)]
                .into_iter()
                .find(|(name, activity)| activity.evicted() && !order.contains(name));
            order.push(evicted.expect("one more evicted").0);
        }
        assert_eq!(order, ["b", "c", "a"], "oldest idle first, busy `d` kept");
        drop(busy);
        assert_eq!(idle.open_and_busy(), (4, 3), "evicted ones close later");
        drop((a, b, c, d));
        assert_eq!(idle.open_and_busy(), (0, 0));
    }
}
