//! At most one event per period, with a count of the ones in between: how
//! the accept loop warns about failures that repeat (out of descriptors)
//! without flooding the log.

use std::time::Duration;

use tokio::time::Instant;

/// Lets one event through per `every`, counting the ones in between.
#[derive(Debug)]
pub(crate) struct Throttle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    pub(crate) fn new(every: Duration) -> Self {
        Self {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(events suppressed since the last one let through)` if this one
    /// may pass at `now`.
    pub(crate) fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_lets_one_through_per_period_and_counts_the_rest() {
        let start = Instant::now();
        let mut throttle = Throttle::new(Duration::from_secs(5));
        assert_eq!(throttle.allow(start), Some(0));
        for ms in 1..=600 {
            assert_eq!(throttle.allow(start + Duration::from_millis(ms)), None);
        }
        assert_eq!(throttle.allow(start + Duration::from_secs(5)), Some(600));
        assert_eq!(throttle.allow(start + Duration::from_secs(6)), None);
    }
}
