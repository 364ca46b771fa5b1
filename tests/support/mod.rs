//! Real-cluster test harness: Restate nodes (`restate`), on loopback ports or on test hosts of
//! their own, each its own network namespace on a bridge (`hosts`, for the fault suite), what
//! `restatectl` reports about them (`ctl`), the terraform binary (`terraform`), a loopback S3
//! server (`s3`), plain HTTP (`http`), a slow relay in front of a server (`relay`), the provider
//! binary started as Terraform starts it (`plugin`), and the reference docs generated from the
//! provider's schema (`docgen`).
#![allow(dead_code)]

/// The first line of every test that starts Restate nodes: inside the private network namespace
/// scripts/test.sh runs the suite in, the test goes on; under a plain `cargo test` outside one it
/// is skipped, saying so (nothing may start a node where it could reach the network).
#[macro_export]
macro_rules! e2e {
    () => {
        if !$crate::support::restate::may_start_nodes() {
            eprintln!(
                "skipped: this end-to-end test starts Restate nodes, which run only inside a private \
                 network namespace; run scripts/test.sh"
            );
            return;
        }
    };
}

pub mod counter;
pub mod ctl;
pub mod docgen;
pub mod hosts;
pub mod http;
pub mod plugin;
pub mod relay;
pub mod restate;
pub mod s3;
pub mod terraform;

/// `["a", "b"]`: a list of quoted strings, written the same in TOML and in HCL.
pub fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{:?}", s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// The strings of a JSON array (roles, …), sorted; empty when it is not an array.
pub fn sorted_strings(v: &serde_json::Value) -> Vec<String> {
    let mut s: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect();
    s.sort();
    s
}
