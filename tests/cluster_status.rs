//! End to end: `restate_cluster_status` matches what restatectl reports (the nodes configuration,
//! the partition processors, every log's tail segment, the cluster configuration, `status`) field
//! by field, on one node and on three; an unprovisioned node reads as `provisioned = false`.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::restate::{restate_version, Node, NodeSpec, ALL_ROLES};
use support::terraform::{provider_block, Workspace};
use support::{ctl, sorted_strings};

fn status_tf(node: &Node) -> String {
    format!(
        "{}data \"restate_cluster_status\" \"this\" {{}}\n\noutput \"status\" {{\n  value = data.restate_cluster_status.this\n}}\n",
        provider_block(&[node.fabric_url()], "")
    )
}

fn read_status(ws: &Workspace) -> Value {
    ws.apply().ok();
    ws.output_json()["status"]["value"].clone()
}

/// Compares the data source's view with restatectl's, field by field.
fn compare(node: &Node, status: &Value) {
    let url = node.fabric_url();
    assert_eq!(status["provisioned"], true);
    assert_eq!(status["cluster_name"], node.spec.cluster.as_str());

    // nodes: id, generation, name, address, roles
    let ctl_nodes = ctl::nodes(&url);
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), ctl_nodes.len(), "{ctl_nodes:?}");
    for (name, c) in &ctl_nodes {
        let n = nodes
            .iter()
            .find(|n| n["node_id"] == c.id)
            .unwrap_or_else(|| panic!("N{} missing", c.id));
        assert_eq!(n["generation"].as_u64(), Some(c.generation), "{c:?}");
        assert_eq!(n["name"], name.as_str());
        assert_eq!(n["address"], c.address.as_str());
        assert_eq!(sorted_strings(&n["roles"]), c.roles, "{c:?}");
        assert_eq!(n["alive"], true);
        assert_eq!(n["binary_version"], restate_version());
    }

    // status: the node ids and names it lists are the same nodes, all alive
    let st = node.ctl(&["status"]);
    for n in nodes {
        assert!(
            st.contains(&format!("N{}:{}", n["node_id"], n["generation"])),
            "{st}"
        );
    }

    // partitions: the leader, the nodes running a processor, and the leader's applied and
    // archived LSNs
    let processors = ctl::partition_processors(&url);
    let partition_ids: BTreeSet<u64> = processors.iter().map(|p| p.partition_id).collect();
    let parts = status["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), partition_ids.len(), "{processors:?}");
    for p in parts {
        let id = p["partition_id"].as_u64().unwrap();
        let of_p: Vec<&ctl::Processor> =
            processors.iter().filter(|x| x.partition_id == id).collect();
        let leader = of_p.iter().find(|x| x.leader);
        assert_eq!(
            p["leader_node_id"].as_u64(),
            leader.map(|l| l.node_id),
            "{of_p:?}\n{p}"
        );
        let mut replicas: Vec<u64> = of_p.iter().map(|x| x.node_id).collect();
        replicas.sort();
        let have: Vec<u64> = p["replica_set"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(have, replicas, "{of_p:?}");
        assert_eq!(
            p["applied_lsn"].as_u64(),
            leader.and_then(|l| l.applied_lsn),
            "{of_p:?}\n{p}"
        );
        assert_eq!(
            p["archived_lsn"].as_u64(),
            leader.and_then(|l| l.archived_lsn),
            "{of_p:?}\n{p}"
        );
    }

    // logs: each log's tail segment (kind, replication, node set)
    let tails = ctl::log_tails(&url);
    let logs = status["logs"].as_array().unwrap();
    assert_eq!(logs.len(), tails.len(), "{tails:?}");
    for t in &tails {
        let l = logs.iter().find(|l| l["log_id"] == t.log_id).unwrap();
        assert_eq!(l["provider"], t.kind.as_str(), "{t:?}");
        assert_eq!(
            node_form(&l["replication"]),
            t.replication_spelled(),
            "{t:?}"
        );
        let mut nodeset: Vec<u64> = l["nodeset"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| n.as_u64().unwrap())
            .collect();
        nodeset.sort();
        let mut ctl_nodeset = t.nodeset.clone();
        ctl_nodeset.sort();
        assert_eq!(nodeset, ctl_nodeset, "{t:?}");
    }

    // cluster configuration
    let c = node.cluster_config();
    let cfg = &status["config"];
    assert_eq!(
        cfg["num_partitions"].as_i64().unwrap().to_string(),
        c.num_partitions
    );
    assert_eq!(cfg["log_provider"], c.log_provider.as_str());
    assert_eq!(node_form(&cfg["log_replication"]), c.log_replication);
    assert_eq!(
        node_form(&cfg["partition_replication"]),
        Some(c.partition_replication.clone())
    );
}

/// The provider writes `{node: n}` as `n`; restatectl spells it out.
fn node_form(v: &Value) -> Option<String> {
    v.as_str().map(|s| {
        if s.starts_with('{') {
            s.to_string()
        } else {
            format!("{{node: {s}}}")
        }
    })
}

/// restatectl and the data source read at slightly different moments; on an idle cluster they
/// agree, but give a just-changed cluster a few tries to settle.
fn compare_settled(node: &Node, ws: &Workspace) {
    let started = Instant::now();
    loop {
        let status = read_status(ws);
        let attempt =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compare(node, &status)));
        match attempt {
            Ok(()) => return,
            Err(e) if started.elapsed() < Duration::from_secs(60) => {
                drop(e);
                std::thread::sleep(Duration::from_secs(2));
            }
            Err(e) => std::panic::resume_unwind(e),
        }
    }
}

#[test]
fn an_unprovisioned_node_reads_as_not_provisioned() {
    crate::e2e!();
    let node = Node::start(NodeSpec::new("n1", "fresh", ALL_ROLES));
    let ws = Workspace::new();
    ws.write(&status_tf(&node));
    let status = read_status(&ws);
    assert_eq!(status["provisioned"], false);
    assert_eq!(status["cluster_name"], "fresh");
    assert_eq!(status["nodes"], serde_json::json!([]));
    assert_eq!(status["partitions"], serde_json::json!([]));
    assert_eq!(status["logs"], serde_json::json!([]));
    assert_eq!(status["config"], Value::Null);
}

#[test]
fn one_node_matches_restatectl() {
    crate::e2e!();
    let mut node = Node::start(NodeSpec::new("n1", "one", ALL_ROLES));
    node.provision("replicated");
    let ws = Workspace::new();
    ws.write(&status_tf(&node));
    compare_settled(&node, &ws);
}

#[test]
fn three_nodes_match_restatectl() {
    crate::e2e!();
    let mut n1 = Node::start(NodeSpec::new("n1", "three", ALL_ROLES));
    n1.provision("replicated");
    let others: Vec<Node> = ["n2", "n3"]
        .iter()
        .map(|name| {
            let mut spec =
                NodeSpec::new(name, "three", &["worker", "log-server", "metadata-server"]);
            spec.metadata_addresses = vec![n1.fabric_url()];
            Node::start(spec)
        })
        .collect();
    let ws = Workspace::new();
    ws.write(&status_tf(&n1));
    let started = Instant::now();
    while read_status(&ws)["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["alive"] == true)
        .count()
        < 3
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "three nodes not alive"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    compare_settled(&n1, &ws);
    drop(others);
}
