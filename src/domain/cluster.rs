//! What a cluster is made of, as the provider sees it: its configuration, its nodes with their
//! liveness, its partition processors and its logs.

use std::collections::{BTreeSet, HashMap};

use super::location::Location;
use super::log_provider::LogProvider;
use super::replication::Replication;
use super::role::Role;
use super::version::Version;

/// The cluster-wide configuration (`GetClusterConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    pub num_partitions: u32,
    pub partition_replication: Option<Replication>,
    pub log_provider: LogProvider,
    pub log_replication: Option<Replication>,
    pub log_nodeset_size: u32,
}

/// The configuration as the metadata store holds it, with the versions of the two values it is
/// made of (the logs' and the partition table's). The logs' version also moves whenever Restate
/// reconfigures a log by itself (a node joins, a segment is sealed), so a change of the
/// configuration is told by comparing the configuration, not the versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConfig {
    pub config: ClusterConfig,
    pub logs_version: u32,
    pub partition_table_version: u32,
}

/// What the user asked for; `None` keeps the cluster's current value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredConfig {
    pub log_provider: LogProvider,
    pub log_replication: Option<Replication>,
    pub partition_replication: Option<Replication>,
    pub log_nodeset_size: Option<u32>,
}

/// Values for `ProvisionCluster`; `None` falls back to the receiving node's own config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProvisionRequest {
    pub num_partitions: Option<u32>,
    pub partition_replication: Option<Replication>,
    pub log_provider: Option<LogProvider>,
    pub log_replication: Option<Replication>,
    pub log_nodeset_size: Option<u32>,
}

/// Outcome of provisioning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provisioned {
    /// This call provisioned the cluster.
    Now,
    /// Somebody else had provisioned it.
    Already,
}

/// What a node says about itself (`GetIdent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub endpoint: String,
    pub cluster_name: String,
    pub node_id: Option<u32>,
    pub roles: Vec<Role>,
    pub alive: bool,
    /// False while the node waits for the cluster to be provisioned.
    pub provisioned: bool,
}

impl Ident {
    /// Refuses a cluster that is not provisioned yet.
    pub fn require_provisioned(&self) -> Result<(), super::error::Error> {
        if self.provisioned {
            Ok(())
        } else {
            Err(super::error::Error::NotProvisioned {
                endpoint: self.endpoint.clone(),
                cluster_name: self.cluster_name.clone(),
            })
        }
    }
}

/// One node as recorded in the nodes configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRecord {
    pub node_id: u32,
    pub generation: u32,
    pub name: String,
    pub address: String,
    /// Normalised (1.2's `metadata-store` is `MetadataServer`); roles unknown to us are left out.
    pub roles: Vec<Role>,
    pub location: Location,
    pub log_server_storage_state: String,
    pub worker_state: String,
    pub metadata_server_state: String,
    /// As reported; empty before 1.6, which did not record it.
    pub binary_version: String,
}

impl NodeRecord {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn role_set(&self) -> BTreeSet<Role> {
        self.roles.iter().copied().collect()
    }

    pub fn version(&self) -> Option<Version> {
        Version::parse(&self.binary_version).ok()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodesConfiguration {
    pub version: u64,
    pub cluster_name: String,
    pub cluster_fingerprint: u64,
    /// Live nodes (tombstones dropped), ordered by id.
    pub nodes: Vec<NodeRecord>,
}

impl NodesConfiguration {
    pub fn node_by_id(&self, id: u32) -> Option<&NodeRecord> {
        self.nodes.iter().find(|n| n.node_id == id)
    }
}

/// A node from the nodes configuration, with liveness from the cluster state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub record: NodeRecord,
    pub alive: bool,
}

/// One partition processor running on an alive node, as the cluster controller last saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Processor {
    pub node_id: u32,
    pub partition_id: u32,
    pub leader: bool,
    pub applied_lsn: Option<u64>,
    pub archived_lsn: Option<u64>,
    /// When the processor last reported this (milliseconds since the Unix epoch).
    pub updated_at_ms: Option<u64>,
}

/// The cluster controller's state: liveness per node id, and the processors of alive nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerState {
    pub alive: HashMap<u32, bool>,
    /// Ordered by partition, then node.
    pub processors: Vec<Processor>,
}

impl ControllerState {
    /// Whether the controller has heard of every node of `nodes` (its view is empty for a few
    /// seconds after it starts, until the first heartbeats).
    pub fn covers(&self, nodes: &NodesConfiguration) -> bool {
        nodes
            .nodes
            .iter()
            .all(|n| self.alive.contains_key(&n.node_id))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterView {
    pub cluster_name: String,
    pub cluster_fingerprint: u64,
    pub nodes: Vec<NodeView>,
    /// Every partition processor on an alive node, ordered by partition then node.
    pub processors: Vec<Processor>,
}

/// One partition: its leader and the nodes running a processor for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionSummary {
    pub partition_id: u32,
    pub leader: Option<u32>,
    pub replica_set: Vec<u32>,
    /// The leader's (else the highest reported) applied and archived LSNs.
    pub applied_lsn: Option<u64>,
    pub archived_lsn: Option<u64>,
}

impl ClusterView {
    pub fn new(nodes: NodesConfiguration, state: ControllerState) -> ClusterView {
        ClusterView {
            cluster_name: nodes.cluster_name,
            cluster_fingerprint: nodes.cluster_fingerprint,
            nodes: nodes
                .nodes
                .into_iter()
                .map(|record| NodeView {
                    alive: state.alive.get(&record.node_id).copied().unwrap_or(false),
                    record,
                })
                .collect(),
            processors: state.processors,
        }
    }

    pub fn node(&self, name: &str) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.record.name == name)
    }

    /// What the cluster reports about node `name`, for messages.
    pub fn describe_node(&self, name: &str) -> String {
        let or_none = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        match self.node(name) {
            Some(n) => {
                let mut roles: Vec<&str> = n.record.roles.iter().map(|r| r.as_str()).collect();
                roles.sort_unstable();
                format!(
                    "node {name} is N{}:{} with roles [{}], {}, version {}, log-server storage {}, worker {}, metadata server {}",
                    n.record.node_id,
                    n.record.generation,
                    roles.join(", "),
                    if n.alive { "alive" } else { "not alive" },
                    or_none(&n.record.binary_version),
                    or_none(&n.record.log_server_storage_state),
                    or_none(&n.record.worker_state),
                    or_none(&n.record.metadata_server_state),
                )
            }
            None => {
                let names: Vec<&str> = self.nodes.iter().map(|n| n.record.name.as_str()).collect();
                format!(
                    "no node named {name} is part of cluster \"{}\" (its nodes: {})",
                    self.cluster_name,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )
            }
        }
    }

    /// One entry per partition id in `table`.
    pub fn partitions(&self, table: &[u32]) -> Vec<PartitionSummary> {
        table
            .iter()
            .map(|&pid| {
                let procs: Vec<&Processor> = self
                    .processors
                    .iter()
                    .filter(|p| p.partition_id == pid)
                    .collect();
                let leader = procs.iter().find(|p| p.leader);
                let pick = |f: fn(&Processor) -> Option<u64>| match leader {
                    Some(l) => f(l),
                    None => procs.iter().filter_map(|p| f(p)).max(),
                };
                PartitionSummary {
                    partition_id: pid,
                    leader: leader.map(|l| l.node_id),
                    replica_set: procs.iter().map(|p| p.node_id).collect(),
                    applied_lsn: pick(|p| p.applied_lsn),
                    archived_lsn: pick(|p| p.archived_lsn),
                }
            })
            .collect()
    }
}

/// One log: its tail segment (what it is writing to now), and every segment of its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    pub log_id: u32,
    /// The tail's kind.
    pub provider: LogProvider,
    /// The tail's replication (set for replicated segments).
    pub replication: Option<Replication>,
    /// The tail's node set.
    pub nodeset: Vec<u32>,
    /// Every segment not trimmed away yet, oldest first (the tail last).
    pub segments: Vec<Segment>,
}

/// One segment of a log's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The segment's index in the chain.
    pub index: u32,
    /// The first LSN it holds.
    pub base_lsn: u64,
    /// `local`, `replicated`, or another kind as reported (`sealed` marks a sealed chain's end).
    pub kind: LogProvider,
    /// The node set of a replicated segment.
    pub nodeset: Vec<u32>,
}

impl Segment {
    /// Whether the segment's records may live on `node_id`: a replicated segment naming it, or a
    /// local one (whose parameters do not say which node holds it).
    pub fn may_hold(&self, node_id: u32) -> bool {
        match &self.kind {
            LogProvider::Replicated => self.nodeset.contains(&node_id),
            LogProvider::Local => true,
            LogProvider::Other(kind) => kind != "sealed",
        }
    }
}

impl Log {
    /// The tail alone (tests and fakes): a chain of one segment.
    pub fn with_tail(
        log_id: u32,
        provider: LogProvider,
        replication: Option<Replication>,
        nodeset: Vec<u32>,
    ) -> Log {
        Log {
            log_id,
            segments: vec![Segment {
                index: 0,
                base_lsn: 1,
                kind: provider.clone(),
                nodeset: nodeset.clone(),
            }],
            provider,
            replication,
            nodeset,
        }
    }

    /// The tail segment's index.
    pub fn tail_index(&self) -> u32 {
        self.segments.last().map_or(0, |s| s.index)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogsView {
    pub version: u64,
    /// The default provider for new segments, as the server stores it.
    pub default_provider: LogProvider,
    /// One entry per log, ordered by log id.
    pub logs: Vec<Log>,
}
