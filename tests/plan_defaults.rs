//! End to end: removing an Optional+Computed attribute from the configuration brings back its
//! documented default, shown as a diff in the plan (Terraform itself proposes the *prior* value for
//! such an attribute, so the provider must derive the default from the configuration). For each
//! attribute: set it, apply, remove it, the plan shows the default, apply, the state holds it.

mod support;

use serde_json::Value;
use support::restate::{Node, NodeSpec, ALL_ROLES};
use support::s3::S3;
use support::terraform::{provider_block, Workspace};

/// The planned change of one resource: (actions, values after).
fn planned(ws: &Workspace, address: &str) -> (Vec<String>, Value) {
    let plan_file = ws.dir.path().join("defaults.tfplan");
    let out = format!("-out={}", plan_file.display());
    ws.run(&["plan", "-no-color", "-input=false", &out]).ok();
    let shown = ws.run(&["show", "-json", plan_file.to_str().unwrap()]).ok();
    let plan: Value = serde_json::from_str(&shown.stdout).unwrap();
    let change = plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("{address} not in the plan: {plan}"))["change"]
        .clone();
    let actions = change["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    (actions, change["after"].clone())
}

fn cluster_config_tf(node: &Node, extra: &str) -> String {
    format!(
        "{}resource \"restate_cluster_config\" \"this\" {{\n  provision       = true\n  num_partitions  = 2\n  log_provider    = \"replicated\"\n{extra}}}\n",
        provider_block(&[node.fabric_url()], "")
    )
}

#[test]
fn cluster_config_attributes_fall_back_to_their_defaults() {
    crate::e2e!();
    let node = Node::start(NodeSpec::new("n1", "defaults", ALL_ROLES));
    let ws = Workspace::new();
    let address = "restate_cluster_config.this";
    ws.write(&cluster_config_tf(&node, ""));
    ws.apply().ok();
    let v = ws.resource_values(address);
    assert_eq!(
        (
            &v["provision"],
            &v["wait_for_logs"],
            &v["skip_safety_checks"]
        ),
        (&Value::Bool(true), &Value::Bool(true), &Value::Bool(false))
    );

    // Booleans: set to the non-default value, apply, remove, and the plan brings the default back.
    // (`provision` is set in every configuration here, so it is exercised on a second resource.)
    for (attribute, default) in [("wait_for_logs", true), ("skip_safety_checks", false)] {
        let set = !default;
        ws.write(&cluster_config_tf(
            &node,
            &format!("  {attribute} = {set}\n"),
        ));
        ws.apply().ok();
        assert_eq!(ws.resource_values(address)[attribute], Value::Bool(set));
        ws.write(&cluster_config_tf(&node, ""));
        let (actions, after) = planned(&ws, address);
        assert_eq!(actions, ["update"], "{attribute}: {after}");
        assert_eq!(after[attribute], Value::Bool(default), "{attribute}");
        ws.apply().ok();
        assert_eq!(
            ws.resource_values(address)[attribute],
            Value::Bool(default),
            "{attribute}"
        );
        ws.assert_plan_empty();
    }

    // Values the cluster owns default to "as the cluster has it": removing them changes nothing on
    // the cluster, and the state follows what the cluster reports.
    ws.write(&cluster_config_tf(
        &node,
        "  log_replication = \"1\"\n  partition_replication = \"1\"\n  log_nodeset_size = 1\n",
    ));
    ws.apply().ok();
    ws.write(&cluster_config_tf(&node, ""));
    ws.assert_plan_empty();
    node.ctl(&["config", "set", "--log-default-nodeset-size", "0", "--yes"]);
    ws.assert_plan_empty();
    ws.run(&["apply", "-refresh-only", "-auto-approve", "-no-color"])
        .ok();
    let v = ws.resource_values(address);
    assert_eq!(v["log_nodeset_size"], 0);
    assert_eq!(v["log_replication"], "1");
    assert_eq!(v["num_partitions"], 2);

    // provision: on a second resource tracking the same cluster (import), set to true, then removed.
    let other = Workspace::new();
    let tf = |extra: &str| {
        format!(
            "{}resource \"restate_cluster_config\" \"this\" {{\n  log_provider = \"replicated\"\n{extra}}}\n",
            provider_block(&[node.fabric_url()], "")
        )
    };
    other.write(&tf("  provision = true\n"));
    other.apply().ok();
    assert_eq!(other.resource_values(address)["provision"], true);
    other.write(&tf(""));
    let (actions, after) = planned(&other, address);
    assert_eq!(actions, ["update"], "{after}");
    assert_eq!(after["provision"], false);
    other.apply().ok();
    assert_eq!(other.resource_values(address)["provision"], false);
    other.assert_plan_empty();
}

fn snapshot_tf(node: &Node, extra: &str) -> String {
    format!(
        "{}resource \"restate_partition_snapshot\" \"this\" {{\n{extra}}}\n",
        provider_block(&[node.fabric_url()], "")
    )
}

#[test]
fn partition_snapshot_attributes_fall_back_to_their_defaults() {
    crate::e2e!();
    let s3 = S3::start("snapshots");
    let mut spec = NodeSpec::new("n1", "snapdefaults", ALL_ROLES);
    spec.extra_toml = s3.snapshots_toml("snapshots", "defaults");
    let mut node = Node::start(spec);
    node.provision("replicated");
    let ws = Workspace::new();
    let address = "restate_partition_snapshot.this";

    // A subset, then back to "every partition": the plan replaces the resource, and the new state
    // covers every partition.
    ws.write(&snapshot_tf(&node, "  partition_ids = [1, 3]\n"));
    ws.apply().ok();
    let ids = |v: &Value| -> Vec<u64> {
        let mut ids: Vec<u64> = v["partition_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(ids(&ws.resource_values(address)), [1, 3]);
    ws.write(&snapshot_tf(&node, ""));
    let (actions, after) = planned(&ws, address);
    assert_eq!(actions, ["delete", "create"], "{after}");
    ws.apply().ok();
    let v = ws.resource_values(address);
    assert_eq!(ids(&v), [0, 1, 2, 3]);
    assert_eq!(v["snapshots"].as_array().unwrap().len(), 4);
    ws.assert_plan_empty();

    // trim_log: true, then removed: the default false comes back (a replacement).
    ws.write(&snapshot_tf(&node, "  trim_log = true\n"));
    ws.apply().ok();
    assert_eq!(ws.resource_values(address)["trim_log"], true);
    ws.write(&snapshot_tf(&node, ""));
    let (actions, after) = planned(&ws, address);
    assert_eq!(actions, ["delete", "create"], "{after}");
    assert_eq!(after["trim_log"], false);
    ws.apply().ok();
    assert_eq!(ws.resource_values(address)["trim_log"], false);
    ws.assert_plan_empty();
}

#[test]
fn node_and_restart_gate_attributes_fall_back_to_their_defaults() {
    crate::e2e!();
    let mut node = Node::start(NodeSpec::new("n1", "nodedefaults", ALL_ROLES));
    node.provision("replicated");
    let ws = Workspace::new();
    let tf = |node_extra: &str, gate_extra: &str| {
        format!(
            "{}resource \"restate_node\" \"n1\" {{\n  name  = \"n1\"\n  roles = {}\n{node_extra}}}\n\
             resource \"restate_restart_gate\" \"n1\" {{\n  node = \"n1\"\n{gate_extra}}}\n",
            provider_block(&[node.fabric_url()], ""),
            support::quoted_list(ALL_ROLES)
        )
    };
    ws.write(&tf("", ""));
    ws.apply().ok();
    assert_eq!(
        ws.resource_values("restate_node.n1")["on_destroy"],
        "remove"
    );
    assert_eq!(
        ws.resource_values("restate_restart_gate.n1")["allow_downtime"],
        false
    );
    for (address, attribute, set, default) in [
        (
            "restate_node.n1",
            "on_destroy",
            Value::from("forget"),
            Value::from("remove"),
        ),
        (
            "restate_restart_gate.n1",
            "allow_downtime",
            Value::Bool(true),
            Value::Bool(false),
        ),
    ] {
        let line = format!("  {attribute} = {set}\n");
        let (node_extra, gate_extra) = if address.starts_with("restate_node") {
            (line.as_str(), "")
        } else {
            ("", line.as_str())
        };
        ws.write(&tf(node_extra, gate_extra));
        ws.apply().ok();
        assert_eq!(ws.resource_values(address)[attribute], set, "{attribute}");
        ws.write(&tf("", ""));
        let (actions, after) = planned(&ws, address);
        assert_eq!(actions, ["update"], "{attribute}: {after}");
        assert_eq!(after[attribute], default, "{attribute}");
        ws.apply().ok();
        assert_eq!(
            ws.resource_values(address)[attribute],
            default,
            "{attribute}"
        );
        ws.assert_plan_empty();
    }
}
