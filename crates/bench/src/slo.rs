//! `--slo`: service-level objectives as conditions on a run, checked after
//! it, so a CI job can fail on them (k6's thresholds):
//! `p99<50ms,p99.9<=200ms,mean<10ms,errors<0.1%,rate>=99%`.
//!
//! Latency conditions (`pN`, `mean`, `min`, `max`) read the corrected
//! histogram when the run is open loop, the uncorrected one otherwise.
//! `errors` counts requests without a response plus responses with a status
//! of 400 or more (k6's `http_req_failed`), as a share of all requests
//! (`errors<0.1%`) or as a count (`errors<5`). `rate` is the achieved rate
//! over the target (`rate>=99%`; open loop only).

use speedup_stats::hist_percentile;

use crate::run::BenchResult;

/// One condition, as parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The condition as written (spaces removed).
    pub expr: String,
    metric: Metric,
    op: Op,
    /// µs for latencies, a fraction for `errors%` and `rate`, a count for
    /// `errors`.
    threshold: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    Percentile(f64),
    Mean,
    Min,
    Max,
    ErrorShare,
    ErrorCount,
    Rate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

/// A condition that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("--slo {expr:?}: {why}")]
pub struct SloError {
    /// The condition as written.
    pub expr: String,
    /// What is wrong and how to write it.
    pub why: String,
}

/// How a condition fared on a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The condition as written.
    pub expr: String,
    /// The measured value, in the condition's unit: ms for latencies, % for
    /// `errors%` and `rate`, a count for `errors`.
    pub value: f64,
    /// The measured value as printed (`12.30ms`, `0.05%`).
    pub shown: String,
    /// Whether the condition holds.
    pub ok: bool,
}

impl Condition {
    /// Whether the condition is about the achieved rate (open loop only).
    pub fn needs_rate(&self) -> bool {
        self.metric == Metric::Rate
    }

    /// How the run fares against it.
    pub fn check(&self, r: &BenchResult) -> Verdict {
        let hist = match r.open_loop() {
            true => &r.tally.corrected,
            false => &r.tally.uncorrected,
        };
        let total = r.total();
        let failed = r.tally.error_count()
            + r.tally
                .statuses()
                .filter(|&(code, _)| code >= 400)
                .map(|(_, n)| n)
                .sum::<u64>();
        // (measured, in the threshold's unit; for the verdict's value and text)
        let (measured, value, shown) = match self.metric {
            Metric::Percentile(p) => latency(hist_percentile(hist, p) as f64),
            Metric::Mean => latency(if hist.is_empty() { 0.0 } else { hist.mean() }),
            Metric::Min => latency(hist.min() as f64),
            Metric::Max => latency(hist.max() as f64),
            Metric::ErrorShare => {
                let share = if total == 0 {
                    0.0
                } else {
                    failed as f64 / total as f64
                };
                (share, 100.0 * share, format!("{:.3}%", 100.0 * share))
            }
            Metric::ErrorCount => (failed as f64, failed as f64, failed.to_string()),
            Metric::Rate => {
                let share = match r.target_rate {
                    Some(target) if target > 0.0 => r.achieved_rate() / target,
                    _ => 0.0,
                };
                (share, 100.0 * share, format!("{:.2}%", 100.0 * share))
            }
        };
        let ok = match self.op {
            Op::Lt => measured < self.threshold,
            Op::Le => measured <= self.threshold,
            Op::Gt => measured > self.threshold,
            Op::Ge => measured >= self.threshold,
        };
        Verdict {
            expr: self.expr.clone(),
            value,
            shown,
            ok,
        }
    }
}

/// A latency of `us` µs: itself, in ms, and as the summary prints it.
fn latency(us: f64) -> (f64, f64, String) {
    (us, us / 1000.0, crate::text::human_us(us))
}

/// Parses `--slo`: conditions separated by commas.
pub fn parse_slo(text: &str) -> Result<Vec<Condition>, SloError> {
    let conditions: Vec<Condition> = text
        .split(',')
        .map(|c| c.split_whitespace().collect::<String>())
        .filter(|c| !c.is_empty())
        .map(|c| parse_condition(&c))
        .collect::<Result<_, _>>()?;
    if conditions.is_empty() {
        return Err(SloError {
            expr: text.to_string(),
            why: "no condition: write e.g. --slo 'p99<50ms,errors<0.1%'".into(),
        });
    }
    Ok(conditions)
}

fn parse_condition(expr: &str) -> Result<Condition, SloError> {
    let fail = |why: &str| SloError {
        expr: expr.to_string(),
        why: why.to_string(),
    };
    let at = expr
        .find(['<', '>'])
        .ok_or_else(|| fail("no comparison: write METRIC<VALUE, e.g. p99<50ms (also <=, >, >=)"))?;
    let (name, rest) = expr.split_at(at);
    let (op, value) = match rest.as_bytes() {
        [b'<', b'=', ..] => (Op::Le, &rest[2..]),
        [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
        [b'<', ..] => (Op::Lt, &rest[1..]),
        _ => (Op::Gt, &rest[1..]),
    };
    let number = |text: &str| {
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| fail("the value must be a number, e.g. 50ms, 0.1%, 99%"))
    };
    let (metric, threshold) = match name {
        "mean" | "min" | "max" => (
            match name {
                "mean" => Metric::Mean,
                "min" => Metric::Min,
                _ => Metric::Max,
            },
            duration_us(value)
                .ok_or_else(|| fail("a latency needs a unit: us, ms or s (e.g. 50ms)"))?,
        ),
        "errors" => match value.strip_suffix('%') {
            Some(pct) => (Metric::ErrorShare, number(pct)? / 100.0),
            None => (Metric::ErrorCount, number(value)?),
        },
        "rate" => {
            let pct = value
                .strip_suffix('%')
                .ok_or_else(|| fail("the rate is a share of the target: write e.g. rate>=99%"))?;
            (Metric::Rate, number(pct)? / 100.0)
        }
        _ => {
            let p = name
                .strip_prefix('p')
                .and_then(|p| p.parse::<f64>().ok())
                .filter(|p| *p > 0.0 && *p <= 100.0)
                .ok_or_else(|| {
                    fail("unknown metric: use pN (p50, p99, p99.9), mean, min, max, errors or rate")
                })?;
            (
                Metric::Percentile(p),
                duration_us(value)
                    .ok_or_else(|| fail("a latency needs a unit: us, ms or s (e.g. 50ms)"))?,
            )
        }
    };
    Ok(Condition {
        expr: expr.to_string(),
        metric,
        op,
        threshold,
    })
}

/// `50ms`, `250us`, `1.5s` in µs.
fn duration_us(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix("us").or_else(|| text.strip_suffix("µs")) {
        (n, 1.0)
    } else {
        (text.strip_suffix('s')?, 1e6)
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form() {
        let c =
            parse_slo("p99<50ms, p99.9 <= 200ms,mean<10ms,errors<0.1%,rate>=99%,errors<5,max>1s")
                .unwrap();
        let shapes: Vec<(Metric, Op, f64)> =
            c.iter().map(|c| (c.metric, c.op, c.threshold)).collect();
        assert_eq!(
            shapes,
            [
                (Metric::Percentile(99.0), Op::Lt, 50_000.0),
                (Metric::Percentile(99.9), Op::Le, 200_000.0),
                (Metric::Mean, Op::Lt, 10_000.0),
                (Metric::ErrorShare, Op::Lt, 0.001),
                (Metric::Rate, Op::Ge, 0.99),
                (Metric::ErrorCount, Op::Lt, 5.0),
                (Metric::Max, Op::Gt, 1e6),
            ]
        );
        assert_eq!(c[1].expr, "p99.9<=200ms");
        assert!(c[4].needs_rate());
    }

    #[test]
    fn what_cannot_be_read_is_refused_with_how_to_write_it() {
        let error = |t: &str| parse_slo(t).unwrap_err().to_string();
        assert!(error("p99").contains("no comparison"));
        assert!(error("p99<50").contains("needs a unit"));
        assert!(error("p101<5ms").contains("unknown metric"));
        assert!(error("latency<5ms").contains("unknown metric"));
        assert!(error("rate>=99").contains("share of the target"));
        assert!(error("errors<x%").contains("must be a number"));
        assert!(error(" , ").contains("no condition"));
        assert!(error("p99<50ms,bogus").starts_with("--slo \"bogus\""));
    }
}
