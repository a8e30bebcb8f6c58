//! The dependency split holds: `speedup-ab` and `speedup-bench` only count
//! and compute percentiles, so they build on `speedup-stats` and never
//! compile plotters, image or font rendering; and the binary has one
//! `base64`. Read from `cargo metadata --locked` (the resolved graph, normal
//! dependencies only, on this host), so no network and no build.

mod metadata_support;

use std::collections::{BTreeSet, HashMap};

use metadata_support::cargo_metadata;

/// The resolved graph: package id to (name, version) and to the ids of its
/// normal (not dev, not build) dependencies.
struct Graph {
    packages: HashMap<String, (String, String)>,
    normal: HashMap<String, Vec<String>>,
}

impl Graph {
    fn load() -> Graph {
        let meta = cargo_metadata();
        let packages = meta["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| {
                let id = p["id"].as_str().expect("id").to_owned();
                let name = p["name"].as_str().expect("name").to_owned();
                let version = p["version"].as_str().expect("version").to_owned();
                (id, (name, version))
            })
            .collect();
        let normal = meta["resolve"]["nodes"]
            .as_array()
            .expect("resolve nodes")
            .iter()
            .map(|node| {
                let deps = node["deps"]
                    .as_array()
                    .expect("deps")
                    .iter()
                    .filter(|d| {
                        d["dep_kinds"]
                            .as_array()
                            .expect("dep_kinds")
                            .iter()
                            .any(|k| k["kind"].is_null())
                    })
                    .map(|d| d["pkg"].as_str().expect("pkg").to_owned())
                    .collect();
                (node["id"].as_str().expect("id").to_owned(), deps)
            })
            .collect();
        Graph { packages, normal }
    }

    /// `name@version` of every package `root` depends on, itself included.
    fn closure(&self, root: &str) -> BTreeSet<String> {
        let start = self
            .packages
            .iter()
            .find(|(_, (name, _))| name == root)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("{root} is not in the workspace"));
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(id) = todo.pop() {
            if seen.insert(id.clone()) {
                todo.extend(self.normal.get(&id).into_iter().flatten().cloned());
            }
        }
        seen.iter()
            .map(|id| {
                let (name, version) = &self.packages[id];
                format!("{name}@{version}")
            })
            .collect()
    }
}

#[test]
fn ab_and_bench_do_not_compile_charts() {
    let graph = Graph::load();
    for light in ["speedup-ab", "speedup-bench"] {
        let deps = graph.closure(light);
        assert!(
            deps.iter().any(|d| d.starts_with("speedup-stats@")),
            "{light} should compute percentiles with speedup-stats: {deps:?}"
        );
        for heavy in ["plotters", "image", "ab_glyph", "speedup-report", "png"] {
            assert!(
                !deps.iter().any(|d| d.starts_with(&format!("{heavy}@"))),
                "{light} depends on {heavy}: charts belong to speedup-report, which only \
                 plot, report and lab use ({deps:?})"
            );
        }
    }
}

#[test]
fn the_binary_has_one_base64() {
    let deps = Graph::load().closure("speedup");
    let base64: Vec<&String> = deps.iter().filter(|d| d.starts_with("base64@")).collect();
    assert_eq!(
        base64.len(),
        1,
        "one base64 version (hdrhistogram's): {base64:?}"
    );
}
