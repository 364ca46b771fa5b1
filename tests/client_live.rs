//! The admin client against a real Restate node (of the version under test): our wire messages and
//! metadata decoding agree with what restatectl reports.

mod support;

use std::time::Duration;

use support::restate::{Node, NodeSpec, ALL_ROLES};
use terraform_provider_restate::testing::{
    read_view, AdminClient, ClientSettings, Endpoint, LogProvider, ProvisionRequest, Provisioned,
    Replication, RetryPolicy, Role, ViewCache,
};

fn client(node: &Node) -> AdminClient {
    AdminClient::new(ClientSettings {
        endpoints: vec![Endpoint::parse(&node.fabric_url()).unwrap()],
        cluster_name: Some(node.spec.cluster.clone()),
        request_timeout: std::time::Duration::from_secs(10),
        retry: RetryPolicy::default(),
        tls: Default::default(),
    })
    .expect("client")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

#[test]
fn provision_ident_config_nodes_and_logs_match_restatectl() {
    crate::e2e!();
    let mut node = Node::start(NodeSpec::new("n1", "live", ALL_ROLES));
    let c = client(&node);
    let rt = runtime();

    let ident = rt.block_on(c.ident()).unwrap();
    assert_eq!(ident.cluster_name, "live");
    assert!(!ident.provisioned);
    assert_eq!(ident.node_id, None);

    let req = ProvisionRequest {
        num_partitions: Some(3),
        log_provider: Some(LogProvider::Replicated),
        log_replication: Some(Replication::nodes(1)),
        ..Default::default()
    };
    let endpoint = node.fabric_url();
    // A dry run says what provisioning would set up, and changes nothing.
    let resolved = rt.block_on(c.provision_dry_run(&endpoint, &req)).unwrap();
    assert_eq!(
        (resolved.num_partitions, resolved.log_replication.clone()),
        (3, Some(Replication::nodes(1)))
    );
    assert!(!rt.block_on(c.ident()).unwrap().provisioned);
    assert_eq!(
        rt.block_on(c.provision_at(&endpoint, &req)).unwrap(),
        Provisioned::Now
    );
    assert_eq!(
        rt.block_on(c.provision_at(&endpoint, &req)).unwrap(),
        Provisioned::Already
    );
    node.wait_alive(Duration::from_secs(60));

    // The configuration as the metadata store holds it, as restatectl reads it.
    let stored = rt.block_on(c.stored_config()).unwrap();
    assert!(stored.logs_version > 0 && stored.partition_table_version > 0);
    let config = stored.config;
    let ctl = node.cluster_config();
    assert_eq!(config.num_partitions.to_string(), ctl.num_partitions);
    assert_eq!(config.log_provider.to_string(), ctl.log_provider);
    assert_eq!(
        config.log_replication.map(|r| r.to_string()),
        ctl.log_replication
    );
    assert_eq!(
        config.partition_replication.map(|r| r.to_string()),
        Some(ctl.partition_replication)
    );

    let ident = rt.block_on(c.ident()).unwrap();
    assert!(ident.provisioned);
    assert_eq!(ident.node_id, Some(1));

    node.wait_log_server_read_write(Duration::from_secs(60));
    let view = rt.block_on(read_view(&c)).unwrap();
    let ctl_nodes = node.metadata("nodes_config");
    assert_eq!(view.cluster_name, "live");
    assert_eq!(
        view.cluster_fingerprint,
        ctl_nodes["cluster_fingerprint"].as_u64().unwrap()
    );
    assert_eq!(view.nodes.len(), 1);
    let n1 = &view.nodes[0];
    assert!(n1.alive, "{view:?}");
    let ctl_n1 = &ctl_nodes["nodes"][0][1]["Node"];
    assert_eq!(n1.record.name, ctl_n1["name"]);
    assert_eq!(
        n1.record.generation as u64,
        ctl_n1["current_generation"][1].as_u64().unwrap()
    );
    assert_eq!(n1.record.log_server_storage_state, "read-write");
    let mut roles: Vec<String> = n1.record.roles.iter().map(|r| r.to_string()).collect();
    roles.sort();
    let mut ctl_roles: Vec<String> = ctl_n1["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    ctl_roles.sort();
    assert_eq!(roles, ctl_roles);

    let logs = rt.block_on(c.logs()).unwrap();
    assert_eq!(logs.logs.len(), 3);
    assert_eq!(logs.default_provider, LogProvider::Replicated);
}

#[test]
fn a_restarted_node_is_seen_alive_with_its_new_roles() {
    crate::e2e!();
    let mut spec = NodeSpec::new("n1", "restart", &["worker", "admin", "metadata-server"]);
    spec.log_provider = Some("local".into());
    let mut node = Node::start(spec);
    node.provision("local");
    node.restart_with(|s| s.roles.push("log-server".into()));
    node.wait_log_server_read_write(Duration::from_secs(60));
    let c = client(&node);
    let view = runtime().block_on(read_view(&c)).unwrap();
    let n1 = &view.nodes[0];
    assert!(n1.record.has_role(Role::LogServer), "{view:?}");
    assert!(n1.alive, "{view:?}");
}

/// Writes the metadata payloads the unit tests in `src/client/metadata.rs` decode. Run with
/// `scripts/test.sh --capture-fixtures` (it passes `--ignored`) after a Restate upgrade; with
/// `RESTATE_TF_TEST_VERSION` set, the files are of (and named after) that version.
#[test]
#[ignore = "writes tests/fixtures; run on purpose"]
fn capture_fixtures() {
    crate::e2e!();
    let mut spec = NodeSpec::new(
        "n1",
        "fixture",
        &["worker", "admin", "metadata-server", "http-ingress"],
    );
    spec.log_provider = Some("local".into());
    let mut node = Node::start(spec);
    node.provision("local");
    // Logs appear as their partitions start; capture once all of them exist.
    let started = std::time::Instant::now();
    while node.log_tails().len() < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "logs were not created"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let dir = support::restate::project_root().join("tests/fixtures");
    // Named by the version they come from (`RESTATE_TF_TEST_VERSION`, default 1.7.12).
    let version = support::restate::restate_version();
    std::fs::create_dir_all(&dir).unwrap();
    let save = |node: &Node, key: &str, file: &str| {
        let bytes = runtime()
            .block_on(client(node).metadata_bytes(key))
            .unwrap()
            .unwrap()
            .1;
        std::fs::write(dir.join(file), bytes).unwrap();
    };
    save(
        &node,
        "bifrost_config",
        &format!("bifrost_config-local-{version}.bin"),
    );
    node.restart_with(|s| s.roles.push("log-server".into()));
    node.wait_log_server_read_write(Duration::from_secs(60));
    node.ctl(&[
        "config",
        "set",
        "--log-provider",
        "replicated",
        "--log-replication",
        "1",
        "--yes",
    ]);
    let started = std::time::Instant::now();
    while node
        .log_tails()
        .iter()
        .any(|(kind, _)| kind != "replicated")
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "logs did not move"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    save(
        &node,
        "bifrost_config",
        &format!("bifrost_config-replicated-{version}.bin"),
    );
    save(
        &node,
        "nodes_config",
        &format!("nodes_config-{version}.bin"),
    );
}

/// Many `restate_node` resources read the cluster at once: they must share one view, not each
/// send their own RPCs (counted by the client).
#[test]
fn concurrent_reads_share_one_cluster_view() {
    crate::e2e!();
    let mut node = Node::start(NodeSpec::new("n1", "shared", ALL_ROLES));
    node.provision("replicated");
    node.wait_log_server_read_write(Duration::from_secs(60));
    let client = std::sync::Arc::new(client(&node));
    let shared = std::sync::Arc::new(ViewCache::default());
    runtime().block_on(async {
        // Once the controller knows every node, one view costs a fixed number of RPCs.
        shared.get(client.as_ref(), true).await.unwrap();
        let before = client.rpc_count();
        shared.get(client.as_ref(), true).await.unwrap();
        let per_view = client.rpc_count() - before;
        assert!(per_view >= 2, "{per_view}");

        shared.invalidate().await;
        let before = client.rpc_count();
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (shared, client) = (shared.clone(), client.clone());
                tokio::spawn(async move {
                    shared
                        .get(client.as_ref(), false)
                        .await
                        .map(|v| v.nodes.len())
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 1);
        }
        assert_eq!(
            client.rpc_count() - before,
            per_view,
            "10 concurrent reads should cost one view"
        );

        let before = client.rpc_count();
        for _ in 0..5 {
            shared.get(client.as_ref(), false).await.unwrap();
        }
        assert_eq!(client.rpc_count(), before, "cached reads send nothing");
    });
}
