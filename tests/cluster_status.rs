//! End to end: `restate_cluster_status` matches what restatectl prints (`status`, `nodes list`,
//! `partitions list`, `logs list`, `config get`) field by field, on one node and on three; an
//! unprovisioned node reads as `provisioned = false`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::restate::{Node, NodeSpec, ALL_ROLES};
use support::terraform::{provider_block, Workspace};

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

/// Table rows of a restatectl listing: the lines after the header line starting with `first`.
fn rows<'a>(text: &'a str, first: &str) -> Vec<Vec<&'a str>> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(first));
    lines.next();
    lines
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .collect()
}

/// `N2:3` or `N2` -> 2
fn node_number(token: &str) -> i64 {
    token
        .trim_start_matches('N')
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Compares the data source's view with restatectl's, field by field.
fn compare(node: &Node, status: &Value) {
    assert_eq!(status["provisioned"], true);
    assert_eq!(status["cluster_name"], node.spec.cluster.as_str());

    // nodes list: NODE GEN NAME ADDRESS ROLES (roles separated by |)
    let listed = node.ctl(&["nodes", "list"]);
    let ctl_nodes = rows(&listed, "NODE");
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), ctl_nodes.len(), "{listed}");
    for t in &ctl_nodes {
        let id = node_number(t[0]);
        let n = nodes
            .iter()
            .find(|n| n["node_id"] == id)
            .unwrap_or_else(|| panic!("N{id} missing"));
        assert_eq!(
            n["generation"].as_i64().unwrap().to_string(),
            t[1],
            "{listed}"
        );
        assert_eq!(n["name"], t[2]);
        assert_eq!(n["address"], t[3]);
        let mut roles: Vec<&str> = t[4..].iter().copied().filter(|r| *r != "|").collect();
        roles.sort();
        let have: Vec<&str> = n["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(have, roles, "{listed}");
        assert_eq!(n["alive"], true);
        assert_eq!(n["binary_version"], "1.7.12");
    }

    // status: the node ids and names it lists are the same nodes, all alive
    let st = node.ctl(&["status"]);
    for n in nodes {
        assert!(
            st.contains(&format!("N{}:{}", n["node_id"], n["generation"])),
            "{st}"
        );
    }

    // partitions list: ID NODE MODE STATUS EPOCH APPLIED DURABLE ARCHIVED ...
    let plist = node.ctl(&["partitions", "list"]);
    let mut ctl_parts: BTreeMap<i64, (Option<i64>, Vec<i64>, String, String)> = BTreeMap::new();
    for t in rows(&plist, "ID") {
        let e = ctl_parts.entry(t[0].parse().unwrap()).or_default();
        e.1.push(node_number(t[1]));
        if t[2] == "Leader" {
            e.0 = Some(node_number(t[1]));
            e.2 = t[5].to_string();
            e.3 = t[7].to_string();
        }
    }
    let parts = status["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), ctl_parts.len(), "{plist}");
    for p in parts {
        let (leader, mut replicas, applied, archived) =
            ctl_parts[&p["partition_id"].as_i64().unwrap()].clone();
        assert_eq!(p["leader_node_id"].as_i64(), leader, "{plist}\n{p}");
        replicas.sort();
        let have: Vec<i64> = p["replica_set"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        assert_eq!(have, replicas, "{plist}");
        assert_eq!(
            p["applied_lsn"]
                .as_i64()
                .map(|l| l.to_string())
                .unwrap_or("-".into()),
            applied,
            "{plist}"
        );
        assert_eq!(
            p["archived_lsn"]
                .as_i64()
                .map(|l| l.to_string())
                .unwrap_or("-".into()),
            archived,
            "{plist}"
        );
    }

    // logs list: L-ID SEGMENTS FROM KIND LOGLET-ID REPLICATION SEQUENCER NODESET
    let llist = node.ctl(&["logs", "list"]);
    let logs = status["logs"].as_array().unwrap();
    let ctl_logs: Vec<&str> = llist
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("L-ID"))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(logs.len(), ctl_logs.len(), "{llist}");
    for line in ctl_logs {
        let id: i64 = line.split_whitespace().next().unwrap().parse().unwrap();
        let l = logs.iter().find(|l| l["log_id"] == id).unwrap();
        assert!(
            line.contains(&format!(" {} ", l["provider"].as_str().unwrap())),
            "{line}"
        );
        if let Some(r) = l["replication"].as_str() {
            let spelled = format!("{{node: {r}}}");
            assert!(line.contains(&spelled) || line.contains(r), "{line} vs {r}");
            let nodeset: Vec<String> = l["nodeset"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| format!("N{n}"))
                .collect();
            let bracket = &line[line.rfind('[').unwrap()..];
            for n in &nodeset {
                assert!(bracket.contains(n.as_str()), "{line} vs {nodeset:?}");
            }
            assert_eq!(bracket.matches('N').count(), nodeset.len(), "{line}");
        }
    }

    // config get
    let c = node.cluster_config();
    let cfg = &status["config"];
    assert_eq!(
        cfg["num_partitions"].as_i64().unwrap().to_string(),
        c.num_partitions
    );
    assert_eq!(cfg["log_provider"], c.log_provider.as_str());
    let node_form = |v: &Value| {
        v.as_str().map(|s| {
            if s.starts_with('{') {
                s.to_string()
            } else {
                format!("{{node: {s}}}")
            }
        })
    };
    assert_eq!(node_form(&cfg["log_replication"]), c.log_replication);
    assert_eq!(
        node_form(&cfg["partition_replication"]),
        Some(c.partition_replication.clone())
    );
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
    let mut node = Node::start(NodeSpec::new("n1", "one", ALL_ROLES));
    node.provision("replicated");
    let ws = Workspace::new();
    ws.write(&status_tf(&node));
    compare_settled(&node, &ws);
}

#[test]
fn three_nodes_match_restatectl() {
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
