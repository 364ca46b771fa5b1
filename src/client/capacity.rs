//! Can the cluster hold a replication property? Restate accepts any replication without checking;
//! one the nodes cannot satisfy never takes effect (1.7) or makes the cluster unavailable (older
//! servers). This is the check the server does not make.

use std::collections::BTreeSet;

use super::cluster::NodeView;
use super::replication::{Replication, Scope};

/// Which nodes can hold a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// Alive log servers in `read-write` storage state (log replication).
    LogServer,
    /// Alive workers that are not draining or disabled (partition replication).
    Worker,
}

impl Holder {
    pub fn describe(self) -> &'static str {
        match self {
            Holder::LogServer => "alive nodes with the log-server role in read-write storage state",
            Holder::Worker => "alive nodes with the worker role",
        }
    }

    fn holds(self, n: &NodeView) -> bool {
        match self {
            Holder::LogServer => {
                n.alive
                    && n.record.has_role("log-server")
                    && n.record.log_server_storage_state == "read-write"
            }
            Holder::Worker => {
                n.alive
                    && n.record.has_role("worker")
                    && !matches!(n.record.worker_state.as_str(), "draining" | "disabled")
            }
        }
    }
}

/// A shortfall: at `scope`, `required` distinct places are needed and `available` exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortfall {
    pub scope: Scope,
    pub required: u8,
    pub available: usize,
    /// Names of the nodes that qualify.
    pub holders: Vec<String>,
}

/// Checks every scope of `replication` against the nodes that can hold a copy.
pub fn check(
    replication: &Replication,
    holder: Holder,
    nodes: &[NodeView],
) -> Result<(), Shortfall> {
    let eligible: Vec<&NodeView> = nodes.iter().filter(|n| holder.holds(n)).collect();
    let holders: Vec<String> = eligible
        .iter()
        .map(|n| format!("{} (N{})", n.record.name, n.record.node_id))
        .collect();
    let mut needs: Vec<(Scope, u8)> = vec![(Scope::Node, replication.copies())];
    needs.extend(replication.scopes().filter(|(s, _)| *s != Scope::Node));
    for (scope, required) in needs {
        let available = match scope {
            Scope::Node => eligible.len(),
            Scope::Zone => distinct(eligible.iter().filter_map(|n| n.record.zone())),
            Scope::Region => distinct(eligible.iter().filter_map(|n| n.record.region())),
        };
        if available < required as usize {
            return Err(Shortfall {
                scope,
                required,
                available,
                holders,
            });
        }
    }
    Ok(())
}

fn distinct<'a>(it: impl Iterator<Item = &'a str>) -> usize {
    it.collect::<BTreeSet<_>>().len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::metadata::NodeRecord;

    fn node(id: u32, roles: &[&str], storage: &str, location: &str, alive: bool) -> NodeView {
        NodeView {
            alive,
            record: NodeRecord {
                node_id: id,
                generation: 1,
                name: format!("n{id}"),
                address: String::new(),
                roles: roles.iter().map(|s| s.to_string()).collect(),
                location: location.into(),
                log_server_storage_state: storage.into(),
                worker_state: "active".into(),
                metadata_server_state: "member".into(),
                binary_version: "1.7.12".into(),
            },
        }
    }

    fn r(s: &str) -> Replication {
        s.parse().unwrap()
    }

    #[test]
    fn counts_only_alive_read_write_log_servers() {
        let nodes = vec![
            node(1, &["log-server", "worker"], "read-write", "", true),
            node(2, &["log-server"], "provisioning", "", true),
            node(3, &["log-server"], "read-write", "", false),
            node(4, &["worker"], "", "", true),
        ];
        assert!(check(&r("1"), Holder::LogServer, &nodes).is_ok());
        let short = check(&r("2"), Holder::LogServer, &nodes).unwrap_err();
        assert_eq!(
            (short.scope, short.required, short.available),
            (Scope::Node, 2, 1)
        );
        assert_eq!(short.holders, vec!["n1 (N1)".to_string()]);
        assert!(check(&r("2"), Holder::Worker, &nodes).is_ok());
        assert!(check(&r("3"), Holder::Worker, &nodes).is_err());
    }

    #[test]
    fn counts_distinct_zones_and_regions() {
        let nodes = vec![
            node(1, &["log-server"], "read-write", "eu.a", true),
            node(2, &["log-server"], "read-write", "eu.a", true),
            node(3, &["log-server"], "read-write", "eu.b", true),
            node(4, &["log-server"], "read-write", "us", true),
        ];
        assert!(check(&r("{zone: 2, node: 4}"), Holder::LogServer, &nodes).is_ok());
        let short = check(&r("{zone: 3}"), Holder::LogServer, &nodes).unwrap_err();
        assert_eq!(
            (short.scope, short.required, short.available),
            (Scope::Zone, 3, 2)
        );
        assert!(check(&r("{region: 2}"), Holder::LogServer, &nodes).is_ok());
        let short = check(&r("{region: 3}"), Holder::LogServer, &nodes).unwrap_err();
        assert_eq!((short.scope, short.available), (Scope::Region, 2));
        // zone-less nodes count for nothing at zone scope
        let bare = vec![node(1, &["log-server"], "read-write", "", true); 3];
        assert_eq!(
            check(&r("{zone: 1}"), Holder::LogServer, &bare)
                .unwrap_err()
                .available,
            0
        );
    }
}
