//! The watchdog's timeouts on tokio's paused clock: each phase's own,
//! deadlines that come earlier while it sleeps, eviction withdrawn, and
//! HTTP/2's stream count and header blocks.

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

/// HTTP/2's preface and blocks (what `frames` reports).
fn fed(preface: bool, closed: bool, open: bool) -> Fed {
    Fed {
        preface,
        closed,
        open,
    }
}

/// One stream ending while another runs leaves the connection busy; the
/// keep-alive runs from the last one's end, and ends in a GOAWAY wait.
#[tokio::test(start_paused = true)]
async fn http2_is_idle_only_when_no_stream_is_in_flight() {
    let activity = Activity::new(shard(), TIMEOUTS);
    activity.frames_arrived(fed(true, true, false));
    let long = activity.begin();
    let short = activity.begin();
    let watchdog = tokio::spawn({
        let activity = Arc::clone(&activity);
        async move { activity.expired().await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(short);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!watchdog.is_finished(), "idle with a stream in flight");
    drop(long);
    let idle = Instant::now();
    assert_eq!(watchdog.await.unwrap(), Expired::KeepAlive);
    assert_eq!(idle.elapsed(), Duration::from_secs(20));
    activity.going_away();
    let told = Instant::now();
    assert_eq!(activity.expired().await, Expired::GoAway);
    assert_eq!(told.elapsed(), GOAWAY_WAIT);
}

/// The preface starts no request (the first-byte timeout still runs); a
/// header block is timed from its first frame, streams in flight or not,
/// and a block that ends stops its timer.
#[tokio::test(start_paused = true)]
async fn http2_times_header_blocks_not_bytes() {
    let activity = Activity::new(shard(), TIMEOUTS);
    let start = Instant::now();
    activity.bytes_arrived();
    activity.frames_arrived(fed(true, false, false));
    assert_eq!(activity.expired().await, Expired::FirstByte);
    assert_eq!(start.elapsed(), TIMEOUTS.first_byte);

    let _stream = activity.begin();
    activity.frames_arrived(fed(false, false, true));
    let opened = Instant::now();
    assert_eq!(activity.expired().await, Expired::Header);
    assert_eq!(opened.elapsed(), TIMEOUTS.header);

    // Closed, and another opened in the same read: timed from now.
    tokio::time::advance(Duration::from_secs(3)).await;
    activity.frames_arrived(fed(false, true, true));
    let reopened = Instant::now();
    assert_eq!(activity.expired().await, Expired::Header);
    assert_eq!(reopened.elapsed(), TIMEOUTS.header);
}
