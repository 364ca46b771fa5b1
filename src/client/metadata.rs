//! Restate metadata values: the storage-codec framing and schema-tolerant views of the nodes
//! configuration and the logs.
//!
//! A value is 1 codec byte (2 = flexbuffers of a serde struct), a u32 little-endian length, then the
//! payload. We decode the flexbuffers into `serde_json::Value` first and pick the fields we need, so
//! fields newer servers add (or enum variants we do not know) never break decoding.

use serde_json::Value;

use super::error::Error;
use super::flex::Flex;
use crate::domain::{
    ClusterConfig, Location, Log, LogProvider, LogsView, NodeRecord, NodesConfiguration,
    Replication, Role, Segment,
};

const CODEC_FLEXBUFFERS: u8 = 2;

/// Decodes a storage-codec framed flexbuffers value into JSON. Any bytes give a value or an
/// error ([`Flex::read`] checks every offset and length).
pub fn decode_value(what: &str, bytes: &[u8]) -> Result<Value, Error> {
    let payload = unframe(what, bytes)?;
    let decode = |reason: String| Error::Decode {
        what: what.to_string(),
        reason,
    };
    Flex::read(payload)
        .map_err(|e| decode(e.to_string()))?
        .to_json()
        .map_err(decode)
}

/// A flexbuffers payload framed as the storage codec frames it.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(CODEC_FLEXBUFFERS);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// The flexbuffers payload of a storage-codec framed value.
pub fn unframe<'b>(what: &str, bytes: &'b [u8]) -> Result<&'b [u8], Error> {
    let fail = |reason: String| Error::Decode {
        what: what.to_string(),
        reason,
    };
    let (&codec, rest) = bytes
        .split_first()
        .ok_or_else(|| fail("the value is empty".into()))?;
    if codec != CODEC_FLEXBUFFERS {
        return Err(fail(format!(
            "codec {codec} is not supported (expected {CODEC_FLEXBUFFERS}, flexbuffers)"
        )));
    }
    let len_bytes: [u8; 4] = rest
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| fail("the length prefix is truncated".into()))?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    rest.get(4..).and_then(|r| r.get(..len)).ok_or_else(|| {
        fail(format!(
            "the payload is shorter than its length prefix ({len})"
        ))
    })
}

fn str_at(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    cur.as_str().unwrap_or_default().to_string()
}

/// `[id, generation]` or `{id, generation}`, depending on how the server serialized it.
fn generation_of(v: &Value) -> u32 {
    let g = match v {
        Value::Array(a) => a.get(1),
        Value::Object(o) => o.get("generation"),
        _ => None,
    };
    g.and_then(Value::as_u64)
        .and_then(|g| u32::try_from(g).ok())
        .unwrap_or(0)
}

/// Flexbuffers keeps maps string-keyed, so Restate writes id-keyed maps as `[[id, value], ...]`.
fn pairs(v: Option<&Value>) -> impl Iterator<Item = (u64, &Value)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([k, val]) => k.as_u64().map(|k| (k, val)),
            _ => None,
        })
}

/// The nodes configuration (`nodes_config`), from its JSON form.
pub fn nodes_configuration(v: &Value) -> NodesConfiguration {
    let mut nodes: Vec<NodeRecord> = pairs(v.get("nodes"))
        .filter_map(|(id, maybe)| {
            // `MaybeNode` is `"Tombstone"` or `{"Node": {...}}`.
            let n = maybe.get("Node")?;
            Some(NodeRecord {
                node_id: u32::try_from(id).ok()?,
                generation: n.get("current_generation").map_or(0, generation_of),
                name: str_at(n, &["name"]),
                address: str_at(n, &["address"]),
                roles: n
                    .get("roles")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(|x| x.as_str().and_then(Role::from_reported))
                            .collect()
                    })
                    .unwrap_or_default(),
                location: Location::reported(&str_at(n, &["location"])),
                log_server_storage_state: str_at(n, &["log_server_config", "storage_state"]),
                worker_state: str_at(n, &["worker_config", "worker_state"]),
                metadata_server_state: str_at(
                    n,
                    &["metadata_server_config", "metadata_server_state"],
                ),
                binary_version: str_at(n, &["binary_version"]),
            })
        })
        .collect();
    nodes.sort_by_key(|n| n.node_id);
    NodesConfiguration {
        version: v.get("version").and_then(Value::as_u64).unwrap_or(0),
        cluster_name: str_at(v, &["cluster_name"]),
        cluster_fingerprint: v
            .get("cluster_fingerprint")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        nodes,
    }
}

/// Partition ids of a partition table (`{"partitions": [[id, {...}], ...]}`), ascending.
pub fn partition_ids(v: &Value) -> Vec<u32> {
    let mut ids: Vec<u32> = pairs(v.get("partitions"))
        .filter_map(|(id, _)| u32::try_from(id).ok())
        .collect();
    ids.sort_unstable();
    ids
}

/// The cluster configuration as the metadata store holds it: the default log provider from the
/// logs (`{"config": {"default_provider": "local" | {"replicated": {...}}}}`) and the partitions
/// and their replication from the partition table (`{"replication": {"limit": "{node: 2}"}}`; a
/// 1.2 cluster's `"everywhere"` reads as no replication).
pub fn stored_config(logs: &Value, partition_table: &Value) -> Result<ClusterConfig, Error> {
    // A replication property is stored as its text (`"{node: 2}"`), or as a number of copies,
    // or as a map of scopes, depending on the value and the version that wrote it.
    let decode = |what: &str, v: &Value| {
        let parsed = match v {
            Value::String(text) => text.parse::<Replication>().ok(),
            other => Replication::from_json(other),
        };
        parsed.ok_or_else(|| Error::Decode {
            what: what.to_string(),
            reason: format!("replication {v}"),
        })
    };
    let provider = logs
        .get("config")
        .and_then(|c| c.get("default_provider"))
        .cloned()
        .unwrap_or_default();
    let (log_provider, log_replication, log_nodeset_size) = match &provider {
        Value::String(kind) => (LogProvider::reported(kind), None, 0),
        Value::Object(o) => match o.iter().next() {
            Some((kind, params)) => {
                let replication = params
                    .get("replication_property")
                    .map(|r| decode("the logs' default provider", r))
                    .transpose()?;
                let nodeset = params
                    .get("target_nodeset_size")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0);
                (LogProvider::reported(kind), replication, nodeset)
            }
            None => (LogProvider::reported(""), None, 0),
        },
        _ => (LogProvider::reported(""), None, 0),
    };
    let partition_replication = match partition_table.get("replication") {
        Some(Value::Object(o)) => o
            .get("limit")
            .map(|r| decode("the partition table", r))
            .transpose()?,
        _ => None,
    };
    let num_partitions = u32::try_from(partition_ids(partition_table).len()).unwrap_or(u32::MAX);
    Ok(ClusterConfig {
        num_partitions,
        partition_replication,
        log_provider,
        log_replication,
        log_nodeset_size,
    })
}

/// The logs (`bifrost_config`), from its JSON form: the tail segment of every log.
/// A replicated segment's parameters (JSON in a string): its replication and node set.
fn loglet_params(log_id: u32, params: &str) -> Result<(Option<Replication>, Vec<u32>), Error> {
    let p: Value = serde_json::from_str(params).map_err(|e| Error::Decode {
        what: format!("the replicated loglet params of log {log_id}"),
        reason: e.to_string(),
    })?;
    let nodeset = p
        .get("nodeset")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_u64().and_then(|x| u32::try_from(x).ok()))
                .collect()
        })
        .unwrap_or_default();
    Ok((
        p.get("replication").and_then(Replication::from_json),
        nodeset,
    ))
}

pub fn logs(v: &Value) -> Result<LogsView, Error> {
    let default_provider = match v.get("config").and_then(|c| c.get("default_provider")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let mut logs = Vec::new();
    for (log_id, log) in pairs(v.get("logs")) {
        let Ok(log_id) = u32::try_from(log_id) else {
            continue;
        };
        // The chain is ordered by base LSN; the tail is the segment with the highest one.
        let mut chain: Vec<(u64, &Value)> = pairs(log.get("chain")).collect();
        chain.sort_by_key(|(lsn, _)| *lsn);
        let mut segments = Vec::new();
        let mut tail = (LogProvider::Other(String::new()), None, Vec::new());
        for (base_lsn, segment) in chain {
            let kind = LogProvider::reported(&str_at(segment, &["kind"]));
            let (replication, nodeset) = if kind == LogProvider::Replicated {
                loglet_params(log_id, &str_at(segment, &["params"]))?
            } else {
                (None, Vec::new())
            };
            segments.push(Segment {
                index: segment
                    .get("index")
                    .and_then(Value::as_u64)
                    .and_then(|i| u32::try_from(i).ok())
                    .unwrap_or(0),
                base_lsn,
                kind: kind.clone(),
                nodeset: nodeset.clone(),
            });
            tail = (kind, replication, nodeset);
        }
        if segments.is_empty() {
            continue;
        }
        let (provider, replication, nodeset) = tail;
        logs.push(Log {
            log_id,
            provider,
            replication,
            nodeset,
            segments,
        });
    }
    logs.sort_by_key(|l| l.log_id);
    Ok(LogsView {
        version: v.get("version").and_then(Value::as_u64).unwrap_or(0),
        default_provider: LogProvider::reported(&default_provider),
        logs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn rejects_bad_framing() {
        assert!(decode_value("x", &[])
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(decode_value("x", &[1, 0, 0, 0, 0])
            .unwrap_err()
            .to_string()
            .contains("codec 1"));
        assert!(decode_value("x", &[2, 9, 0])
            .unwrap_err()
            .to_string()
            .contains("truncated"));
        assert!(decode_value("x", &[2, 9, 0, 0, 0, 1])
            .unwrap_err()
            .to_string()
            .contains("shorter"));
    }

    #[test]
    fn decodes_a_nodes_configuration_captured_from_restate_1_7_12() {
        let v = decode_value("nodes_config", &fixture("nodes_config-1.7.12.bin")).unwrap();
        let nc = nodes_configuration(&v);
        assert_eq!(nc.cluster_name, "fixture");
        assert_ne!(nc.cluster_fingerprint, 0);
        assert!(nc.version > 0);
        let n1 = &nc.nodes[0];
        assert_eq!((n1.node_id, n1.name.as_str()), (1, "n1"));
        assert!(n1.generation >= 1);
        assert!(
            n1.has_role(Role::LogServer) && n1.has_role(Role::Worker) && n1.has_role(Role::Admin)
        );
        assert_eq!(n1.log_server_storage_state, "read-write");
        assert_eq!(n1.worker_state, "active");
        assert_eq!(n1.metadata_server_state, "member");
        assert_eq!(n1.binary_version, "1.7.12");
        assert!(n1.address.starts_with("http://127.0.0.1:"));
    }

    #[test]
    fn decodes_logs_captured_from_restate_1_7_12() {
        let v = decode_value(
            "bifrost_config",
            &fixture("bifrost_config-local-1.7.12.bin"),
        )
        .unwrap();
        let logs = super::logs(&v).unwrap();
        assert_eq!(logs.default_provider, LogProvider::Local);
        assert_eq!(logs.logs.len(), 4);
        assert!(logs
            .logs
            .iter()
            .all(|l| l.provider == LogProvider::Local && l.replication.is_none()));

        let v = decode_value(
            "bifrost_config",
            &fixture("bifrost_config-replicated-1.7.12.bin"),
        )
        .unwrap();
        let logs = super::logs(&v).unwrap();
        assert_eq!(logs.default_provider, LogProvider::Replicated);
        assert_eq!(logs.logs.len(), 4);
        for l in &logs.logs {
            assert_eq!(l.provider, LogProvider::Replicated, "log {}", l.log_id);
            assert_eq!(l.replication, Some(Replication::nodes(1)));
            assert_eq!(l.nodeset, vec![1]);
            // The chain: the tail is its last segment, and every segment holds node 1's data.
            let tail = l.segments.last().unwrap();
            assert_eq!(
                (&tail.kind, &tail.nodeset, l.tail_index()),
                (&LogProvider::Replicated, &vec![1], tail.index)
            );
            assert!(l.segments.windows(2).all(|w| w[0].base_lsn < w[1].base_lsn));
            assert!(l.segments.iter().all(|s| s.may_hold(1)));
            assert!(!tail.may_hold(2));
        }
    }

    #[test]
    fn reads_the_stored_configuration() {
        let logs = decode_value(
            "bifrost_config",
            &fixture("bifrost_config-replicated-1.7.12.bin"),
        )
        .unwrap();
        let table = serde_json::json!({
            "version": 3, "num_partitions": 4,
            "partitions": [[0, {}], [1, {}], [2, {}], [3, {}]],
            "replication": {"limit": 2}
        });
        let c = stored_config(&logs, &table).unwrap();
        assert_eq!(c.log_provider, LogProvider::Replicated);
        assert_eq!(c.log_replication, Some(Replication::nodes(1)));
        assert_eq!(c.partition_replication, Some(Replication::nodes(2)));
        assert_eq!((c.num_partitions, c.log_nodeset_size), (4, 0));
        let local = decode_value(
            "bifrost_config",
            &fixture("bifrost_config-local-1.7.12.bin"),
        )
        .unwrap();
        let zoned =
            serde_json::json!({"partitions": [], "replication": {"limit": "{zone: 2, node: 3}"}});
        assert_eq!(
            stored_config(&local, &zoned).unwrap().partition_replication,
            Some("{node: 3, zone: 2}".parse().unwrap())
        );
        let everywhere = serde_json::json!({"partitions": [[0, {}]], "replication": "everywhere"});
        let c = stored_config(&local, &everywhere).unwrap();
        assert_eq!(
            (c.log_provider, c.log_replication, c.partition_replication),
            (LogProvider::Local, None, None)
        );
    }

    #[test]
    fn tolerates_tombstones_unknown_variants_and_new_fields() {
        let v = serde_json::json!({
            "version": 9, "cluster_name": "c", "cluster_fingerprint": 7, "a_future_field": [1, 2],
            "nodes": [
                [1, "Tombstone"],
                [2, {"Node": {"name": "n2", "current_generation": {"id": 2, "generation": 5},
                              "roles": ["worker", "metadata-store", "future-role"], "future": {"x": 1}}}],
                [3, {"SomethingNew": {}}],
                "garbage"
            ]
        });
        let nc = nodes_configuration(&v);
        assert_eq!(nc.nodes.len(), 1);
        assert_eq!((nc.nodes[0].node_id, nc.nodes[0].generation), (2, 5));
        assert_eq!(nc.nodes[0].log_server_storage_state, "");
        // 1.2's spelling of the metadata role is normalised; a role we do not know is left out.
        assert_eq!(nc.nodes[0].roles, [Role::Worker, Role::MetadataServer]);
    }
}
