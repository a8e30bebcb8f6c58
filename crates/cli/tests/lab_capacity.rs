//! `speedup lab --chapter capacity` end to end, small and bounded: a pool of
//! 4 threads sleeping 20 ms (at most 4 / 0.02 s = 200 req/s by the model,
//! so within `p99<40ms`), steps of 250 ms, at most 8 per endpoint (about
//! 2.5 s a search), 16 connections (so the async search meets the client's
//! 800 req/s ceiling soon). Read back from `summary.json` and the page:
//! both step tables, both answers, the chart, and the baseline's answer
//! within ±25 % of the model. No speed is asserted beyond the model's
//! facts; its own test binary, so no other lab run shares the cores.

mod lab_support;

use lab_support::{lab, num, scratch};
use serde_json::Value;

/// The model: threads / sleep.
const MODEL_RPS: f64 = 4.0 / 0.02;

/// The page's text for `text` (its `<` escaped).
fn on_page(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The rows of the page's table `id`, header excluded.
fn table_rows(html: &str, id: &str) -> usize {
    let start = html
        .find(&format!("<table id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no table {id}"));
    let table = &html[start..start + html[start..].find("</table>").expect("table ends")];
    table.matches("<tr>").count() - 1
}

#[test]
fn capacity_finds_the_pool_limit_and_says_what_stopped_the_timers() {
    let dir = scratch("capacity");
    let summary = lab(
        &dir,
        &[
            "--chapter",
            "capacity",
            "--threads",
            "4",
            "--sleep",
            "0.02",
            "--step-duration",
            "250ms",
            "--max-steps",
            "8",
            "--connections",
            "16",
        ],
    );
    let capacity = &summary["capacity"];
    assert_eq!(capacity["slo"], "p99<40ms", "twice the sleep");
    assert_eq!(num(&capacity["step_s"]), 0.25);
    assert_eq!(capacity["connections"], 16);
    assert_eq!(num(&capacity["client_ceiling_rps"]), 16.0 / 0.02);
    assert_eq!(capacity["pool_threads"], 4);
    let endpoint = |name: &str| -> &Value {
        capacity["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {capacity}"))
    };
    let (baseline, timers) = (endpoint("baseline"), endpoint("async"));

    // Each search: bounded, its steps as bench's JSON has them, its answer
    // the best passing step.
    for e in [baseline, timers] {
        let steps = e["find_max"]["steps"].as_array().expect("steps");
        assert!((2..=8).contains(&steps.len()), "{e}");
        let answer = &e["answer"];
        assert_eq!(answer["steps"], steps.len());
        assert_eq!(answer["rate"], e["find_max"]["rate"]);
        let step = answer["step"].as_u64().expect("a step passed") as usize;
        assert_eq!(steps[step - 1]["ok"], true, "{e}");
        assert_eq!(steps[step - 1]["rate"], answer["rate"]);
        for s in steps {
            for key in ["rate", "achieved", "p50_ms", "p99_ms", "errors", "ok"] {
                assert!(!s[key].is_null(), "{key} missing in {s}");
            }
        }
        let text = answer["text"].as_str().expect("text");
        assert!(text.starts_with("highest rate within p99<40ms: "), "{text}");
        assert!(text.contains(&format!("of {})", steps.len())), "{text}");
    }

    // The pool caps the blocking endpoint at threads / sleep.
    assert_eq!(num(&baseline["model_rps"]), MODEL_RPS);
    let rate = num(&baseline["answer"]["rate"]);
    assert!(
        (0.75 * MODEL_RPS..=1.25 * MODEL_RPS).contains(&rate),
        "baseline {rate} req/s against the model's {MODEL_RPS}: {baseline}"
    );
    // The timers are not: the async endpoint takes more than the pool
    // allows, found exactly or as a lower bound that says why.
    assert!(timers["model_rps"].is_null());
    assert!(num(&timers["answer"]["rate"]) > MODEL_RPS, "{timers}");
    let text = timers["answer"]["text"].as_str().expect("text");
    match timers["answer"]["limited_by"].as_str() {
        Some("connections") => {
            assert_eq!(timers["answer"]["at_least"], true);
            assert!(
                text.contains("at least") && text.contains("16 connections"),
                "{text}"
            );
        }
        Some("server" | "steps") => {}
        other => panic!("limited by {other:?}: {timers}"),
    }

    // The page: the chart, both tables with a row per step, both answers.
    let html = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    for id in [
        "capacity",
        "capacity-chart",
        "capacity-baseline-steps",
        "capacity-async-steps",
        "capacity-why",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no {id}");
    }
    for (e, id) in [
        (baseline, "capacity-baseline-steps"),
        (timers, "capacity-async-steps"),
    ] {
        let steps = e["find_max"]["steps"].as_array().expect("steps").len();
        assert_eq!(table_rows(&html, id), steps, "{id}");
        let text = e["answer"]["text"].as_str().expect("text");
        assert!(html.contains(&on_page(text)), "answer missing: {text}");
    }
    assert!(html.contains("250 ms per step"), "the step duration");
    assert!(html.contains("4 / 0.02 s = 200 req/s"), "the model");
    let svg = std::fs::read_to_string(dir.join("capacity.svg")).expect("capacity.svg");
    for text in [
        "baseline p99",
        "async p50",
        "SLO p99&lt;40ms",
        "pool: 4 / 0.02 s",
    ] {
        assert!(svg.contains(text), "chart: {text} missing");
    }
    let files = summary["files"].as_array().expect("files");
    assert!(files.iter().any(|f| f == "capacity.svg"), "{files:?}");
    // Only this chapter ran: no article chart, no ab files.
    assert!(!dir.join("cdf.svg").exists());
}
