//! A metadata value as a node returns it (codec byte, u32 LE length, flexbuffers payload): every
//! decoder the client runs on one, and every edit of the nodes configuration written back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_restate::fuzzing;

fuzz_target!(|bytes: &[u8]| fuzzing::metadata_value(bytes));
