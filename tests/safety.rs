//! End to end, the safety of `restate_cluster_config` and the client on real Restate nodes
//! with the real terraform binary: honest convergence (`pending_logs`), exactly one cluster
//! (provisioning through one node, fingerprints), no lost writes (a running cluster's values on
//! create, unset values left alone, plan-time warnings), calls routed to nodes that can answer
//! them, and a fast, clear failure when the cluster is unreachable. Everything the provider did is
//! checked independently with `restatectl`.

mod support;

use std::time::Duration;

use support::ctl::{self, assert_logs};
use support::restate::{Node, NodeSpec, ALL_ROLES};
use support::s3::S3;
use support::terraform::{diagnostics, provider_block, Workspace};

const NO_LOG_SERVER: &[&str] = &["worker", "admin", "metadata-server", "http-ingress"];

fn config_tf(endpoints: &[String], body: &str) -> String {
    format!(
        "{}resource \"restate_cluster_config\" \"this\" {{\n{body}}}\n",
        provider_block(endpoints, "")
    )
}

/// A node that joins `seed`'s cluster with `roles`.
fn joiner(name: &str, seed: &Node, roles: &[&str]) -> Node {
    let mut spec = NodeSpec::new(name, &seed.spec.cluster, roles);
    spec.metadata_addresses = vec![seed.fabric_url()];
    Node::start(spec)
}

/// `terraform plan -detailed-exitcode` exit code (0 empty, 2 changes, 1 error).
fn plan_code(ws: &Workspace) -> (i32, String) {
    let run = ws.plan();
    (run.code, run.flat())
}

#[test]
fn logs_moving_on_their_own_are_waited_for_and_a_timed_out_update_shows_in_the_plan() {
    crate::e2e!();
    // The guide's start: one node on the local loglet, without the log-server role.
    let mut spec = NodeSpec::new("n1", "converge", NO_LOG_SERVER);
    spec.log_provider = Some("local".into());
    let mut n1 = Node::start(spec);
    n1.provision("local");
    let url = n1.fabric_url();
    let ws = Workspace::new();
    ws.write(&config_tf(
        std::slice::from_ref(&url),
        "  log_provider = \"local\"\n",
    ));
    ws.apply().ok();
    assert_eq!(
        ws.resource_values("restate_cluster_config.this")["pending_logs"],
        serde_json::json!([])
    );

    // Restarted with the log-server role, the server switches the provider to replicated by
    // itself and moves the logs over several seconds. The apply must return only once they moved.
    n1.restart_with(|s| s.roles = ALL_ROLES.iter().map(|r| r.to_string()).collect());
    ws.write(&config_tf(
        std::slice::from_ref(&url),
        "  log_provider = \"replicated\"\n",
    ));
    // Planned right away, while the logs have not moved: the plan is not empty (the provider
    // switch, or the logs pending on it). A log still local after the plan was local during its
    // refresh (logs never move back), so then the plan must show the work left.
    let (code, plan) = plan_code(&ws);
    let still_local = n1.log_tails().iter().any(|(kind, _)| kind == "local");
    if still_local {
        assert_eq!(code, 2, "logs still on the local loglet, yet:\n{plan}");
        assert!(
            plan.contains("pending_logs") || plan.contains("log_provider"),
            "{plan}"
        );
    } else {
        eprintln!("the logs moved before the plan's refresh; its emptiness is not checked");
    }
    n1.wait_log_server_read_write(Duration::from_secs(60));
    ws.apply().ok();
    assert_logs(&url, "replicated", Some(1));
    ws.assert_plan_empty();

    // An update whose wait times out (two copies, one log server) leaves a non-empty plan.
    let two =
        "  log_provider = \"replicated\"\n  log_replication = \"2\"\n  skip_safety_checks = true\n";
    ws.write(&config_tf(
        std::slice::from_ref(&url),
        &format!("{two}  timeouts {{\n    update = \"3s\"\n  }}\n"),
    ));
    ws.apply()
        .failed_with(&["Logs did not reach the requested configuration in time"]);
    assert_eq!(
        ctl::cluster_config(&url).log_replication.as_deref(),
        Some("{node: 2}")
    );
    let (code, plan) = plan_code(&ws);
    assert_eq!(
        code, 2,
        "the logs never moved, so the plan must not be empty:\n{plan}"
    );
    assert!(plan.contains("pending_logs"), "{plan}");
    // A second log server lets the logs move: Restate seals them once it can place two copies,
    // and extends each on its next append (a restart appends new leader epochs). The next apply
    // waits for that, and completes the job.
    let n2 = joiner("n2", &n1, ALL_ROLES);
    n2.wait_log_server_read_write(Duration::from_secs(60));
    n1.restart_with(|_| {});
    n1.wait_alive(Duration::from_secs(60));
    ws.write(&config_tf(
        std::slice::from_ref(&url),
        &format!("{two}  timeouts {{\n    update = \"2m\"\n  }}\n"),
    ));
    ws.apply().ok();
    assert_logs(&url, "replicated", Some(2));
    ws.assert_plan_empty();
}

#[test]
fn exactly_one_cluster() {
    crate::e2e!();
    // A node waiting to join, listed first, and the cluster behind the second endpoint.
    let mut stray_spec = NodeSpec::new("stray", "twins", ALL_ROLES);
    stray_spec.metadata_addresses = vec![];
    let stray = Node::start(stray_spec);
    let mut n1 = Node::start(NodeSpec::new("n1", "twins", ALL_ROLES));
    n1.provision("replicated");
    let endpoints = [stray.fabric_url(), n1.fabric_url()];
    let ws = Workspace::new();
    let body = |extra: &str| {
        format!(
            "{}resource \"restate_cluster_config\" \"this\" {{\n  provision    = true\n  log_provider = \"replicated\"\n}}\n{extra}",
            provider_block(&endpoints, "")
        )
    };
    ws.write(&body(""));
    ws.apply().ok();
    // Never provisioned while an endpoint reports a provisioned cluster.
    let health = support::http::get(stray.ports.fabric, "/health").unwrap();
    assert!(health.contains("AwaitingProvisioning"), "{health}");
    let fingerprint = ctl::fingerprint(&n1.fabric_url());
    let v = ws.resource_values("restate_cluster_config.this");
    assert_eq!(v["cluster_fingerprint"], fingerprint.to_string());

    // n2 exists only in this cluster; n1's name exists in both.
    let n2 = joiner("n2", &n1, &["worker"]);
    let nodes = "resource \"restate_node\" \"n1\" {\n  name  = \"n1\"\n  roles = [\"admin\", \"http-ingress\", \"log-server\", \"metadata-server\", \"worker\"]\n}\n\
                 resource \"restate_node\" \"n2\" {\n  name  = \"n2\"\n  roles = [\"worker\"]\n}\n";
    ws.write(&body(nodes));
    ws.apply().ok();
    let listed = ws.run(&["state", "list"]).ok().stdout;

    // A second cluster of the same name, and the provider pointed at it.
    let mut twin = Node::start(NodeSpec::new("n1", "twins", ALL_ROLES));
    twin.provision("replicated");
    assert_ne!(ctl::fingerprint(&twin.fabric_url()), fingerprint);
    ws.write(&format!(
        "{}resource \"restate_cluster_config\" \"this\" {{\n  provision    = true\n  log_provider = \"replicated\"\n}}\n{nodes}",
        provider_block(&[twin.fabric_url()], "")
    ));
    let plan = ws.plan_diagnostics();
    for address in [
        "restate_cluster_config.this",
        "restate_node.n1",
        "restate_node.n2",
    ] {
        let d = plan
            .errors()
            .find(|d| d.summary == "Another cluster" && d.address.as_deref() == Some(address))
            .unwrap_or_else(|| panic!("no error for {address}: {:#?}", plan.diagnostics));
        d.assert_detail_contains(&[&fingerprint.to_string(), "the state keeps what it had"]);
    }
    ws.run(&["apply", "-refresh-only", "-auto-approve", "-no-color"])
        .failed_with(&["Another cluster"]);
    assert_eq!(
        ws.run(&["state", "list"]).ok().stdout,
        listed,
        "the state changed"
    );

    // Endpoints that reach the two clusters at once: refused before anything is written.
    let both = Workspace::new();
    both.write(&format!(
        "{}resource \"restate_cluster_config\" \"this\" {{\n  provision        = true\n  log_provider     = \"replicated\"\n  log_nodeset_size = 1\n}}\n",
        provider_block(&[n1.fabric_url(), twin.fabric_url()], "")
    ));
    let run = both
        .apply()
        .failed_with(&["The endpoints belong to different clusters"]);
    assert!(
        run.flat().contains(&fingerprint.to_string()),
        "{}",
        run.text()
    );
    for url in [n1.fabric_url(), twin.fabric_url()] {
        assert_eq!(
            ctl::cluster_config(&url).nodeset_size.as_deref(),
            Some("0"),
            "{url}"
        );
    }
    drop(n2);
}

#[test]
fn provisioning_shows_the_nodes_values_and_refuses_values_someone_else_provisioned() {
    crate::e2e!();
    let n1 = Node::start(NodeSpec::new("n1", "dry", ALL_ROLES));
    let url = n1.fabric_url();
    let ws = Workspace::new();
    ws.write(&config_tf(
        std::slice::from_ref(&url),
        "  provision    = true\n  log_provider = \"replicated\"\n",
    ));
    // The plan says what provisioning through the first endpoint sets up, from that node's dry
    // run: its default-num-partitions (4) and default-replication (1).
    let run = ws.plan();
    let flat = run.flat();
    assert!(
        flat.contains("The cluster will be provisioned")
            && flat.contains(&format!("through {url} only"))
            && flat.contains("with: 4 partitions, log provider replicated, log replication 1"),
        "{}",
        run.text()
    );
    assert!(
        n1.ctl_output(&["config", "get"]).status.code() != Some(0),
        "the dry run provisioned"
    );
    ws.write(&config_tf(
        std::slice::from_ref(&url),
        "  provision      = true\n  num_partitions = 4\n  log_provider   = \"replicated\"\n",
    ));
    let plan_file = ws.dir.path().join("p.tfplan");
    let out = format!("-out={}", plan_file.display());
    ws.run(&["plan", "-no-color", "-input=false", &out]).ok();
    // Someone provisions it with other values between plan and apply.
    n1.ctl(&[
        "provision",
        "-n",
        "8",
        "--log-provider",
        "replicated",
        "--yes",
    ]);
    let run = ws.run(&[
        "apply",
        "-no-color",
        "-input=false",
        plan_file.to_str().unwrap(),
    ]);
    let run = run.failed_with(&[
        "num_partitions cannot change",
        "provisioned with 8 partitions",
    ]);
    assert!(
        !run.flat().contains("inconsistent result"),
        "{}",
        run.text()
    );
}

#[test]
fn a_running_clusters_values_are_not_lowered_unseen_and_unset_values_are_left_alone() {
    crate::e2e!();
    let mut n1 = Node::start(NodeSpec::new("n1", "writes", ALL_ROLES));
    n1.provision("replicated");
    let n2 = joiner("n2", &n1, ALL_ROLES);
    n2.wait_log_server_read_write(Duration::from_secs(60));
    let url = n1.fabric_url();
    n1.ctl(&[
        "config",
        "set",
        "--log-replication",
        "2",
        "--partition-replication",
        "2",
        "--yes",
    ]);
    let before = ctl::cluster_config(&url);

    // Creating the resource with one copy on a cluster that keeps two: refused, nothing changes.
    let ws = Workspace::new();
    let lower = "  log_provider    = \"replicated\"\n  log_replication = \"1\"\n";
    ws.write(&config_tf(std::slice::from_ref(&url), lower));
    let plan = ws.plan_diagnostics();
    plan.error("log_replication would go down on a running cluster")
        .assert_detail_contains(&[
            "runs log_replication 2",
            "terraform import",
            "allow_lower_replication",
        ]);
    ws.apply()
        .failed_with(&["would go down on a running cluster"]);
    assert_eq!(ctl::cluster_config(&url), before);

    // Allowed explicitly: the plan says what changes, and the unset partition replication stays.
    ws.write(&config_tf(
        std::slice::from_ref(&url),
        &format!("{lower}  allow_lower_replication = true\n"),
    ));
    let run = ws.plan();
    assert!(
        run.flat()
            .contains("log_replication changes from 2 (the cluster's current value) to 1"),
        "{}",
        run.text()
    );
    ws.apply().ok();
    let now = ctl::cluster_config(&url);
    assert_eq!(now.log_replication.as_deref(), Some("{node: 1}"));
    assert_eq!(now.partition_replication, before.partition_replication);
    assert_eq!(
        ws.resource_values("restate_cluster_config.this")["partition_replication"],
        "2"
    );

    // Raising it to every log server leaves no failure tolerance; lowering it again says so.
    let two = "  log_provider    = \"replicated\"\n  log_replication = \"2\"\n";
    ws.write(&config_tf(std::slice::from_ref(&url), two));
    let run = ws.plan();
    assert!(
        run.flat()
            .contains("log_replication leaves no failure tolerance"),
        "{}",
        run.text()
    );
    ws.apply().ok();
    ws.write(&config_tf(std::slice::from_ref(&url), lower));
    let run = ws.plan();
    assert!(
        run.flat().contains("log_replication goes down"),
        "{}",
        run.text()
    );
}

#[test]
fn a_change_made_between_plan_and_apply_is_not_overwritten() {
    crate::e2e!();
    let mut n1 = Node::start(NodeSpec::new("n1", "between", ALL_ROLES));
    n1.provision("replicated");
    let url = n1.fabric_url();
    let ws = Workspace::new();
    let tf = |size: u32| {
        config_tf(
            std::slice::from_ref(&url),
            &format!(
                "  log_provider     = \"replicated\"\n  log_replication  = \"1\"\n  log_nodeset_size = {size}\n"
            ),
        )
    };
    ws.write(&tf(0));
    ws.apply().ok();
    // The plan changes the nodeset size from 0 to 1.
    ws.write(&tf(1));
    let plan_file = ws.dir.path().join("between.tfplan");
    let out = format!("-out={}", plan_file.display());
    ws.run(&["plan", "-no-color", "-input=false", &out]).ok();
    // Someone sets it to 3 before the plan is applied.
    n1.ctl(&["config", "set", "--log-default-nodeset-size", "3", "--yes"]);
    let run = ws.run(&[
        "apply",
        "-no-color",
        "-input=false",
        plan_file.to_str().unwrap(),
    ]);
    run.failed_with(&[
        "The cluster configuration changed since it was checked",
        "log_nodeset_size was 0 when checked and is 3 now",
        "Nothing was written",
    ]);
    assert_eq!(
        ctl::cluster_config(&url).nodeset_size.as_deref(),
        Some("3"),
        "their change was overwritten"
    );
    // A new plan shows the cluster as it is now, and its apply writes the configuration.
    let (code, plan) = plan_code(&ws);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("3 -> 1"), "{plan}");
    ws.apply().ok();
    assert_eq!(ctl::cluster_config(&url).nodeset_size.as_deref(), Some("1"));
}

#[test]
fn calls_go_to_the_nodes_that_can_answer_them() {
    crate::e2e!();
    let s3 = S3::start("routing");
    let mut spec = NodeSpec::new("n1", "routing", ALL_ROLES);
    spec.extra_toml = s3.snapshots_toml("routing", "routing");
    let mut n1 = Node::start(spec);
    n1.provision("replicated");
    // The first endpoint has no admin role: it does not serve the cluster controller's calls.
    let mut spec = NodeSpec::new("n2", "routing", &["worker", "log-server"]);
    spec.metadata_addresses = vec![n1.fabric_url()];
    spec.extra_toml = s3.snapshots_toml("routing", "routing");
    let n2 = Node::start(spec);
    n2.wait_log_server_read_write(Duration::from_secs(60));
    let endpoints = [n2.fabric_url(), n1.fabric_url()];
    let ws = Workspace::new();
    let tf = |body: &str| {
        format!(
            "{}resource \"restate_cluster_config\" \"this\" {{\n  log_provider = \"replicated\"\n{body}}}\n\
             resource \"restate_node\" \"n2\" {{\n  name  = \"n2\"\n  roles = [\"log-server\", \"worker\"]\n}}\n\
             resource \"restate_partition_snapshot\" \"all\" {{\n  depends_on = [restate_cluster_config.this]\n}}\n\
             data \"restate_cluster_status\" \"this\" {{\n  depends_on = [restate_node.n2]\n}}\n\
             output \"nodes\" {{\n  value = length(data.restate_cluster_status.this.nodes)\n}}\n",
            provider_block(&endpoints, "")
        )
    };
    ws.write(&tf(""));
    ws.apply().ok();
    assert_eq!(ws.output_json()["nodes"]["value"], 2);
    let snapshots = ws.resource_values("restate_partition_snapshot.all")["snapshots"].clone();
    assert_eq!(snapshots.as_array().unwrap().len(), 4, "{snapshots}");
    ws.assert_plan_empty();
    // A change written through the admin node (the first endpoint has no admin role).
    ws.write(&tf("  log_nodeset_size = 2\n"));
    ws.apply().ok();
    assert_eq!(
        ctl::cluster_config(&n1.fabric_url())
            .nodeset_size
            .as_deref(),
        Some("2")
    );
    ws.assert_plan_empty();
    ws.run(&["state", "rm", "restate_cluster_config.this"]).ok();
    ws.run(&[
        "import",
        "-no-color",
        "restate_cluster_config.this",
        "routing",
    ])
    .ok();
    ws.assert_plan_empty();
}

/// The provider's RPC attempts in a `TF_LOG_PROVIDER=debug` run.
fn rpc_attempts(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-restate") && l.contains(": RPC "))
        .count()
}

#[test]
fn an_unreachable_cluster_fails_in_one_retry_window_and_destroy_works_without_it() {
    crate::e2e!();
    let mut n1 = Node::start(NodeSpec::new("n1", "down", ALL_ROLES));
    n1.provision("replicated");
    let url = n1.fabric_url();
    // `teardown`: what a configuration sets before destroying a cluster that is gone.
    let tf = |nodes: usize, teardown: bool| {
        let mut t = config_tf(
            std::slice::from_ref(&url),
            "  log_provider = \"replicated\"\n",
        );
        let on_destroy = if teardown { "forget" } else { "remove" };
        for i in 0..nodes {
            t.push_str(&format!(
                "resource \"restate_node\" \"n{i}\" {{\n  name  = \"n1\"\n  roles = [\"admin\", \"http-ingress\", \"log-server\", \"metadata-server\", \"worker\"]\n  on_destroy = \"{on_destroy}\"\n}}\n"
            ));
        }
        t.push_str(&format!(
            "resource \"restate_restart_gate\" \"n1\" {{\n  node           = \"n1\"\n  allow_downtime = {teardown}\n}}\n"
        ));
        t
    };
    let one = Workspace::new();
    one.write(&tf(1, false));
    one.apply().ok();
    let many = Workspace::new();
    many.write(&tf(12, false));
    many.apply().ok();
    n1.stop();

    // Twelve resources cost what one does: after one retry window finds no node, every other
    // read fails at once, with one error naming the endpoint.
    let debug = [("TF_LOG_PROVIDER", "debug")];
    let plan_json = ["plan", "-json", "-input=false"];
    let run_one = one.run_with_env(&plan_json, &debug);
    let started = std::time::Instant::now();
    let run_many = many.run_with_env(&plan_json, &debug);
    let took = started.elapsed();
    // One retry window (max(30 s, 3 x request_timeout) = 30 s here) plus 15 s for Terraform.
    assert!(
        took < Duration::from_secs(45),
        "the plan of 14 resources took {took:?}"
    );
    for run in [&run_one, &run_many] {
        assert_ne!(run.code, 0);
        // One error, whatever the number of resources: every resource reports the same cause
        // with the same summary.
        let errors: std::collections::BTreeSet<(String, String)> = diagnostics(&run.stdout)
            .into_iter()
            .filter(|d| d.severity == "error")
            .map(|d| (d.summary, d.detail))
            .collect();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let (summary, detail) = errors.first().unwrap();
        assert_eq!(summary, "Cannot reach the Restate cluster");
        assert!(
            detail.contains(&url) && detail.contains("UNAVAILABLE"),
            "{detail}"
        );
    }
    let (a1, a12) = (
        rpc_attempts(&run_one.stderr),
        rpc_attempts(&run_many.stderr),
    );
    assert!(a1 > 0, "no RPC logged:\n{}", run_one.stderr);
    assert!(
        a12 <= a1 * 2,
        "12 resources made {a12} attempts, 1 made {a1}: the reads did not share the failure"
    );

    // The VMs are gone: with on_destroy = "forget" and allow_downtime = true, applied without a
    // refresh (changing only these asks the cluster nothing), destroy without a refresh works:
    // the resources only stop tracking.
    many.write(&tf(12, true));
    many.run(&["apply", "-refresh=false", "-auto-approve", "-no-color"])
        .ok();
    let run = many
        .run(&["destroy", "-refresh=false", "-auto-approve", "-no-color"])
        .ok();
    assert!(run.flat().contains("Destroy complete!"), "{}", run.text());
    assert!(many.run(&["state", "list"]).ok().stdout.trim().is_empty());
}
