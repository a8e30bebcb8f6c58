//! `speedup lab --sweep`: the io chapter's two endpoints at concurrency 1,
//! 10, 20, 40, 60, 80, 100 and 200, with requests scaled to keep each step
//! short (twice the concurrency, at least ten), each after the lab's usual
//! warm-up (`c` unrecorded requests), into p50/max points (a step's few
//! requests are too few for a p95, which needs 20 above it; its max is its
//! last round). The baseline's knee sits at its pool size (40 by default);
//! the async line stays flat.

use speedup_report::sweep::{Sweep, SweepPoint};

use crate::measure::{self, Observer};
use crate::plan::{LabPlan, Scenario, Server};
use crate::LabError;

/// The concurrency levels of the sweep.
pub const LEVELS: [u32; 8] = [1, 10, 20, 40, 60, 80, 100, 200];

/// Requests at concurrency `c`: two per client, at least ten, so every
/// step lasts two to five sleeps.
pub fn requests_at(c: u32) -> u64 {
    (u64::from(c) * 2).max(10)
}

/// Runs the sweep against `main`, the baseline's steps then the async's.
pub fn run(plan: &LabPlan, main: &Server, observer: &mut dyn Observer) -> Result<Sweep, LabError> {
    let mut points = Vec::new();
    for endpoint in Scenario::article(plan.sleep) {
        for c in LEVELS {
            let step = LabPlan {
                requests: requests_at(c),
                concurrency: c,
                ..plan.clone()
            };
            let scenario = Scenario {
                name: format!("sweep {} c={c}", endpoint.name),
                path: endpoint.path.clone(),
            };
            let m = measure::scenario(&step, main, &scenario, observer)?;
            points.push(SweepPoint {
                endpoint: endpoint.name.clone(),
                concurrency: c,
                requests: m.row.requests,
                rps: m.row.rps,
                p50_ms: m.row.p50_ms,
                p95_ms: m.row.p95_ms,
                max_ms: Some(m.row.max_ms),
                bad: m.row.failures + m.row.non_2xx,
            });
        }
    }
    Ok(Sweep {
        ideal_ms: plan.ideal_ms(),
        // An external server's pool is its own.
        pool_threads: plan
            .target
            .is_none()
            .then(|| u32::try_from(plan.threads).unwrap_or(u32::MAX)),
        points,
    })
}

/// One sentence per endpoint on what the sweep shows.
pub fn why(sweep: &Sweep) -> Vec<(String, String)> {
    let ideal = sweep.ideal_ms;
    let mut reasons = Vec::new();
    for endpoint in sweep.endpoints() {
        let text = match (endpoint, sweep.pool_threads) {
            ("baseline", Some(pool)) => format!(
                "Up to {pool} clients, every request gets a thread and even the slowest stays near \
                 the {ideal:.0} ms sleep; past {pool} the requests queue for a thread, and the slowest \
                 waits a sleep more per {pool} more clients: the knee is the pool size."
            ),
            ("baseline", None) => {
                "The external server's pool sets where the knee falls: past it, requests queue.".into()
            }
            _ => format!(
                "Timers hold no thread, so every client sleeps at once at any concurrency: even \
                 the slowest request stays near the {ideal:.0} ms sleep, flat."
            ),
        };
        reasons.push((endpoint.to_string(), text));
    }
    reasons
}
