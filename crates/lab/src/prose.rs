//! The page's story of the article's part: what the article did, then what
//! this run does and why its curves should come out as they do, in
//! sentences that hold for any flags; or, when the scenarios are not the
//! article's sleep endpoints, what was run and that there is no ideal.

/// The settings of this run, as the page describes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSettings {
    /// Requests per scenario.
    pub requests: u64,
    /// Requests in flight at once.
    pub concurrency: u64,
    /// The sleep each request asks for, ms (the ideal response time).
    pub sleep_ms: f64,
    /// The blocking pool of the server under test, when known (the
    /// embedded server's); `None` for an external server.
    pub threads: Option<u64>,
}

/// The article's experiment, then this run's: two paragraphs. The
/// article's settings are the article's (1000 requests, 100 at a time, a
/// 100 ms sleep, FastAPI's 40 threads); the second paragraph says only what
/// this run does and expects, not the article's lesson again.
pub fn article_intro(run: &RunSettings) -> String {
    let RunSettings {
        requests,
        concurrency: c,
        sleep_ms,
        threads,
    } = *run;
    let sleep = speedup_report::html::trim_ms(sleep_ms);
    let article = "The article compares two FastAPI endpoints that each sleep 100 ms: a blocking \
         `def` endpoint, which FastAPI runs on its pool of 40 threads, and an `async def` \
         endpoint, which waits on a timer and holds no thread. Apache Bench sends 1000 \
         requests, 100 at a time, to each.";
    let requests_text = plural(requests, "request", "requests");
    let mut this = format!(
        "This run sends {requests_text}, {c} at a time, each asking for a {sleep} ms sleep, \
         so ideally every request takes {sleep} ms."
    );
    match threads {
        Some(t) => {
            let pool = plural(t, "thread", "threads");
            let rounds = c.div_ceil(t.max(1));
            if rounds > 1 {
                this.push_str(&format!(
                    " With a pool of {pool}, fewer than the {c} requests in flight, the \
                     blocking endpoint serves them in up to {rounds} rounds, so its tail grows \
                     towards {rounds} times the ideal; the timers serve all {c} in one round."
                ));
            } else {
                this.push_str(&format!(
                    " With a pool of {pool}, enough for all {c} requests in flight, the \
                     blocking endpoint serves every request in one round, like the timers: \
                     both tails stay near the ideal."
                ));
            }
        }
        None => this.push_str(
            " The server under test is external: its blocking pool, and so how many requests \
             queue, are its own.",
        ),
    }
    format!("{article}\n\n{this}")
}

/// What a run of custom scenarios does: their paths are not the article's
/// sleep endpoints, so nothing says how long they should take.
pub fn custom_intro(requests: u64, concurrency: u64, scenarios: &[(&str, &str)]) -> String {
    let list: Vec<String> = scenarios
        .iter()
        .map(|(name, path)| format!("{name} (`{path}`)"))
        .collect();
    format!(
        "This run sends {}, {concurrency} at a time, to each scenario: {}. They are not the \
         article's sleep endpoints, so there is no ideal time to hold them against: the chart \
         and the table show what each took.",
        plural(requests, "request", "requests"),
        list.join(", ")
    )
}

/// `1 request`, `2 requests`.
fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intro(requests: u64, concurrency: u64, sleep_ms: f64, threads: Option<u64>) -> String {
        article_intro(&RunSettings {
            requests,
            concurrency,
            sleep_ms,
            threads,
        })
    }

    #[test]
    fn the_intro_is_true_for_any_flags_and_says_things_once() {
        // The article's own settings stay the article's, whatever this run's.
        for text in [
            intro(1000, 100, 100.0, Some(40)),
            intro(200, 20, 50.0, Some(100)),
            intro(1, 1, 1000.0, Some(1)),
        ] {
            let (article, this) = text.split_once("\n\n").unwrap();
            assert!(
                article.contains("sends 1000 requests, 100 at a time"),
                "{text}"
            );
            assert!(article.contains("pool of 40 threads"), "{text}");
            // The lesson is told once: the article's paragraph has no rounds.
            assert!(
                !article.contains("round") && this.contains("round"),
                "{text}"
            );
        }
        let default = intro(1000, 100, 100.0, Some(40));
        assert!(default.contains(
            "This run sends 1000 requests, 100 at a time, each asking for a 100 ms sleep"
        ));
        assert!(default.contains("pool of 40 threads, fewer than the 100 requests in flight"));
        assert!(default.contains("up to 3 rounds"));

        let big_pool = intro(200, 20, 50.0, Some(100));
        assert!(
            big_pool.contains("This run sends 200 requests, 20 at a time"),
            "{big_pool}"
        );
        assert!(big_pool.contains("pool of 100 threads, enough for all 20 requests"));
        assert!(big_pool.contains("one round"));
        assert!(!big_pool.contains("1 rounds"), "{big_pool}");

        let tiny = intro(1, 1, 1000.0, Some(1));
        assert!(tiny.contains("sends 1 request, 1 at a time"), "{tiny}");
        assert!(tiny.contains("pool of 1 thread, enough"), "{tiny}");

        assert!(intro(100, 41, 100.0, Some(40)).contains("up to 2 rounds"));

        let external = intro(1000, 100, 100.0, None);
        assert!(external.contains("external"), "{external}");
        assert!(!external.split("\n\n").nth(1).unwrap().contains("rounds"));
    }

    #[test]
    fn custom_scenarios_get_no_ideal() {
        let text = custom_intro(200, 20, &[("fast", "/fast"), ("slow", "/slow")]);
        assert!(text.contains(
            "200 requests, 20 at a time, to each scenario: fast (`/fast`), slow (`/slow`)"
        ));
        assert!(
            text.contains("no ideal time") && !text.contains("100 ms"),
            "{text}"
        );
    }
}
