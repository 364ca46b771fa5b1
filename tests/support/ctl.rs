//! What `restatectl` (the pinned binary, independent of the provider) reports about a cluster: one
//! reader per fact, used by every test. They read restatectl's JSON — `metadata get -k KEY` (the
//! metadata as restatectl decodes it) and `sql --json` over its cluster tables — rather than the
//! columns of its human-readable tables, whose layout is not an interface.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use serde_json::Value;

use super::restate::binaries;
use super::sorted_strings;

/// `restatectl ARGS` against a node's fabric URL.
pub fn output(url: &str, args: &[&str]) -> Output {
    Command::new(&binaries().ctl)
        .args(args)
        .env("RESTATECTL_ADDRESS", url)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run restatectl")
}

/// Like [`output`], returning stdout and panicking (with both streams) on failure.
#[track_caller]
pub fn run(url: &str, args: &[&str]) -> String {
    let out = output(url, args);
    assert!(
        out.status.success(),
        "restatectl {args:?} at {url} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A metadata key (`nodes_config`, `bifrost_config`, `partition_table`, …) as restatectl decodes it.
/// Retried for a few seconds: restatectl reads a node's own copy of the metadata, which a node
/// that has just started or restarted may not have synced yet ("Has the cluster been provisioned
/// yet?" from a provisioned cluster).
#[track_caller]
pub fn metadata(url: &str, key: &str) -> Value {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        if let Some(v) = try_metadata(url, key) {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let text = run(url, &["metadata", "get", "-k", key]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("metadata {key}: {e}: {text}"))
}

/// Like [`metadata`]; None while the node cannot answer (starting, just restarted).
pub fn try_metadata(url: &str, key: &str) -> Option<Value> {
    let out = output(url, &["metadata", "get", "-k", key]);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

/// The rows of `restatectl sql --json QUERY` (its cluster tables: `partition_state`, `nodes`, …).
#[track_caller]
pub fn sql(url: &str, query: &str) -> Vec<Value> {
    let text = run(url, &["sql", "--json", query]);
    if text.trim().is_empty() {
        return Vec::new();
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("sql {query}: {e}: {text}"))
}

/// `N2` or `N2:3` -> 2
fn node_number(id: &str) -> u64 {
    id.trim_start_matches('N')
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a node id: {id:?}"))
}

/// A node of the nodes configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtlNode {
    pub id: u64,
    pub generation: u64,
    pub address: String,
    /// Sorted.
    pub roles: Vec<String>,
    /// The log server's storage state (`read-write`, …), when the node has that role.
    pub log_server_state: Option<String>,
}

/// node name -> node, from `nodes_config`.
#[track_caller]
pub fn nodes(url: &str) -> BTreeMap<String, CtlNode> {
    nodes_from(&metadata(url, "nodes_config"))
}

/// The nodes of a `nodes_config` value (see [`nodes`]).
pub fn nodes_from(nodes_config: &Value) -> BTreeMap<String, CtlNode> {
    nodes_config["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            let n = &pair[1]["Node"];
            let node = CtlNode {
                id: pair[0].as_u64()?,
                generation: n["current_generation"][1].as_u64()?,
                address: n["address"].as_str()?.to_string(),
                roles: sorted_strings(&n["roles"]),
                log_server_state: n["log_server_config"]["storage_state"]
                    .as_str()
                    .map(str::to_string),
            };
            Some((n["name"].as_str()?.to_string(), node))
        })
        .collect()
}

/// The cluster fingerprint every node of one cluster reports.
#[track_caller]
pub fn fingerprint(url: &str) -> u64 {
    let nc = metadata(url, "nodes_config");
    nc["cluster_fingerprint"]
        .as_u64()
        .unwrap_or_else(|| panic!("no cluster_fingerprint in {nc}"))
}

/// A log's last segment, from `bifrost_config`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogTail {
    pub log_id: u64,
    /// `local` or `replicated`.
    pub kind: String,
    /// A replicated segment's replication, as Restate stores it (`{"node": 2}`); None for local.
    pub replication: Option<Value>,
    /// A replicated segment's node set (node ids); empty for local.
    pub nodeset: Vec<u64>,
}

impl LogTail {
    /// The replication spelled as restatectl prints it: `{node: 2}`.
    pub fn replication_spelled(&self) -> Option<String> {
        self.replication.as_ref().and_then(spell_replication)
    }
}

/// A log's trim point, as `restatectl logs describe --extra` prints it ("Trim Point LSN: N").
/// The one fact read from text: restatectl has no JSON for it (`logs describe` has no JSON
/// output, the metadata holds no trim point, which lives in the loglets, and the `sql` table
/// `loglet_workers` has each log server's trim point of one segment, none for the local loglet),
/// so the labelled line is matched, not a column.
#[track_caller]
pub fn trim_point(url: &str, log_id: u64) -> u64 {
    let out = run(url, &["logs", "describe", "--extra", &log_id.to_string()]);
    out.lines()
        .find_map(|l| l.trim().strip_prefix("Trim Point LSN:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no trim point for log {log_id} in:\n{out}"))
}

/// The tail segment of every log, by log id.
#[track_caller]
pub fn log_tails(url: &str) -> Vec<LogTail> {
    log_tails_from(&metadata(url, "bifrost_config"))
}

/// The tails of a `bifrost_config` value (see [`log_tails`]).
pub fn log_tails_from(bifrost_config: &Value) -> Vec<LogTail> {
    let mut tails: Vec<LogTail> = bifrost_config["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            let chain = pair[1]["chain"].as_array()?;
            let tail = &chain
                .iter()
                .max_by_key(|seg| seg[0].as_u64().unwrap_or(0))?[1];
            // Segment params are JSON in a string: {"replication": …, "nodeset": […]} when replicated.
            let params: Value = tail["params"]
                .as_str()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or(Value::Null);
            Some(LogTail {
                log_id: pair[0].as_u64()?,
                kind: tail["kind"].as_str()?.to_string(),
                replication: params.get("replication").filter(|r| !r.is_null()).cloned(),
                nodeset: params["nodeset"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect(),
            })
        })
        .collect();
    tails.sort_by_key(|t| t.log_id);
    tails
}

/// Every log's tail is on `kind` (with `{node: n}` copies when given); returns the tails.
#[track_caller]
pub fn assert_logs(url: &str, kind: &str, node_copies: Option<u64>) -> Vec<LogTail> {
    let tails = log_tails(url);
    assert!(!tails.is_empty(), "no logs");
    for t in &tails {
        assert_eq!(t.kind, kind, "{tails:?}");
        if let Some(n) = node_copies {
            assert_eq!(
                t.replication.as_ref().map(|r| &r["node"]),
                Some(&Value::from(n)),
                "{tails:?}"
            );
        }
    }
    tails
}

/// A replication as restatectl prints it: `{node: 2}`, `{node: 3, zone: 2}`. Restate stores it as
/// a number (copies on nodes), a string in that spelling, or a map of scope to copies.
fn spell_replication(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(format!("{{node: {n}}}")),
        Value::String(s) => Some(s.clone()),
        Value::Object(scopes) => {
            let order = ["node", "zone", "region"];
            let mut keys: Vec<&String> = scopes.keys().collect();
            keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}: {}", scopes[*k]))
                .collect();
            Some(format!("{{{}}}", parts.join(", ")))
        }
        _ => None,
    }
}

/// The cluster configuration (what `restatectl config get` summarises), from the `bifrost_config`
/// and `partition_table` metadata. Values are spelled as restatectl prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfigView {
    /// The number of partitions in the partition table.
    pub num_partitions: String,
    /// `{node: 1}`
    pub partition_replication: String,
    /// `local` or `replicated`
    pub log_provider: String,
    /// `{node: 1}`; None on the local provider.
    pub log_replication: Option<String>,
    /// None on the local provider.
    pub nodeset_size: Option<String>,
}

/// The cluster configuration of the cluster `url` belongs to.
#[track_caller]
pub fn cluster_config(url: &str) -> ClusterConfigView {
    ClusterConfigView::from_metadata(
        &metadata(url, "bifrost_config"),
        &metadata(url, "partition_table"),
    )
}

impl ClusterConfigView {
    pub fn from_metadata(bifrost_config: &Value, partition_table: &Value) -> Self {
        // `"local"`, or `{"replicated": {"replication_property": …, "target_nodeset_size": …}}`.
        let provider = &bifrost_config["config"]["default_provider"];
        let (log_provider, params) = match provider {
            Value::String(kind) => (kind.clone(), &Value::Null),
            Value::Object(m) if m.len() == 1 => {
                let (kind, params) = m.iter().next().expect("one entry");
                (kind.clone(), params)
            }
            other => panic!("unexpected default_provider {other} in {bifrost_config}"),
        };
        // `{"limit": 1}` or `{"limit": "{node: 3, zone: 2}"}`; anything else as its JSON.
        let replication = &partition_table["replication"];
        let partition_replication = replication
            .get("limit")
            .and_then(spell_replication)
            .unwrap_or_else(|| replication.to_string());
        ClusterConfigView {
            num_partitions: partition_table["partitions"]
                .as_array()
                .map_or(0, Vec::len)
                .to_string(),
            partition_replication,
            log_provider,
            log_replication: params
                .get("replication_property")
                .and_then(spell_replication),
            nodeset_size: params
                .get("target_nodeset_size")
                .filter(|n| !n.is_null())
                .map(Value::to_string),
        }
    }
}

/// A partition processor, as the `partition_state` table reports it (the rows `restatectl
/// partitions list` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processor {
    pub partition_id: u64,
    pub node_id: u64,
    /// Its effective mode is `Leader`.
    pub leader: bool,
    pub applied_lsn: Option<u64>,
    pub archived_lsn: Option<u64>,
}

/// Every alive partition processor, by partition and node.
#[track_caller]
pub fn partition_processors(url: &str) -> Vec<Processor> {
    sql(
        url,
        "SELECT partition_id, plain_node_id, effective_mode, applied_log_lsn, archived_log_lsn \
         FROM partition_state ORDER BY partition_id, plain_node_id",
    )
    .iter()
    .map(|row| Processor {
        partition_id: row["partition_id"].as_u64().expect("partition_id"),
        node_id: node_number(row["plain_node_id"].as_str().expect("plain_node_id")),
        // `Leader` (1.7), `leader` (1.6).
        leader: row["effective_mode"]
            .as_str()
            .is_some_and(|m| m.eq_ignore_ascii_case("leader")),
        // (`sql --json` leaves out null columns.)
        applied_lsn: row.get("applied_log_lsn").and_then(Value::as_u64),
        archived_lsn: row.get("archived_log_lsn").and_then(Value::as_u64),
    })
    .collect()
}

/// partition id -> node id of the processor that leads it.
#[track_caller]
pub fn leaders(url: &str) -> BTreeMap<u64, u64> {
    partition_processors(url)
        .into_iter()
        .filter(|p| p.leader)
        .map(|p| (p.partition_id, p.node_id))
        .collect()
}
