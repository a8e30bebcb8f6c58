//! `speedup ab`'s flag parsing and validation against any argument list
//! (NUL-separated): a plan or an error naming the problem, never a panic.
#![no_main]

use clap::{Args, Command, FromArgMatches};
use libfuzzer_sys::fuzz_target;
use speedup_ab::{flags, AbArgs};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<&str> = text.split('\0').collect();
    // -p/-u read files: keep the fuzzer off the file system.
    if args
        .iter()
        .any(|a| a.starts_with('-') && (a.contains('p') || a.contains('u')))
    {
        return;
    }
    let command = AbArgs::augment_args(Command::new("ab").no_binary_name(true));
    let Ok(matches) = command.try_get_matches_from(&args) else {
        return;
    };
    let Ok(parsed) = AbArgs::from_arg_matches(&matches) else {
        return;
    };
    if let Ok(plan) = flags::plan(&parsed) {
        assert!(plan.validate().is_ok());
    }
});
