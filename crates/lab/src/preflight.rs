//! Checks made before the experiment, so that a missing server fails in a
//! second with what to do, not after every other scenario ran: each
//! external server (`--target`, `--compare`) gets one GET of each scenario
//! path and must answer it with some HTTP response.

use std::time::Duration;

use speedup_load::{Control, ErrorKind, Outcome, Record, Recorder};

use speedup_report::escape::escaped;

use crate::plan::LabPlan;
use crate::LabError;

/// How long a server may take to answer the check, beyond the sleep asked.
const GRACE: Duration = Duration::from_secs(10);

/// Keeps the record of a run's first request (a check, a probe).
#[derive(Default)]
pub(crate) struct First(pub(crate) Option<Record>);

impl Recorder for First {
    fn record(&mut self, record: &Record) {
        self.0.get_or_insert(*record);
    }
}

/// Checks every external server of `plan` (not the embedded one, which
/// the lab starts itself) with one GET of each scenario path.
pub fn check_servers(plan: &LabPlan) -> Result<(), LabError> {
    let target = plan.target.iter().map(|u| (u, format!("--target {u}")));
    let compare = plan
        .compare
        .iter()
        .map(|(n, u)| (u, format!("--compare {n}={u}")));
    for (url, flag) in target.chain(compare) {
        // Without a trailing `/`, as `LabPlan::servers` gives it.
        let base_url = url.trim_end_matches('/');
        for scenario in &plan.scenarios {
            check(plan, base_url, &scenario.path, &flag)?;
        }
    }
    Ok(())
}

fn check(plan: &LabPlan, base_url: &str, path: &str, flag: &str) -> Result<(), LabError> {
    let url = format!("{base_url}{path}");
    let unreachable = |reason: String| LabError::Unreachable {
        flag: flag.to_string(),
        reason,
    };
    let mut load = speedup_ab::plain_plan(&url, 1, 1).map_err(|source| LabError::Url {
        scenario: flag.to_string(),
        url: url.clone(),
        source,
    })?;
    load.timeout = GRACE + Duration::from_secs_f64(plan.sleep);
    let at = format!("{}:{}", load.target.url_host(), load.target.port);
    let at = escaped(&at).to_string();
    let path = escaped(path);
    let out = speedup_load::run(&load, First::default, &Control::new())
        .map_err(|e| unreachable(format!("cannot reach {at}: {e}")))?;
    let outcome = out
        .recorders
        .into_iter()
        .find_map(|f| f.0.map(|r| r.outcome));
    match outcome {
        Some(Outcome::Response { .. }) => Ok(()),
        Some(Outcome::Error(ErrorKind::Connect)) => Err(unreachable(format!(
            "nothing is listening on {at}: start that server first (the article's FastAPI app: \
             `fastapi run bench/fastapi/server.py --port {}`), or drop the flag",
            load.target.port
        ))),
        Some(Outcome::Error(ErrorKind::Timeout)) => Err(unreachable(format!(
            "{at} did not answer GET {path} within {} s: is it the right server?",
            load.timeout.as_secs()
        ))),
        Some(Outcome::Error(kind)) => Err(unreachable(format!(
            "{at} gave no valid HTTP response to GET {path} ({kind:?}): is it an HTTP server?"
        ))),
        None => Err(unreachable(format!("{at} was not checked"))),
    }
}
