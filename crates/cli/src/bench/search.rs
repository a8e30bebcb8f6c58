//! `speedup bench --find-max`: the steps printed as they end, then the
//! table and the answer; `--json` holds the best step's result and the
//! search, `--hdr-log` every step's intervals tagged `step-N`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use speedup_bench::findmax::{find_max, Search, Step, StepObserver};
use speedup_bench::plan::FindMax;
use speedup_bench::{json, text, BenchPlan, Progress};
use speedup_load::Control;

use super::{failure, on_stop_signals, open, summary, Bar, ResultFile, SLO_FAILED};

/// Runs the search of `plan`.
pub fn run(plan: &BenchPlan, settings: &FindMax, progress: bool) -> anyhow::Result<ExitCode> {
    let hdr_log = open(plan.outputs.hdr_log.as_deref(), "--hdr-log")?;
    let json_out = ResultFile::create(plan.outputs.json.as_deref(), "--json")?;
    let control = Arc::new(Control::new());
    let interrupted = on_stop_signals(Arc::clone(&control), plan.engine.timeout)?;
    let steps = Steps(Bar::new(progress));
    let search = find_max(plan, settings, hdr_log, &steps, &control);
    if let Some(bar) = &steps.0 {
        bar.finish();
    }
    let search = search.context("the search failed")?;
    let slo = plan
        .slo
        .iter()
        .map(|c| c.expr.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let best = search.best().map(|(_, step)| step);
    summary(plan, |out| {
        writeln!(out, "speedup bench --find-max {} within {slo}", plan.url)?;
        text::write_search(&search, &slo, out)?;
        if let Some(step) = best {
            writeln!(out, "\nthe step at the highest rate:")?;
            text::write_summary(&step.result, out)?;
            text::write_slo(&step.verdicts, out)?;
        }
        Ok(())
    })?;
    if let Some(out) = json_out {
        let value = search_json(&search);
        out.commit(|w| json::write_json(&value, w))?;
    }
    let last = search.steps.last().map(|s| &s.result);
    if let Some(failure) = last.and_then(|r| failure(r, &interrupted)) {
        eprintln!("speedup bench: {failure}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(match best {
        Some(_) => ExitCode::SUCCESS,
        None => ExitCode::from(SLO_FAILED),
    })
}

/// The JSON: the best step's result (the last step's when none passed)
/// with `"find_max"` added.
fn search_json(search: &Search) -> serde_json::Value {
    let shown = search.best().map(|(_, s)| s).or(search.steps.last());
    let mut value = match shown {
        Some(step) => {
            let mut v = json::to_json(&step.result);
            v["slo"] = json::slo_json(&step.verdicts);
            v
        }
        None => serde_json::json!({ "schema": json::SCHEMA }),
    };
    value["find_max"] = json::search_json(search);
    value
}

/// The progress of each step, and a line as each ends.
struct Steps(Option<Bar>);

impl speedup_bench::Observer for Steps {
    fn progress(&self, p: &Progress) {
        if let Some(bar) = &self.0 {
            bar.progress(p);
        }
    }
}

impl StepObserver for Steps {
    fn step(&self, number: usize, step: &Step) {
        let line = format!(
            "speedup bench: step {}",
            text::step_row(number, step).trim_start()
        );
        match &self.0 {
            Some(bar) => bar.println(&line),
            None => eprintln!("{line}"),
        }
    }
}
