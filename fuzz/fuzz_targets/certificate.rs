//! The DER walk to a server certificate's key size (ab's TLS report line)
//! against any bytes: a server sends what it likes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = speedup_load::fuzzing::certificate_key_bits(data);
});
