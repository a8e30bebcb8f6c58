//! `rust-version` is the true minimum: every crate inherits the
//! workspace's, and it is exactly the highest `rust-version` any locked
//! dependency declares (lower would be a lie; higher, a needless demand).
//! Clippy's `incompatible_msrv` lint (CI runs clippy with `-D warnings`)
//! then checks our own code against it.

mod metadata_support;

use metadata_support::cargo_metadata;

/// `1.85` and `1.85.0` alike, as `[1, 85, 0]`.
fn version(v: &str) -> Vec<u32> {
    let mut parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    parts.resize(3, 0);
    parts
}

#[test]
fn rust_version_is_the_locked_dependencies_minimum_for_every_crate() {
    let meta = cargo_metadata();
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let mut ours = Vec::new();
    let mut needed = (vec![0], String::new());
    for p in meta["packages"].as_array().unwrap() {
        let rv = p["rust_version"].as_str();
        let name = p["name"].as_str().unwrap().to_string();
        if members.contains(&p["id"].as_str().unwrap()) {
            ours.push((name, rv.map(str::to_string)));
        } else if let Some(rv) = rv {
            if version(rv) > needed.0 {
                needed = (version(rv), format!("{name} {rv}"));
            }
        }
    }
    assert!(ours.len() >= 6, "{ours:?}");
    let first = ours[0].1.clone().expect("a rust-version");
    for (name, rv) in &ours {
        assert_eq!(
            rv.as_deref(),
            Some(first.as_str()),
            "{name} must inherit rust-version"
        );
    }
    assert_eq!(
        version(&first),
        needed.0,
        "rust-version {first} is not the locked dependencies' minimum ({})",
        needed.1
    );
}
