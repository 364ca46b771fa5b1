//! The in-process fake the handler tests run against is checked here against a real Restate node
//! (of the version under test): the same scenario, driven through the resources' handlers as
//! Terraform drives them, gives the same transcript on both.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::ctl;
use support::restate::{Node, NodeSpec, ALL_ROLES};
use support::s3::S3;
use terraform_provider_restate::testing::fake::{
    repository_not_configured, FakeCluster, FakeState,
};
use terraform_provider_restate::testing::{
    scenarios, AdminClient, ClientSettings, Endpoint, RetryPolicy,
};

#[test]
fn the_fake_and_a_real_node_give_the_same_transcript() {
    crate::e2e!();
    // A fresh node with every role and no snapshot repository.
    let node = Node::start(NodeSpec::new("n1", "scenario", ALL_ROLES));
    let client = AdminClient::new(ClientSettings {
        endpoints: vec![Endpoint::parse(&node.fabric_url()).unwrap()],
        cluster_name: None,
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy::default(),
        tls: Default::default(),
    })
    .unwrap();
    let mut fresh = FakeState::fresh("scenario");
    fresh.snapshot_failures = (0..2).map(|p| (p, repository_not_configured(p))).collect();
    let fake = FakeCluster::new(fresh);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let real = rt.block_on(scenarios::provision_configure_refuse(Arc::new(client)));
    let faked = rt.block_on(scenarios::provision_configure_refuse(Arc::new(fake)));
    eprintln!("{}", real.join("\n"));
    assert!(real.len() > 10, "{real:#?}");
    assert_eq!(
        real,
        faked,
        "\nreal:\n{}\n\nfake:\n{}",
        real.join("\n"),
        faked.join("\n")
    );
}

/// A node's lifecycle (drain, read-only, out of the metadata servers, removal, and the refusal
/// of a removal that no longer fits) on three real nodes and on the fake's three nodes.
#[test]
fn a_nodes_lifecycle_goes_the_same_way_on_the_fake_and_on_real_nodes() {
    crate::e2e!();
    // A snapshot repository: removing a node trims the log segments that include it, after a
    // snapshot (the fake's cluster has one too).
    let s3 = S3::start("snapshots");
    let mut spec = NodeSpec::new("n1", "lifecycle", ALL_ROLES);
    spec.num_partitions = 2;
    spec.extra_toml = s3.snapshots_toml("snapshots", "lifecycle");
    let mut n1 = Node::start(spec);
    n1.provision("replicated");
    let url = n1.fabric_url();
    let others: Vec<Node> = ["n2", "n3"]
        .iter()
        .map(|name| {
            let mut spec = NodeSpec::new(name, "lifecycle", ALL_ROLES);
            spec.num_partitions = 2;
            spec.metadata_addresses = vec![url.clone()];
            spec.extra_toml = s3.snapshots_toml("snapshots", "lifecycle");
            let mut node = Node::start(spec);
            node.wait_alive(Duration::from_secs(60));
            node
        })
        .collect();
    // Partitions and logs at two copies, the logs moved there, every node a metadata server.
    ctl::run(
        &url,
        &[
            "config",
            "set",
            "--log-replication",
            "2",
            "--partition-replication",
            "2",
            "--yes",
        ],
    );
    wait_until(
        Duration::from_secs(90),
        "logs on two copies and three metadata members",
        || {
            let logs_moved = ctl::log_tails(&url).iter().all(|t| {
                t.kind == "replicated" && t.replication == Some(serde_json::json!({"node": 2}))
            });
            let members = ctl::nodes(&url).len() == 3;
            logs_moved && members && metadata_members(&url) == 3
        },
    );
    let client = AdminClient::new(ClientSettings {
        endpoints: vec![Endpoint::parse(&url).unwrap()],
        cluster_name: None,
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy::default(),
        tls: Default::default(),
    })
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let real = rt.block_on(scenarios::lifecycle_of_a_node(Arc::new(client)));
    let fake = FakeCluster::new(FakeState::three_nodes("lifecycle"));
    let faked = rt.block_on(scenarios::lifecycle_of_a_node(Arc::new(fake)));
    eprintln!("{}", real.join("\n"));
    assert!(
        real.iter().any(|l| l == "destroy n3: removed = true"),
        "{real:#?}"
    );
    assert_eq!(
        real,
        faked,
        "\nreal:\n{}\n\nfake:\n{}",
        real.join("\n"),
        faked.join("\n")
    );
    // And restatectl agrees that n3 is gone.
    assert!(!ctl::nodes(&url).contains_key("n3"));
    drop(others);
}

fn metadata_members(url: &str) -> usize {
    ctl::output(url, &["metadata-server", "list-servers"])
        .stdout
        .split(|b| *b == b'\n')
        .filter(|line| String::from_utf8_lossy(line).contains("Member"))
        .count()
}

fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
