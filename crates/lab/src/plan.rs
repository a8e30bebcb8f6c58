//! What the lab runs: scenarios (a name and a path) against servers (the
//! embedded one, a `--target`, `--compare` servers), with the article's
//! request count, concurrency and sleep.

use std::path::PathBuf;

use speedup_report::escape::escaped;

use crate::capacity::CapacitySettings;
use crate::chapters::Chapter;
use crate::LabError;

/// One request path to measure, e.g. `baseline` → `/baseline/sleep/0.1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Short name, used in the chart legend and file names.
    pub name: String,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Scenario {
    /// The article's two scenarios for a sleep of `sleep` seconds.
    pub fn article(sleep: f64) -> Vec<Scenario> {
        let n = speedup_server::pyfloat::format(sleep);
        vec![
            Scenario {
                name: "baseline".into(),
                path: format!("/baseline/sleep/{n}"),
            },
            Scenario {
                name: "async".into(),
                path: format!("/async/sleep/{n}"),
            },
        ]
    }
}

/// A server to run the scenarios against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// Prefix of the scenario names (`speedup`, `FastAPI`); `None` when the
    /// lab runs against one server only, so names stay `baseline`, `async`.
    pub label: Option<String>,
    /// `http://host:port`, without a trailing slash.
    pub base_url: String,
}

impl Server {
    /// The full name of `scenario` on this server.
    pub fn scenario_name(&self, scenario: &Scenario) -> String {
        match &self.label {
            Some(label) => format!("{label} {}", scenario.name),
            None => scenario.name.clone(),
        }
    }
}

/// Everything `speedup lab` does, validated before any work.
#[derive(Clone, Debug, PartialEq)]
pub struct LabPlan {
    /// Requests per scenario (ab's `-n`; the article: 1000).
    pub requests: u64,
    /// Requests in flight at once (ab's `-c`; the article: 100).
    pub concurrency: u32,
    /// The sleep the article's endpoints are asked for, in seconds (0.1).
    pub sleep: f64,
    /// Threads in the embedded server's blocking pool (FastAPI's 40).
    pub threads: usize,
    /// What to run; [`Scenario::article`] by default.
    pub scenarios: Vec<Scenario>,
    /// Run against this server (`http://host:port`) instead of the embedded one.
    pub target: Option<String>,
    /// More servers whose runs go beside the main one: (label, base URL).
    pub compare: Vec<(String, String)>,
    /// Send `concurrency` unrecorded requests first, so connection set-up
    /// and lazy initialisation do not land in the figures.
    pub warmup: bool,
    /// Where the report folder goes.
    pub out_dir: PathBuf,
    /// The chapters to run, in order ([`Chapter::Io`], the article, by
    /// default); the scenarios, `--compare` and the settings above shape
    /// the io chapter, the others have the series' own shapes.
    pub chapters: Vec<Chapter>,
    /// Also sweep the io chapter's two endpoints over concurrency levels.
    pub sweep: bool,
    /// How the capacity chapter searches.
    pub capacity: CapacitySettings,
}

impl Default for LabPlan {
    fn default() -> Self {
        LabPlan {
            requests: 1000,
            concurrency: 100,
            sleep: 0.1,
            threads: 40,
            scenarios: Scenario::article(0.1),
            target: None,
            compare: Vec::new(),
            warmup: true,
            out_dir: PathBuf::from("lab-report"),
            chapters: vec![Chapter::Io],
            sweep: false,
            capacity: CapacitySettings::default(),
        }
    }
}

/// The embedded server refuses longer sleeps unless told otherwise.
const DEFAULT_MAX_SLEEP: f64 = 60.0;

/// The capacity chapter's shortest step: shorter ones hold too few
/// requests at the low rates where a search starts (bench itself asks for
/// 500 ms; the lab's tests go lower).
const MIN_STEP: std::time::Duration = std::time::Duration::from_millis(250);
/// Its longest step.
const MAX_STEP: std::time::Duration = std::time::Duration::from_secs(600);
/// Its most connections.
const MAX_CONNECTIONS: u32 = 4000;
/// Open files besides the connections: stdio, runtimes, timers, the
/// report's files, headroom.
const RESERVED_FILES: u64 = 256;

impl LabPlan {
    /// Checks the plan; the error names the option and the fix.
    pub fn validate(&self) -> Result<(), LabError> {
        let bad = |msg: String| Err(LabError::Plan(msg));
        if self.requests == 0 {
            return bad("--requests must be at least 1".into());
        }
        if self.concurrency == 0 {
            return bad("--concurrency must be at least 1".into());
        }
        if u64::from(self.concurrency) > self.requests {
            return bad(format!(
                "--concurrency {} is greater than --requests {}: lower --concurrency or raise --requests",
                self.concurrency, self.requests
            ));
        }
        if !self.sleep.is_finite() || self.sleep <= 0.0 || self.sleep > DEFAULT_MAX_SLEEP {
            return bad(format!(
                "--sleep {} is out of range: give seconds above 0 and at most {DEFAULT_MAX_SLEEP}, e.g. --sleep 0.1",
                self.sleep
            ));
        }
        if self.threads == 0 {
            return bad("--threads must be at least 1 (FastAPI's pool has 40)".into());
        }
        if self.chapters.is_empty() {
            return bad(
                "no chapters: give --chapter io, cpu, mixed, stall, capacity or all".into(),
            );
        }
        self.capacity_valid()?;
        if self.scenarios.is_empty() {
            return bad("no scenarios: give at least one --scenario NAME=PATH".into());
        }
        let mut names = Vec::new();
        for s in &self.scenarios {
            if s.name.trim().is_empty() || !s.path.starts_with('/') {
                return bad(format!(
                    "--scenario {}={}: expected NAME=PATH with a path starting with /, e.g. baseline=/baseline/sleep/0.1",
                    escaped(&s.name), escaped(&s.path)
                ));
            }
            names.push(s.name.as_str());
        }
        for (label, url) in &self.compare {
            if label.trim().is_empty() || !url.starts_with("http://") {
                return bad(format!(
                    "--compare {}={}: expected NAME=URL with an http:// URL, e.g. FastAPI=http://127.0.0.1:8000",
                    escaped(label), escaped(url)
                ));
            }
            names.push(label.as_str());
        }
        if let Some(url) = &self.target {
            if !url.starts_with("http://") {
                return bad(format!(
                    "--target {}: expected an http:// URL, e.g. --target http://127.0.0.1:8000",
                    escaped(url)
                ));
            }
        }
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return bad(format!(
                "the name `{}` is used twice: give each --scenario and --compare its own name",
                escaped(w[0])
            ));
        }
        // Each run writes NAME.csv and NAME.txt under a file-name-safe
        // NAME: two runs must not write the same files.
        let mut files: Vec<(String, String)> = Vec::new();
        for server in self.servers(Some("")) {
            for scenario in &self.scenarios {
                let name = server.scenario_name(scenario);
                let file = crate::folder::slug(&name);
                if let Some((other, _)) = files.iter().find(|(_, f)| *f == file) {
                    return bad(format!(
                        "scenarios `{}` and `{}` would both write {file}.csv: give one of them another name",
                        escaped(other), escaped(&name)
                    ));
                }
                files.push((name, file));
            }
        }
        Ok(())
    }

    /// The capacity chapter's settings, checked (whether it runs or not).
    fn capacity_valid(&self) -> Result<(), LabError> {
        let c = &self.capacity;
        let bad = |msg: String| Err(LabError::Plan(msg));
        if !(MIN_STEP..=MAX_STEP).contains(&c.step) {
            return bad(format!(
                "--step-duration {:?} is out of range: give {MIN_STEP:?} to {MAX_STEP:?}, e.g. \
                 --step-duration 2s",
                c.step
            ));
        }
        if !(2..=100).contains(&c.max_steps) {
            return bad(format!(
                "--max-steps {} is out of range: give 2 (one step that passes, one that fails) \
                 to 100",
                c.max_steps
            ));
        }
        if !(1..=MAX_CONNECTIONS).contains(&c.connections) {
            return bad(format!(
                "--connections {} is out of range: give 1 to {MAX_CONNECTIONS} (each is two \
                 open files in this process, the client's and the embedded server's)",
                c.connections
            ));
        }
        Ok(())
    }

    /// Open files the lab may need at once: the most connections of any
    /// run, twice (the client's and the embedded server's ends are both in
    /// this process), plus the process's own.
    pub fn open_files(&self) -> u64 {
        let mut connections = self.concurrency;
        if self.sweep {
            connections = connections.max(crate::sweep::LEVELS.into_iter().max().unwrap_or(0));
        }
        if self.chapters.contains(&Chapter::Capacity) {
            connections = connections.max(self.capacity.connections);
        }
        2 * u64::from(connections) + RESERVED_FILES
    }

    /// Whether the embedded server is needed (no `--target`).
    pub fn needs_embedded(&self) -> bool {
        self.target.is_none()
    }

    /// The embedded server's settings: the pool size asked for, and room
    /// for the sleep asked for. The first-byte timeout is the header
    /// timeout's 10 s: the stall chapter's clients queue for seconds behind
    /// blocked workers before their first byte is read. An idle keep-alive
    /// connection is kept for a capacity step and its settle at least:
    /// a step at a low rate uses each of its connections seldom (the
    /// engine never resends a request the server's close cut off, so a
    /// connection closed while idle would fail its next request).
    pub fn server_config(&self) -> speedup_server::Config {
        let defaults = speedup_server::Config::default();
        let step = self.capacity.step + std::time::Duration::from_secs(2);
        speedup_server::Config {
            threads: self.threads,
            max_sleep: DEFAULT_MAX_SLEEP.max(self.sleep),
            grace: std::time::Duration::from_secs(1),
            first_byte_timeout: std::time::Duration::from_secs(10),
            keep_alive: defaults.keep_alive.max(step),
            ..defaults
        }
    }

    /// The servers to run against, in order: the main one (embedded at
    /// `embedded`, or `--target`), then the `--compare` ones.
    pub fn servers(&self, embedded: Option<&str>) -> Vec<Server> {
        let several = !self.compare.is_empty();
        let (label, base) = match &self.target {
            Some(url) => ("target", url.as_str()),
            None => ("speedup", embedded.unwrap_or_default()),
        };
        let mut servers = vec![Server {
            label: several.then(|| label.to_string()),
            base_url: base.trim_end_matches('/').to_string(),
        }];
        servers.extend(self.compare.iter().map(|(label, url)| Server {
            label: Some(label.clone()),
            base_url: url.trim_end_matches('/').to_string(),
        }));
        servers
    }

    /// The ideal response time: the sleep, in ms.
    pub fn ideal_ms(&self) -> f64 {
        self.sleep * 1000.0
    }

    /// The io chapter's ideal, in ms: the sleep, when every scenario asks
    /// a sleep endpoint for it; `None` for other paths, whose time nothing
    /// says.
    pub fn scenarios_ideal_ms(&self) -> Option<f64> {
        let sleep = format!("/sleep/{}", speedup_server::pyfloat::format(self.sleep));
        let asks = |s: &Scenario| s.path.ends_with(&sleep) && s.path.matches('/').count() == 3;
        self.scenarios.iter().all(asks).then(|| self.ideal_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_scenarios_format_the_sleep_like_python() {
        let s = Scenario::article(1.0);
        assert_eq!(s[0].path, "/baseline/sleep/1.0");
        assert_eq!(s[1].path, "/async/sleep/1.0");
    }

    #[test]
    fn validation_names_the_option() {
        let plan = LabPlan {
            concurrency: 200,
            requests: 100,
            ..LabPlan::default()
        };
        let err = plan.validate().unwrap_err().to_string();
        assert!(err.contains("--concurrency 200"), "{err}");
        let plan = LabPlan {
            compare: vec![("baseline".into(), "http://127.0.0.1:1".into())],
            ..LabPlan::default()
        };
        assert!(plan.validate().unwrap_err().to_string().contains("twice"));
        let plan = LabPlan {
            scenarios: vec![
                Scenario {
                    name: "a b".into(),
                    path: "/x".into(),
                },
                Scenario {
                    name: "a-b".into(),
                    path: "/y".into(),
                },
            ],
            ..LabPlan::default()
        };
        let err = plan.validate().unwrap_err().to_string();
        assert!(err.contains("would both write a-b.csv"), "{err}");
        let plan = LabPlan {
            sleep: 0.0,
            ..LabPlan::default()
        };
        assert!(plan
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--sleep 0"));
    }

    #[test]
    fn capacity_settings_are_checked_naming_the_flag() {
        let with = |capacity: CapacitySettings| LabPlan {
            capacity,
            ..LabPlan::default()
        };
        let defaults = CapacitySettings::default();
        let cases = [
            (
                CapacitySettings {
                    step: std::time::Duration::from_millis(100),
                    ..defaults.clone()
                },
                "--step-duration 100ms",
            ),
            (
                CapacitySettings {
                    max_steps: 1,
                    ..defaults.clone()
                },
                "--max-steps 1",
            ),
            (
                CapacitySettings {
                    connections: 0,
                    ..defaults.clone()
                },
                "--connections 0",
            ),
        ];
        for (settings, flag) in cases {
            let err = with(settings).validate().unwrap_err().to_string();
            assert!(err.contains(flag), "{err}");
        }
        assert!(with(defaults).validate().is_ok());
    }

    #[test]
    fn open_files_count_both_ends_of_the_most_connections() {
        let mut plan = LabPlan::default();
        assert_eq!(plan.open_files(), 2 * 100 + RESERVED_FILES);
        plan.chapters = vec![Chapter::Capacity];
        assert_eq!(plan.open_files(), 2 * 256 + RESERVED_FILES);
        plan.sweep = true;
        plan.capacity.connections = 16;
        assert_eq!(plan.open_files(), 2 * 200 + RESERVED_FILES);
    }

    #[test]
    fn names_get_a_server_label_only_when_comparing() {
        let mut plan = LabPlan::default();
        let one = plan.servers(Some("http://127.0.0.1:9"));
        assert_eq!(one[0].scenario_name(&plan.scenarios[0]), "baseline");
        plan.compare = vec![("FastAPI".into(), "http://127.0.0.1:8000/".into())];
        let two = plan.servers(Some("http://127.0.0.1:9"));
        assert_eq!(two[0].scenario_name(&plan.scenarios[1]), "speedup async");
        assert_eq!(two[1].scenario_name(&plan.scenarios[0]), "FastAPI baseline");
        assert_eq!(two[1].base_url, "http://127.0.0.1:8000");
    }
}
