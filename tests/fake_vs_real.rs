//! The in-process fake the handler tests run against is checked here against a real Restate node
//! (of the version under test): the same scenario, driven through the resources' handlers as
//! Terraform drives them, gives the same transcript on both.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::restate::{Node, NodeSpec, ALL_ROLES};
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
