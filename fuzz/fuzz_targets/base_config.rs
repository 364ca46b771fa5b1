//! A node's configuration merged into any `base_config`: an error only when it is not TOML, else
//! a file that parses, with the provider's keys, the rest of the base config, and stable.
//! Input: one byte picking the version and the optional sections, the node name up to the first
//! newline, then the base config (so a seed is a TOML file with two lines in front).
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_restate::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some((&variant, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (node_name, base_config) = text.split_once('\n').unwrap_or((text, ""));
    fuzzing::base_config(base_config, node_name, variant);
});
