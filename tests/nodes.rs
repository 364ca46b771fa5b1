//! End to end: `restate_node_config` renders the configs of joining nodes (the harness plays the
//! VMs and starts real nodes of the Restate version under test from them), and `restate_node` waits for and tracks each node;
//! everything is checked against restatectl.

mod support;

use std::time::Duration;

use support::ctl;
use support::restate::{restate_version, version_triple, Node, NodeSpec, ALL_ROLES};
use support::terraform::{provider_block, Workspace};
use support::{quoted_list, sorted_strings};

/// A `restate_node_config` for a joining node (metadata client = n1), with its `toml` as output.
fn node_config_block(node: &Node, roles: &[&str], n1_url: &str) -> String {
    node_config_with(
        node,
        roles,
        &[n1_url.to_string()],
        "  auto_provision            = false\n",
    )
}

/// A `restate_node_config` with these metadata client addresses and `extra` lines, with its
/// `toml` as output.
fn node_config_with(node: &Node, roles: &[&str], metadata: &[String], extra: &str) -> String {
    let name = &node.spec.name;
    format!(
        r#"data "restate_node_config" "{name}" {{
  node_name                 = "{name}"
  cluster_name              = "{cluster}"
  roles                     = {roles}
  advertised_address        = "{url}"
  bind_address              = "127.0.0.1:{port}"
  metadata_client_addresses = {metadata}
{extra}  restate_version           = "{version}"
  base_config               = <<-EOT
{base}
EOT
}}

output "{name}_toml" {{
  value     = data.restate_node_config.{name}.toml
  sensitive = true
}}
"#,
        cluster = node.spec.cluster,
        roles = quoted_list(roles),
        url = node.fabric_url(),
        port = node.ports.fabric,
        metadata = quoted_list(metadata),
        base = node.local_base_config(),
        version = restate_version(),
    )
}

/// n2's block is minimal (what an import reproduces exactly); the others set every argument.
fn node_resource_block(name: &str, roles: &[&str]) -> String {
    // Destroy only stops tracking these nodes (the end of the test checks that).
    let extras = if name == "n2" {
        "  on_destroy = \"forget\"\n".to_string()
    } else {
        format!(
            "  on_destroy = \"forget\"\n  expected_version = \"{}\"\n  timeouts {{\n    create = \"2m\"\n    update = \"2m\"\n  }}\n",
            restate_version()
        )
    };
    format!(
        "resource \"restate_node\" \"{name}\" {{\n  name  = \"{name}\"\n  roles = {}\n{extras}}}\n",
        quoted_list(roles)
    )
}

fn provisioned_n1(cluster: &str) -> Node {
    let mut n1 = Node::start(NodeSpec::new("n1", cluster, ALL_ROLES));
    n1.provision("replicated");
    n1
}

#[test]
fn three_nodes_join_with_rendered_configs_then_roles_change_drift_and_import() {
    crate::e2e!();
    let n1 = provisioned_n1("join");
    let mut joiners: Vec<Node> = ["n2", "n3", "n4"]
        .iter()
        .map(|name| Node::prepare(NodeSpec::new(name, "join", &[])))
        .collect();
    let worker_roles: &[&str] = &["worker", "log-server"];
    let mut tf = provider_block(&[n1.fabric_url()], "  cluster_name = \"join\"\n");
    for n in &joiners {
        tf.push_str(&node_config_block(n, worker_roles, &n1.fabric_url()));
    }
    let ws = Workspace::new();

    // The "VMs": render, then start each node from its rendered restate.toml.
    ws.write(&tf);
    ws.apply().ok();
    let outputs = ws.output_json();
    for n in &mut joiners {
        let toml = outputs[format!("{}_toml", n.spec.name)]["value"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            toml.contains("auto-provision = false") && toml.contains("[metadata-client]"),
            "{toml}"
        );
        n.launch_toml(&toml);
    }

    // restate_node for each: apply waits until they joined, with their roles.
    let mut with_nodes = tf.clone();
    with_nodes.push_str(&node_resource_block("n1", ALL_ROLES));
    for n in &joiners {
        with_nodes.push_str(&node_resource_block(&n.spec.name, worker_roles));
    }
    ws.write(&with_nodes);
    ws.apply().ok();
    let members = ctl::nodes(&n1.fabric_url());
    assert_eq!(members.len(), 4, "{members:?}");
    for name in ["n1", "n2", "n3", "n4"] {
        let v = ws.resource_values(&format!("restate_node.{name}"));
        let member = &members[name];
        assert_eq!(v["node_id"].as_u64(), Some(member.id), "{name}");
        assert_eq!(sorted_strings(&v["roles"]), member.roles, "{name}");
        assert_eq!(v["alive"], true);
        assert_eq!(v["binary_version"], restate_version());
        assert_eq!(v["worker_state"], "active");
    }
    // No node reports a cluster other than n1's.
    for n in &joiners {
        let health = support::http::get(n.ports.fabric, "/health").unwrap();
        assert!(health.contains("\"cluster_name\":\"join\""), "{health}");
    }
    ws.assert_plan_empty();

    // A roles change: re-render n4, and restart it while apply waits for the new roles.
    let more: &[&str] = &["worker", "log-server", "http-ingress"];
    let rerendered = tf.replace(
        &node_config_block(&joiners[2], worker_roles, &n1.fabric_url()),
        &node_config_block(&joiners[2], more, &n1.fabric_url()),
    );
    ws.write(&format!(
        "{rerendered}{}{}{}{}",
        node_resource_block("n1", ALL_ROLES),
        node_resource_block("n2", worker_roles),
        node_resource_block("n3", worker_roles),
        node_resource_block("n4", more)
    ));
    let n4_toml = {
        let fresh = Workspace::new();
        fresh.write(&rerendered);
        fresh.apply().ok();
        fresh.output_json()["n4_toml"]["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(n4_toml.contains("\"http-ingress\""), "{n4_toml}");
    let mut restarted = false;
    let run = ws.apply_watching(|line| {
        if line.contains("restate_node.n4: Modifying") && !restarted {
            joiners[2].launch_toml(&n4_toml);
            restarted = true;
        }
    });
    let run = run.ok();
    assert!(
        restarted,
        "apply never modified restate_node.n4:\n{}",
        run.text()
    );
    let v = ws.resource_values("restate_node.n4");
    assert_eq!(
        sorted_strings(&v["roles"]),
        vec!["http-ingress", "log-server", "worker"]
    );
    assert_eq!(
        ctl::nodes(&n1.fabric_url())["n4"].roles,
        vec!["http-ingress", "log-server", "worker"]
    );
    ws.assert_plan_empty();

    // Import by name, then no changes for that node.
    ws.run(&["state", "rm", "restate_node.n2"]).ok();
    ws.run(&["import", "-no-color", "restate_node.n2", "n2"])
        .ok();
    // Everything comes from the cluster but on_destroy, which is imported as its default.
    let plan = ws.run(&["plan", "-no-color", "-input=false"]).ok();
    assert!(
        plan.flat()
            .contains("~ on_destroy = \"remove\" -> \"forget\"")
            && plan.flat().contains("0 to add, 1 to change, 0 to destroy"),
        "{}",
        plan.text()
    );
    ws.apply().ok();
    ws.assert_plan_empty();
    let v = ws.resource_values("restate_node.n2");
    assert_eq!(
        v["node_id"].as_u64(),
        Some(ctl::nodes(&n1.fabric_url())["n2"].id)
    );

    // Drift: n3 restarted behind Terraform's back with another role set shows in the plan.
    let n3_toml: String = joiners[1]
        .toml
        .clone()
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("roles = ") {
                "roles = [\"worker\", \"log-server\", \"http-ingress\"]\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(Some(&n3_toml), joiners[1].toml.as_ref());
    joiners[1].launch_toml(&n3_toml);
    let started = std::time::Instant::now();
    while !ctl::nodes(&n1.fabric_url())["n3"]
        .roles
        .contains(&"http-ingress".to_string())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "n3 did not report its new roles"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.text());
    assert!(
        plan.flat()
            .contains("# restate_node.n3 will be updated in-place"),
        "{}",
        plan.text()
    );
    assert!(
        plan.flat().contains("- \"http-ingress\""),
        "{}",
        plan.text()
    );

    // Destroy with on_destroy = "forget" only stops tracking: the nodes stay members.
    let run = ws.destroy().ok();
    assert!(
        run.flat().contains("Node n2 is still a cluster member"),
        "{}",
        run.text()
    );
    assert_eq!(ctl::nodes(&n1.fabric_url()).len(), 4);
}

#[test]
fn a_node_that_never_joins_times_out_saying_what_the_cluster_reports() {
    crate::e2e!();
    let n1 = provisioned_n1("ghost");
    let ws = Workspace::new();
    ws.write(&format!(
        "{}resource \"restate_node\" \"ghost\" {{\n  name = \"ghost\"\n  roles = [\"worker\"]\n  timeouts {{\n    create = \"3s\"\n  }}\n}}\n",
        provider_block(&[n1.fabric_url()], "")
    ));
    ws.apply().failed_with(&[
        "Node ghost did not join as intended",
        "no node named ghost is part of cluster \"ghost\" (its nodes: n1)",
    ]);
    let run = ws.run(&["state", "list"]);
    assert!(!run.stdout.contains("restate_node.ghost"), "{}", run.text());
}

/// The plan-time checks that need the cluster (the upgrade rule against the versions it runs)
/// point at the attribute at fault, as the input checks of `tests/inputs.rs` do.
#[test]
fn plan_time_version_errors_name_the_attribute() {
    crate::e2e!();
    let n1 = provisioned_n1("errors");
    let ws = Workspace::new();
    let head = provider_block(&[n1.fabric_url()], "");
    let node = |body: &str| {
        format!("{head}resource \"restate_node\" \"n\" {{\n  name = \"n1\"\n{body}\n}}\n")
    };
    let roles = "  roles = [\"worker\"]";
    // Two minors up skips one; two down is too far (1.9.0 and 1.5.0 around 1.7.12).
    let (major, minor, _) = version_triple();
    let skip = format!("{major}.{}.0", minor + 2);
    let lowest = format!(
        "lowest version running in the cluster is {}",
        restate_version()
    );
    let first = format!("{major}.{} first", minor + 1);
    let too_low = format!("{major}.{}.0", minor - 2);
    // (configuration, summary, in the detail, the attribute it points at)
    let cases: Vec<(String, &str, Vec<&str>, &str)> = vec![
        (
            node(&format!("{roles}\n  expected_version = \"{skip}\"")),
            "Unsupported version change",
            vec!["would skip a minor version", &lowest, &first],
            "expected_version",
        ),
        (
            node(&format!("{roles}\n  expected_version = \"{too_low}\"")),
            "Unsupported version change",
            vec!["downgrade by more than one minor"],
            "expected_version",
        ),
    ];
    for (tf, summary, in_detail, attribute) in &cases {
        ws.write(tf);
        let plan = ws.plan_diagnostics();
        assert_ne!(plan.run.code, 0, "{summary}: the plan should fail");
        let d = plan.error(summary);
        d.assert_detail_contains(in_detail);
        d.assert_points_at("restate_node.n", attribute, tf);
    }

    // Endpoints known only at apply: the plan cannot ask the cluster, and apply checks the rule
    // before it waits for anything.
    let tf = format!(
        "{}resource \"terraform_data\" \"endpoint\" {{\n  input = \"{}\"\n}}\n\nprovider \"restate\" {{\n  endpoints = [terraform_data.endpoint.output]\n}}\n\n\
         resource \"restate_node\" \"n\" {{\n  name = \"n1\"\n{roles}\n  expected_version = \"{skip}\"\n  timeouts {{\n    create = \"5m\"\n  }}\n}}\n",
        support::terraform::required_providers(),
        n1.fabric_url(),
    );
    ws.write(&tf);
    let plan = ws.plan();
    assert_eq!(
        plan.code,
        2,
        "the plan cannot check the version yet: {}",
        plan.text()
    );
    let started = std::time::Instant::now();
    ws.apply()
        .failed_with(&["Unsupported version change", "would skip a minor version"]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "apply waited instead of refusing"
    );
    let list = ws.run(&["state", "list"]);
    assert!(!list.stdout.contains("restate_node.n"), "{}", list.text());
}

/// A node removed from the cluster is removed from state on refresh (and a plan creates it again).
#[test]
fn a_node_removed_from_the_cluster_leaves_the_state() {
    crate::e2e!();
    let n1 = provisioned_n1("gone");
    let mut spec = NodeSpec::new("n2", "gone", &["worker"]);
    spec.metadata_addresses = vec![n1.fabric_url()];
    let mut n2 = Node::start(spec);
    let ws = Workspace::new();
    ws.write(&format!(
        "{}resource \"restate_node\" \"n2\" {{\n  name  = \"n2\"\n  roles = [\"worker\"]\n  timeouts {{\n    create = \"1m\"\n  }}\n}}\n",
        provider_block(&[n1.fabric_url()], "")
    ));
    ws.apply().ok();
    let id = ctl::nodes(&n1.fabric_url())["n2"].id;

    // Take n2 out of the cluster the way an operator does: stop it, then `restatectl nodes remove`.
    n2.stop();
    let started = std::time::Instant::now();
    loop {
        let out = n1.ctl_output(&["nodes", "remove", "--nodes", &id.to_string(), "--yes"]);
        if out.status.success() && !ctl::nodes(&n1.fabric_url()).contains_key("n2") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "restatectl nodes remove did not remove n2: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_secs(1));
    }

    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.text());
    assert!(
        plan.flat().contains("# restate_node.n2 will be created"),
        "{}",
        plan.text()
    );
    ws.run(&["apply", "-refresh-only", "-auto-approve", "-no-color"])
        .ok();
    let list = ws.run(&["state", "list"]);
    assert!(!list.stdout.contains("restate_node.n2"), "{}", list.text());
}

/// Three nodes rendered the recommended way (every node lists every node as a metadata address,
/// none auto-provisions), started at the same moment, then provisioned once through
/// `restate_cluster_config`: one cluster, with one fingerprint on every node.
#[test]
fn three_nodes_started_together_form_one_cluster() {
    crate::e2e!();
    let roles: &[&str] = &["metadata-server", "admin", "worker", "log-server"];
    let mut nodes: Vec<Node> = ["n1", "n2", "n3"]
        .iter()
        .map(|name| Node::prepare(NodeSpec::new(name, "together", &[])))
        .collect();
    let urls: Vec<String> = nodes.iter().map(Node::fabric_url).collect();
    let mut tf = provider_block(&urls, "  cluster_name = \"together\"\n");
    for n in &nodes {
        tf.push_str(&node_config_with(n, roles, &urls, ""));
    }
    let ws = Workspace::new();
    ws.write(&tf);
    ws.apply().ok();
    let outputs = ws.output_json();
    let tomls: Vec<String> = nodes
        .iter()
        .map(|n| {
            outputs[format!("{}_toml", n.spec.name)]["value"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for toml in &tomls {
        assert!(toml.contains("auto-provision = false"), "{toml}");
    }
    // The "VMs" boot together.
    for (n, toml) in nodes.iter_mut().zip(&tomls) {
        n.spawn_toml(toml);
    }
    for n in &mut nodes {
        n.wait_health(Duration::from_secs(60));
    }
    // None provisions a cluster by itself: checked again and again for 3 s (a node that
    // auto-provisions does so within moments of starting), failing at the first sign of a
    // nodes configuration; then each still awaits provisioning.
    let watched = std::time::Instant::now();
    while watched.elapsed() < Duration::from_secs(3) {
        for n in &nodes {
            let Some(health) = support::http::get(n.ports.fabric, "/health")
                .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
            else {
                continue;
            };
            assert!(
                health["node_id"].is_null() && health["nodes_config_version"] == 0,
                "{} after {:?}: {health}",
                n.spec.name,
                watched.elapsed()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for n in &nodes {
        let health = support::http::get(n.ports.fabric, "/health").unwrap();
        assert!(
            health.contains("AwaitingProvisioning"),
            "{}: {health}",
            n.spec.name
        );
    }

    let mut with_cluster = tf.clone();
    with_cluster.push_str(
        "resource \"restate_cluster_config\" \"this\" {\n  provision       = true\n  num_partitions  = 4\n  log_provider    = \"replicated\"\n  log_replication = \"2\"\n  timeouts {\n    create = \"3m\"\n  }\n}\n",
    );
    for n in &nodes {
        with_cluster.push_str(&node_resource_block(&n.spec.name, roles));
    }
    ws.write(&with_cluster);
    ws.apply().ok();
    let fingerprints: Vec<u64> = urls.iter().map(|u| ctl::fingerprint(u)).collect();
    assert!(
        fingerprints.iter().all(|f| *f == fingerprints[0]),
        "{fingerprints:?}"
    );
    for url in &urls {
        let members = ctl::nodes(url);
        assert_eq!(
            members.keys().cloned().collect::<Vec<_>>(),
            ["n1", "n2", "n3"],
            "{url}: {members:?}"
        );
    }
    let state_fingerprint = ws.resource_values("restate_cluster_config.this")
        ["cluster_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(state_fingerprint, fingerprints[0].to_string());
    ws.assert_plan_empty();
}
