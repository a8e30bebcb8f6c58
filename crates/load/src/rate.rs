//! How many requests an open-loop run sends per second, over time: a
//! constant rate, or stages that ramp it linearly (k6's arrival-rate
//! stages), and when the n-th request of the run is due.
//!
//! A stage ramps from the rate the previous stage ended at (the first from
//! the plan's starting rate) to its own rate over its duration, so the
//! requests due by time `t` into a stage from `r0` to `r1` over `d` are
//! `r0·t + (r1 − r0)·t²/(2d)`; the n-th request is due when that count
//! reaches n, the root of a quadratic. A constant rate R is the one-stage
//! case `n / R`, exactly as before stages existed.

use std::time::Duration;

/// One stage of a ramping rate: the rate reached at its end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Requests per second at its end (linear from the previous rate).
    pub rate: f64,
}

/// The requests per second of a run over time.
#[derive(Debug, Clone, PartialEq)]
pub struct RateProfile {
    /// Constant: this rate for ever (the run's duration ends it).
    constant: Option<f64>,
    /// Ramping: the stages, with when each starts and how many requests are
    /// due before it.
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    /// Seconds from the run's start.
    start: f64,
    /// Seconds.
    length: f64,
    /// Requests per second at its start and its end.
    from: f64,
    to: f64,
    /// Requests due before it.
    before: f64,
}

impl Segment {
    /// Requests due during the whole segment.
    fn count(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.length
    }

    /// Seconds into the segment when `y` of its requests are due: the root
    /// of `a·t² + b·t = y` with `a = (to − from)/(2·length)`, `b = from`,
    /// written `2y / (b + √(b² + 4ay))` so it holds for ramps up, down and
    /// flat alike.
    fn time_of(&self, y: f64) -> f64 {
        if y <= 0.0 {
            return 0.0;
        }
        let a = (self.to - self.from) / (2.0 * self.length);
        let b = self.from;
        let root = (b * b + 4.0 * a * y).max(0.0).sqrt();
        (2.0 * y / (b + root)).min(self.length)
    }
}

impl RateProfile {
    /// A constant `rate` requests per second.
    pub fn constant(rate: f64) -> RateProfile {
        RateProfile {
            constant: Some(rate),
            segments: Vec::new(),
        }
    }

    /// Stages from `start` requests per second (0 without a `--rate`).
    pub fn stages(start: f64, stages: &[Stage]) -> RateProfile {
        let mut segments = Vec::with_capacity(stages.len());
        let (mut at, mut from, mut before) = (0.0, start, 0.0);
        for stage in stages {
            let segment = Segment {
                start: at,
                length: stage.duration.as_secs_f64(),
                from,
                to: stage.rate,
                before,
            };
            at += segment.length;
            before += segment.count();
            from = stage.rate;
            segments.push(segment);
        }
        RateProfile {
            constant: None,
            segments,
        }
    }

    /// Seconds after the run's start when request `n` (from 0) is due;
    /// `None` when the stages end before it.
    pub fn due(&self, n: u64) -> Option<f64> {
        let n = n as f64;
        if let Some(rate) = self.constant {
            return Some(n / rate);
        }
        // Few stages: a linear search is as fast as any.
        let segment = self
            .segments
            .iter()
            .find(|s| n < s.before + s.count() && s.count() > 0.0)?;
        Some(segment.start + segment.time_of(n - segment.before))
    }

    /// Requests the stages are due to send in all (`None` for a constant
    /// rate, which the run's duration or count ends).
    pub fn total(&self) -> Option<f64> {
        self.constant
            .is_none()
            .then(|| self.segments.last().map_or(0.0, |s| s.before + s.count()))
    }

    /// How long the stages last (`None` for a constant rate).
    pub fn length(&self) -> Option<Duration> {
        self.constant.is_none().then(|| {
            Duration::from_secs_f64(self.segments.last().map_or(0.0, |s| s.start + s.length))
        })
    }

    /// Requests per second on average: the constant rate, or the stages'
    /// requests over their length.
    pub fn mean(&self) -> f64 {
        match (self.constant, self.total(), self.length()) {
            (Some(rate), _, _) => rate,
            (None, Some(total), Some(length)) if !length.is_zero() => total / length.as_secs_f64(),
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(secs: f64, rate: f64) -> Stage {
        Stage {
            duration: Duration::from_secs_f64(secs),
            rate,
        }
    }

    /// Requests due before `t` seconds.
    fn due_before(p: &RateProfile, t: f64) -> u64 {
        (0..)
            .take_while(|&n| p.due(n).is_some_and(|d| d < t))
            .count() as u64
    }

    #[test]
    fn a_constant_rate_is_n_over_r() {
        let p = RateProfile::constant(1000.0);
        assert_eq!(p.due(0), Some(0.0));
        assert_eq!(p.due(1500), Some(1.5));
        assert_eq!(p.mean(), 1000.0);
        assert_eq!((p.total(), p.length()), (None, None));
    }

    #[test]
    fn due_times_integrate_to_the_ramp() {
        // From 0 to 200/s over 2 s (200 requests), then 200/s for 2 s (400).
        let p = RateProfile::stages(0.0, &[stage(2.0, 200.0), stage(2.0, 200.0)]);
        assert_eq!(p.total(), Some(600.0));
        assert_eq!(p.length(), Some(Duration::from_secs(4)));
        assert_eq!(due_before(&p, 4.0 + 1e-9), 600);
        assert_eq!(p.due(600), None);
        // The first second of the ramp holds a quarter of its requests,
        // the second three quarters.
        assert_eq!(due_before(&p, 1.0), 50);
        assert_eq!(due_before(&p, 2.0), 200);
        assert_eq!(due_before(&p, 3.0), 400);
        // Due times never go back.
        let times: Vec<f64> = (0..600).map(|n| p.due(n).unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(p.mean(), 150.0);
    }

    #[test]
    fn ramps_down_and_from_a_starting_rate() {
        // From 100/s up to 300/s over 1 s (200), then down to 0 over 2 s (300).
        let p = RateProfile::stages(100.0, &[stage(1.0, 300.0), stage(2.0, 0.0)]);
        assert_eq!(p.total(), Some(500.0));
        assert_eq!(due_before(&p, 1.0), 200);
        // Down from 300/s: the first second after the peak holds 300 − 75.
        assert_eq!(due_before(&p, 2.0), 200 + 225);
        assert_eq!(due_before(&p, 3.0 + 1e-9), 500);
    }
}
