//! End to end: `restate_cluster_config` with the real terraform binary against real Restate nodes
//! (the version under test), every effect checked independently with `restatectl`.

mod support;

use std::time::Duration;

use support::ctl;
use support::restate::{refusing_port, Node, NodeSpec, ALL_ROLES};
use support::terraform::{provider_block, required_providers, Workspace, PROVIDER_SOURCE};

const NO_LOG_SERVER: &[&str] = &["worker", "admin", "metadata-server", "http-ingress"];

fn config_tf(node: &Node, body: &str) -> String {
    format!(
        "{}resource \"restate_cluster_config\" \"this\" {{\n{body}\n}}\n",
        provider_block(&[node.fabric_url()], "")
    )
}

/// A single node on the local loglet, provisioned while it lacked the log-server role: the
/// migration guide's starting point.
fn local_single_node(cluster: &str) -> Node {
    let mut spec = NodeSpec::new("n1", cluster, NO_LOG_SERVER);
    spec.log_provider = Some("local".into());
    let mut node = Node::start(spec);
    node.provision("local");
    let c = node.cluster_config();
    assert_eq!(c.log_provider, "local", "{c:?}");
    node
}

#[test]
fn provisions_a_fresh_node_then_plans_empty_and_destroy_leaves_the_cluster() {
    crate::e2e!();
    let node = Node::start(NodeSpec::new("n1", "fresh", ALL_ROLES));
    let ws = Workspace::new();
    ws.write(&config_tf(
        &node,
        r#"  provision       = true
  log_provider    = "replicated"
  log_replication = "1"
  num_partitions  = 3"#,
    ));
    ws.apply().ok();

    let c = node.cluster_config();
    assert_eq!(c.num_partitions, "3");
    assert_eq!(c.log_provider, "replicated");
    assert_eq!(c.log_replication.as_deref(), Some("{node: 1}"));
    let tails = ctl::assert_logs(&node.fabric_url(), "replicated", Some(1));
    assert_eq!(tails.len(), 3);

    let v = ws.resource_values("restate_cluster_config.this");
    assert_eq!(v["id"], "fresh");
    assert_eq!(v["cluster_name"], "fresh");
    assert_eq!(v["log_replication"], "1");
    assert_eq!(v["partition_replication"], "1");
    assert_eq!(v["num_partitions"], 3);
    ws.assert_plan_empty();

    let run = ws.destroy().ok();
    assert!(
        run.flat()
            .contains("The cluster configuration was left as it is"),
        "{}",
        run.text()
    );
    assert_eq!(
        node.cluster_config(),
        c,
        "destroy must not change the cluster"
    );
}

#[test]
fn an_unprovisioned_cluster_is_an_error_unless_provision_is_true() {
    crate::e2e!();
    let node = Node::start(NodeSpec::new("n1", "unprov", ALL_ROLES));
    let ws = Workspace::new();
    ws.write(&config_tf(&node, "  log_provider = \"replicated\""));
    ws.plan()
        .failed_with(&["The cluster is not provisioned", "provision = true"]);
    ws.apply().failed_with(&["The cluster is not provisioned"]);
    let ident = support::http::get(node.ports.fabric, "/health").unwrap();
    assert!(ident.contains("AwaitingProvisioning"), "{ident}");
}

/// The guide's step 2, and everything around it: refusal before the log-server role,
/// apply after it, empty plan, drift, import, and an unsatisfiable replication.
#[test]
fn guide_step_two_local_to_replicated() {
    crate::e2e!();
    let mut node = local_single_node("guide");
    let ws = Workspace::new();
    let url = node.fabric_url();
    let replicated = |replication: &str| {
        format!(
            "{}resource \"restate_cluster_config\" \"this\" {{\n  log_provider    = \"replicated\"\n  log_replication = \"{replication}\"\n}}\n",
            provider_block(std::slice::from_ref(&url), "")
        )
    };
    ws.write(&replicated("1"));

    // Before the restart with the log-server role: refused, nothing changes.
    ws.apply().failed_with(&[
        "log_replication 1 cannot be satisfied",
        "needs 1 nodes among the alive nodes with the log-server role in read-write storage state, but the cluster has 0",
        "Nothing was changed",
    ]);
    assert_eq!(node.cluster_config().log_provider, "local");
    ctl::assert_logs(&node.fabric_url(), "local", None);

    // Restart with the role, as the guide says; then the same apply works.
    node.restart_with(|s| s.roles = ALL_ROLES.iter().map(|r| r.to_string()).collect());
    node.wait_log_server_read_write(Duration::from_secs(60));
    ws.apply().ok();
    let c = node.cluster_config();
    assert_eq!(c.log_provider, "replicated");
    assert_eq!(c.log_replication.as_deref(), Some("{node: 1}"));
    ctl::assert_logs(&node.fabric_url(), "replicated", Some(1));
    ws.assert_plan_empty();

    // Drift made behind Terraform's back shows in the plan, and apply puts it back.
    node.ctl(&["config", "set", "--log-replication", "2", "--yes"]);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "drift should show:\n{}", plan.text());
    assert!(
        plan.flat().contains(r#"~ log_replication = "2" -> "1""#),
        "{}",
        plan.text()
    );
    ws.apply().ok();
    assert_eq!(
        node.cluster_config().log_replication.as_deref(),
        Some("{node: 1}")
    );
    ws.assert_plan_empty();

    // Import into a fresh state, then no changes.
    ws.run(&["state", "rm", "restate_cluster_config.this"]).ok();
    ws.run(&[
        "import",
        "-no-color",
        "restate_cluster_config.this",
        "guide",
    ])
    .ok();
    ws.assert_plan_empty();
    let v = ws.resource_values("restate_cluster_config.this");
    assert_eq!(
        (v["id"].as_str(), v["log_provider"].as_str()),
        (Some("guide"), Some("replicated"))
    );

    // More copies than log servers: refused, and restatectl shows nothing changed.
    let before = node.cluster_config();
    ws.write(&replicated("3"));
    ws.apply().failed_with(&[
        "log_replication 3 cannot be satisfied",
        "needs 3 nodes",
        "but the cluster has 1 (qualifying nodes: n1 (N1))",
        "skip_safety_checks",
    ]);
    assert_eq!(node.cluster_config(), before);
}

#[test]
fn wait_for_logs_times_out_naming_the_pending_logs() {
    crate::e2e!();
    let node = Node::start(NodeSpec::new("n1", "pending", ALL_ROLES));
    let ws = Workspace::new();
    let tf = |replication: &str, extra: &str| {
        config_tf(
            &node,
            &format!(
                "  provision = true\n  num_partitions = 2\n  log_provider = \"replicated\"\n  log_replication = \"{replication}\"\n{extra}"
            ),
        )
    };
    ws.write(&tf("1", ""));
    ws.apply().ok();
    // Two copies on one node can never happen; skipping the check shows what wait_for_logs reports.
    ws.write(&tf(
        "2",
        "  skip_safety_checks = true\n  timeouts {\n    update = \"3s\"\n  }",
    ));
    ws.apply().failed_with(&[
        "Logs did not reach the requested configuration in time",
        "log 0 is on replicated {node: 1}",
        "log 1 is on replicated {node: 1}",
    ]);
    assert_eq!(
        node.cluster_config().log_replication.as_deref(),
        Some("{node: 2}")
    );
    ws.write(&tf("1", ""));
    ws.apply().ok();
    assert_eq!(
        node.cluster_config().log_replication.as_deref(),
        Some("{node: 1}")
    );
    ws.assert_plan_empty();
}

#[test]
fn plan_time_errors_change_nothing() {
    crate::e2e!();
    let node = Node::start(NodeSpec::new("n1", "errs", ALL_ROLES));
    let ws = Workspace::new();
    ws.write(&config_tf(
        &node,
        "  provision = true\n  num_partitions = 2\n  log_provider = \"replicated\"\n  log_replication = \"1\"",
    ));
    ws.apply().ok();
    let before = node.cluster_config();

    // (configuration, summary, in the detail, the attribute it points at)
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "  log_provider = \"replicated\"\n  log_replication = \"{rack: 2}\"",
            "Invalid log_replication",
            &["unknown scope \"rack\""],
            "log_replication",
        ),
        (
            "  log_provider = \"replicated\"\n  partition_replication = \"{zone: 3, node: 2}\"",
            "Invalid partition_replication",
            &["3 copies across zones"],
            "partition_replication",
        ),
        (
            "  log_provider = \"kafka\"",
            "Unknown log provider",
            &["use \"local\" or \"replicated\""],
            "log_provider",
        ),
        (
            "  log_provider = \"local\"",
            "Restate cannot move logs back from the replicated provider",
            &[],
            "log_provider",
        ),
        (
            "  log_provider = \"replicated\"\n  num_partitions = 8",
            "num_partitions cannot change",
            &["Restate cannot repartition"],
            "num_partitions",
        ),
        (
            "  log_provider = \"replicated\"\n  log_nodeset_size = 200",
            "log_nodeset_size out of range",
            &["0 (automatic) up to 128"],
            "log_nodeset_size",
        ),
        (
            "  log_provider = \"replicated\"\n  timeouts {\n    update = \"soon\"\n  }",
            "Invalid duration",
            &["\"soon\" is not a duration"],
            "update",
        ),
    ];
    let check = |ws: &Workspace, body: &str, summary: &str, in_detail: &[&str], attribute: &str| {
        let tf = config_tf(&node, body);
        ws.write(&tf);
        let plan = ws.plan_diagnostics();
        assert_ne!(plan.run.code, 0, "{summary}: the plan should fail");
        let d = plan.error(summary);
        d.assert_detail_contains(in_detail);
        d.assert_points_at("restate_cluster_config.this", attribute, &tf);
    };
    for (body, summary, in_detail, attribute) in cases {
        check(&ws, body, summary, in_detail, attribute);
        assert_eq!(
            node.cluster_config(),
            before,
            "plan changed the cluster: {body}"
        );
    }

    // The same checks hold for a new resource on an existing cluster (plan_create against the cluster).
    let fresh = Workspace::new();
    check(
        &fresh,
        "  log_provider = \"local\"",
        "Restate cannot move logs back from the replicated provider",
        &[],
        "log_provider",
    );
    check(
        &fresh,
        "  log_provider = \"replicated\"\n  num_partitions = 8",
        "num_partitions cannot change",
        &["provisioned with 2 partitions"],
        "num_partitions",
    );
    assert_eq!(node.cluster_config(), before);
}

#[test]
fn provider_settings_guard_and_failover() {
    crate::e2e!();
    let node = Node::start(NodeSpec::new("n1", "guarded", ALL_ROLES));
    let body = "resource \"restate_cluster_config\" \"this\" {\n  provision = true\n  num_partitions = 2\n  log_provider = \"replicated\"\n}\n";
    let ws = Workspace::new();

    // A wrong cluster name is refused before anything is sent that changes the cluster.
    ws.write(&format!(
        "{}{body}",
        provider_block(&[node.fabric_url()], "  cluster_name = \"other\"\n")
    ));
    ws.apply()
        .failed_with(&["belongs to cluster \"guarded\", not \"other\""]);
    assert!(support::http::get(node.ports.fabric, "/health")
        .unwrap()
        .contains("AwaitingProvisioning"));

    // Invalid settings are plan-time errors that point at the attribute.
    let tf = format!(
        "{}{body}",
        provider_block(&["127.0.0.1:5122".into()], "  request_timeout = \"fast\"\n")
    );
    ws.write(&tf);
    let plan = ws.plan_diagnostics();
    let provider = format!("provider[\"{PROVIDER_SOURCE}\"]");
    let d = plan.error("Invalid endpoint");
    d.assert_detail_contains(&["must start with http://"]);
    d.assert_points_at(&provider, "endpoints", &tf);
    plan.error("Invalid duration")
        .assert_points_at(&provider, "request_timeout", &tf);

    // A dead endpoint first: the provider fails over to the live one. (Provisioning goes to one
    // node only, never retried on another: here the live one, named by provision_endpoint.)
    let dead = refusing_port();
    let body = body.replace(
        "  provision = true\n",
        &format!(
            "  provision = true\n  provision_endpoint = \"{}\"\n",
            node.fabric_url()
        ),
    );
    ws.write(&format!(
        "{}{body}",
        provider_block(
            &[dead.url(), node.fabric_url()],
            "  cluster_name = \"guarded\"\n  request_timeout = \"5s\"\n"
        ),
    ));
    ws.apply().ok();
    assert_eq!(node.cluster_config().log_provider, "replicated");
    ws.assert_plan_empty();

    // Settings from the environment when the provider block has none.
    ws.write(&format!("{}{body}", required_providers()));
    let endpoints = format!("{},{}", dead.url(), node.fabric_url());
    let run = ws.run_with_env(
        &["plan", "-no-color", "-detailed-exitcode"],
        &[
            ("RESTATE_ENDPOINTS", &endpoints),
            ("RESTATE_CLUSTER_NAME", "not-guarded"),
        ],
    );
    assert!(
        run.flat()
            .contains("belongs to cluster \"guarded\", not \"not-guarded\""),
        "{}",
        run.text()
    );
    let run = ws.run_with_env(
        &["plan", "-no-color", "-detailed-exitcode"],
        &[
            ("RESTATE_ENDPOINTS", &endpoints),
            ("RESTATE_CLUSTER_NAME", "guarded"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.text());

    // Only dead endpoints: the error names each endpoint and the gRPC status.
    ws.write(&format!(
        "{}{body}",
        provider_block(&[dead.url()], "  request_timeout = \"2s\"\n")
    ));
    ws.plan().failed_with(&[&dead.url(), "UNAVAILABLE"]);
}

/// Provider settings that come from another resource are unknown at plan time: the plan defers
/// its cluster checks and the apply connects once they are known.
#[test]
fn endpoints_from_another_resource_are_used_once_known() {
    crate::e2e!();
    let node = Node::start(NodeSpec::new("n1", "lazy", ALL_ROLES));
    let ws = Workspace::new();
    ws.write(&format!(
        "{}resource \"terraform_data\" \"endpoint\" {{\n  input = \"{}\"\n}}\n\n\
         provider \"restate\" {{\n  endpoints = [terraform_data.endpoint.output]\n}}\n\n\
         resource \"restate_cluster_config\" \"this\" {{\n  provision = true\n  num_partitions = 2\n  log_provider = \"replicated\"\n}}\n",
        required_providers(),
        node.fabric_url()
    ));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.text());
    ws.apply().ok();
    assert_eq!(node.cluster_config().log_provider, "replicated");
    ws.assert_plan_empty();
}
