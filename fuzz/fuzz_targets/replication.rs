//! The replication grammar (`2`, `{node: 3, zone: 2}`): any text parses or is refused, and what
//! parses round-trips through each of its spellings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_restate::fuzzing;

fuzz_target!(|text: &str| fuzzing::replication(text));
