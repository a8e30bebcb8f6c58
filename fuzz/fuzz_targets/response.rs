//! The engine's HTTP/1.x response parser against any bytes, split any way.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, wire)) = data.split_first() else {
        return;
    };
    let step = 1 + usize::from(control & 0x7f) * 37;
    speedup_load::fuzzing::feed_response(wire, step, control & 0x80 != 0);
});
