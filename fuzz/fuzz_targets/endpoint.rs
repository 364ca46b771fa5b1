//! Endpoints (`http://host:5122`): any text parses or is refused, and what parses is a URI with a
//! host and a port that parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_restate::fuzzing;

fuzz_target!(|text: &str| fuzzing::endpoint(text));
