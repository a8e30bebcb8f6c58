//! Real traffic over real sockets: several targets in one run (round robin,
//! each with its own figures), rates that ramp, and the highest rate a
//! server of known capacity sustains within an SLO.

mod support;

use std::io::Write;

use speedup_bench::findmax::find_max;
use speedup_bench::SeriesWriters;
use speedup_stats::hist_percentile;
use support::{args, bench, one_at_a_time, scratch};

/// The article's server, in-process, with `threads` in its blocking pool.
fn server(threads: usize) -> speedup_lab::EmbeddedServer {
    let config = speedup_server::Config {
        threads,
        ..speedup_server::Config::default()
    };
    speedup_lab::EmbeddedServer::start(config).expect("serve")
}

#[test]
fn targets_go_round_robin_each_with_its_own_histograms() {
    let server = server(40);
    let base = server.base_url();
    let file = scratch("targets").join("targets.txt");
    let mut f = std::fs::File::create(&file).expect("create");
    write!(
        f,
        "GET {base}/async/sleep/0.005\n\nGET {base}/async/sleep/0.05\nX-Note: slow\n\n\
         HEAD {base}/async/sleep/0\nPOST {base}/nowhere\n"
    )
    .expect("write");
    drop(f);
    let path = file.to_str().expect("utf-8 path");
    let r = bench(
        &["-n", "100", "-c", "4", "--threads", "1", "--targets", path],
        SeriesWriters::default(),
    );
    assert_eq!(r.total(), 100);
    let counts: Vec<u64> = r
        .tally
        .targets
        .iter()
        .map(|t| t.responses() + t.error_count())
        .collect();
    assert_eq!(counts, [25, 25, 25, 25], "round robin");
    let p50 = |i: usize| hist_percentile(&r.tally.targets[i].uncorrected, 50.0);
    assert!(
        (5_000..40_000).contains(&p50(0)),
        "fast target p50 {}",
        p50(0)
    );
    assert!(p50(1) >= 50_000, "slow target p50 {}", p50(1));
    assert_eq!(r.tally.targets[3].statuses(), [(404, 25)]);
    let json = speedup_bench::json::to_json(&r);
    assert_eq!(
        json["targets"][1]["url"],
        format!("{base}/async/sleep/0.05")
    );
    assert_eq!(json["targets"][3]["method"], "POST");
    assert_eq!(json["targets"][3]["status"]["404"], 25);
}

#[test]
fn a_ramp_sends_second_by_second_what_its_stages_say() {
    let server = server(40);
    let url = format!("{}/async/sleep/0", server.base_url());
    let dir = scratch("stages");
    let timeline = dir.join("timeline.csv");
    let _turn = one_at_a_time();
    // From 0 to 100/s over 2 s (25 then 75 requests), then 100/s for 1 s.
    let r = bench(
        &["--stages", "2s:100,1s:100", "-c", "10", &url],
        SeriesWriters {
            timeline: support::file(&timeline),
            ..SeriesWriters::default()
        },
    );
    assert_eq!(r.total(), 200);
    assert_eq!(r.tally.error_count(), 0);
    let per_second: Vec<i64> = std::fs::read_to_string(&timeline)
        .expect("timeline")
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(1)
                .expect("requests")
                .parse()
                .expect("a count")
        })
        .collect();
    // Counted by when each request completed: a few cross a second's end.
    for (second, want) in [(0, 25), (1, 75), (2, 100)] {
        let got = per_second[second];
        assert!(
            (got - want).abs() <= 5,
            "second {second}: {got} of {want}: {per_second:?}"
        );
    }
}

#[test]
fn find_max_lands_near_a_known_capacity() {
    // Two pool threads sleeping 5 ms each: at most 400 requests a second.
    let server = server(2);
    let url = format!("{}/baseline/sleep/0.005", server.base_url());
    let plan = args(&[
        "--find-max",
        "--slo",
        "p99<100ms",
        "--rate",
        "100",
        "--step-duration",
        "1s",
        "-c",
        "50",
        &url,
    ])
    .plan()
    .expect("plan");
    let settings = plan.find_max.clone().expect("find-max");
    let _turn = one_at_a_time();
    let search = find_max(
        &plan,
        &settings,
        None,
        &speedup_bench::Quiet,
        &speedup_load::Control::new(),
    )
    .expect("search");
    let (_, best) = search.best().expect("a rate that passes");
    let rates: Vec<(f64, bool)> = search.steps.iter().map(|s| (s.rate, s.ok())).collect();
    assert!(
        (320.0..=480.0).contains(&best.rate),
        "highest passing rate {} (steps {rates:?})",
        best.rate
    );
    assert!(search.steps.len() <= 12, "{rates:?}");
}
