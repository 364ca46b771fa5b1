//! An in-process fake of the admin API: a cluster in memory that behaves like Restate 1.7 where
//! the provider depends on it (provisioning once, `SetClusterConfiguration` replacing the whole
//! configuration and refusing what the server refuses, logs that move to a new configuration a
//! few reads later and only when the log servers can hold it, nodes that join late, snapshots
//! that fail for chosen partitions).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use tonic::Code;

use crate::client::{self, SnapshotTaken};
use crate::domain::error::Holder;
use crate::domain::{
    rules, ClusterConfig, ControllerState, Ident, Location, LogProvider, LogTail, LogsView,
    NodeRecord, NodeView, NodesConfiguration, Processor, ProvisionRequest, Provisioned,
    Replication, Role,
};
use crate::ops::AdminApi;

pub const ENDPOINT: &str = "http://fake-n1:5122";

/// What the fake cluster holds; tests change it between calls.
#[derive(Clone, Debug)]
pub struct FakeState {
    pub cluster_name: String,
    pub fingerprint: u64,
    pub provisioned: bool,
    pub config: ClusterConfig,
    /// The receiving node's `default-num-partitions` (used when provisioning without a value).
    pub default_num_partitions: u32,
    pub nodes: Vec<NodeView>,
    pub logs: Vec<LogTail>,
    /// Reads of the logs before they move to a changed configuration.
    pub logs_lag: usize,
    /// Nodes that join after this many reads of the nodes configuration.
    pub joining: Vec<(usize, NodeView)>,
    /// Partitions whose snapshot fails, with the error.
    pub snapshot_failures: BTreeMap<u32, client::Error>,
    pending_reads: usize,
    snapshots_taken: usize,
    nodes_reads: usize,
}

pub fn node(id: u32, name: &str, roles: &[Role]) -> NodeView {
    NodeView {
        alive: true,
        record: NodeRecord {
            node_id: id,
            generation: 1,
            name: name.into(),
            address: format!("http://fake-{name}:5122/"),
            roles: roles.to_vec(),
            location: Location::reported(""),
            log_server_storage_state: if roles.contains(&Role::LogServer) {
                "read-write".into()
            } else {
                String::new()
            },
            worker_state: "active".into(),
            metadata_server_state: "member".into(),
            binary_version: "1.7.12".into(),
        },
    }
}

impl FakeState {
    /// One node `n1` with every role, not provisioned yet.
    pub fn fresh(cluster_name: &str) -> FakeState {
        FakeState {
            cluster_name: cluster_name.into(),
            fingerprint: 0,
            provisioned: false,
            config: ClusterConfig {
                num_partitions: 0,
                partition_replication: None,
                log_provider: LogProvider::Replicated,
                log_replication: None,
                log_nodeset_size: 0,
            },
            default_num_partitions: 24,
            nodes: vec![node(1, "n1", &Role::ALL)],
            logs: Vec::new(),
            logs_lag: 2,
            joining: Vec::new(),
            snapshot_failures: BTreeMap::new(),
            pending_reads: 0,
            snapshots_taken: 0,
            nodes_reads: 0,
        }
    }

    /// Provisioned with `num_partitions`, replicated at one copy, logs on it.
    pub fn provisioned(cluster_name: &str, num_partitions: u32) -> FakeState {
        let mut s = FakeState::fresh(cluster_name);
        s.provision(&ProvisionRequest {
            num_partitions: Some(num_partitions),
            ..Default::default()
        });
        s.logs = s.tails();
        s.pending_reads = 0;
        s
    }

    fn provision(&mut self, req: &ProvisionRequest) {
        self.provisioned = true;
        self.fingerprint = 0x5eed_0000 + u64::from(req.num_partitions.unwrap_or(0));
        let provider = req.log_provider.clone().unwrap_or(LogProvider::Replicated);
        self.config = ClusterConfig {
            num_partitions: req.num_partitions.unwrap_or(self.default_num_partitions),
            partition_replication: Some(
                req.partition_replication
                    .clone()
                    .unwrap_or(Replication::nodes(1)),
            ),
            log_replication: (provider == LogProvider::Replicated)
                .then(|| req.log_replication.clone().unwrap_or(Replication::nodes(1))),
            log_provider: provider,
            log_nodeset_size: req.log_nodeset_size.unwrap_or(0),
        };
        self.pending_reads = self.logs_lag;
    }

    /// What every log's tail becomes once the configuration took effect.
    fn tails(&self) -> Vec<LogTail> {
        let nodeset: Vec<u32> = self
            .nodes
            .iter()
            .filter(|n| n.record.has_role(Role::LogServer))
            .map(|n| n.record.node_id)
            .collect();
        (0..self.config.num_partitions)
            .map(|id| LogTail {
                log_id: id,
                provider: self.config.log_provider.clone(),
                replication: match self.config.log_provider {
                    LogProvider::Replicated => self.config.log_replication.clone(),
                    _ => None,
                },
                nodeset: nodeset.clone(),
            })
            .collect()
    }

    /// Whether the log servers can hold the configured log replication (Restate 1.7 never moves
    /// the logs otherwise).
    fn logs_can_move(&self) -> bool {
        match (&self.config.log_provider, &self.config.log_replication) {
            (LogProvider::Replicated, Some(r)) => {
                rules::capacity(r, Holder::LogServer, &self.nodes).is_ok()
            }
            (LogProvider::Replicated, None) => false,
            _ => true,
        }
    }
}

fn unavailable(message: &str, method: &'static str) -> client::Error {
    client::Error::Status {
        endpoint: ENDPOINT.into(),
        method,
        code: Code::Unavailable,
        message: message.into(),
    }
}

fn internal(message: &str, method: &'static str) -> client::Error {
    client::Error::Status {
        endpoint: ENDPOINT.into(),
        method,
        code: Code::Internal,
        message: message.into(),
    }
}

pub struct FakeCluster {
    state: Mutex<FakeState>,
    rpcs: AtomicUsize,
}

impl FakeCluster {
    pub fn new(state: FakeState) -> FakeCluster {
        FakeCluster {
            state: Mutex::new(state),
            rpcs: AtomicUsize::new(0),
        }
    }

    /// Reads or changes the cluster (tests act "behind Terraform's back" with it).
    pub fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn call<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        self.rpcs.fetch_add(1, Ordering::Relaxed);
        self.with(f)
    }
}

const CTRL: &str = "/restate.cluster_ctrl.ClusterCtrlSvc/";

#[async_trait]
impl AdminApi for FakeCluster {
    async fn ident(&self) -> Result<Ident, client::Error> {
        self.call(|s| {
            Ok(Ident {
                endpoint: ENDPOINT.into(),
                cluster_name: s.cluster_name.clone(),
                node_id: s.provisioned.then_some(1),
                roles: s.nodes[0].record.roles.clone(),
                alive: s.provisioned,
                provisioned: s.provisioned,
            })
        })
    }

    async fn provision(&self, req: &ProvisionRequest) -> Result<Provisioned, client::Error> {
        self.call(|s| {
            if s.provisioned {
                return Ok(Provisioned::Already);
            }
            s.provision(req);
            Ok(Provisioned::Now)
        })
    }

    async fn cluster_config(&self) -> Result<ClusterConfig, client::Error> {
        self.call(|s| {
            if !s.provisioned {
                return Err(unavailable(
                    "svc is not ready yet",
                    "/restate.cluster_ctrl.ClusterCtrlSvc/GetClusterConfiguration",
                ));
            }
            Ok(s.config.clone())
        })
    }

    async fn set_cluster_config(&self, config: &ClusterConfig) -> Result<(), client::Error> {
        const SET: &str = "/restate.cluster_ctrl.ClusterCtrlSvc/SetClusterConfiguration";
        self.call(|s| {
            if !s.provisioned {
                return Err(unavailable("svc is not ready yet", SET));
            }
            if config.num_partitions != s.config.num_partitions {
                return Err(internal(
                    "changing the number of partitions is not yet supported by Restate",
                    SET,
                ));
            }
            if config.log_provider != LogProvider::Replicated
                && s.config.log_provider == LogProvider::Replicated
            {
                return Err(internal(
                    "changing default provider kind to local is not supported. Choose 'replicated' instead",
                    SET,
                ));
            }
            if *config != s.config {
                s.config = config.clone();
                s.pending_reads = s.logs_lag;
            }
            Ok(())
        })
    }

    async fn nodes_configuration(&self) -> Result<NodesConfiguration, client::Error> {
        self.call(|s| {
            if !s.provisioned {
                return Err(client::Error::NotProvisioned {
                    endpoint: ENDPOINT.into(),
                });
            }
            s.nodes_reads += 1;
            let reads = s.nodes_reads;
            let (joined, waiting): (Vec<_>, Vec<_>) =
                s.joining.drain(..).partition(|(after, _)| *after < reads);
            s.joining = waiting;
            s.nodes.extend(joined.into_iter().map(|(_, n)| n));
            Ok(NodesConfiguration {
                version: u64::try_from(s.nodes_reads).unwrap_or(0) + 1,
                cluster_name: s.cluster_name.clone(),
                cluster_fingerprint: s.fingerprint,
                nodes: s.nodes.iter().map(|n| n.record.clone()).collect(),
            })
        })
    }

    async fn partition_ids(&self) -> Result<Vec<u32>, client::Error> {
        self.call(|s| {
            if !s.provisioned {
                return Err(client::Error::NotProvisioned {
                    endpoint: ENDPOINT.into(),
                });
            }
            Ok((0..s.config.num_partitions).collect())
        })
    }

    async fn logs(&self) -> Result<LogsView, client::Error> {
        self.call(|s| {
            if !s.provisioned {
                return Err(client::Error::NotProvisioned {
                    endpoint: ENDPOINT.into(),
                });
            }
            if s.pending_reads > 0 {
                s.pending_reads -= 1;
            } else if s.logs_can_move() {
                s.logs = s.tails();
            }
            Ok(LogsView {
                version: 1,
                default_provider: s.config.log_provider.clone(),
                logs: s.logs.clone(),
            })
        })
    }

    async fn controller_state(&self) -> Result<ControllerState, client::Error> {
        self.call(|s| {
            if !s.provisioned {
                return Err(unavailable("svc is not ready yet", "GetClusterState"));
            }
            let alive = s
                .nodes
                .iter()
                .map(|n| (n.record.node_id, n.alive))
                .collect();
            let leader = s
                .nodes
                .iter()
                .find(|n| n.alive && n.record.has_role(Role::Worker))
                .map(|n| n.record.node_id);
            let processors = leader
                .map(|node_id| {
                    (0..s.config.num_partitions)
                        .map(|pid| Processor {
                            node_id,
                            partition_id: pid,
                            leader: true,
                            applied_lsn: Some(2),
                            archived_lsn: None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(ControllerState { alive, processors })
        })
    }

    async fn create_snapshot(
        &self,
        partition_id: u32,
        _trim_log: bool,
    ) -> Result<SnapshotTaken, client::Error> {
        self.call(|s| {
            if let Some(e) = s.snapshot_failures.get(&partition_id) {
                return Err(e.clone());
            }
            if partition_id >= s.config.num_partitions {
                return Err(internal(
                    "partition is not in the partition table",
                    "CreatePartitionSnapshot",
                ));
            }
            s.snapshots_taken += 1;
            Ok(SnapshotTaken {
                partition_id,
                snapshot_id: format!("snap_fake{}", s.snapshots_taken),
                log_id: partition_id,
                min_applied_lsn: 2,
            })
        })
    }

    fn endpoints(&self) -> String {
        ENDPOINT.into()
    }

    fn rpc_count(&self) -> usize {
        self.rpcs.load(Ordering::Relaxed)
    }
}

/// A snapshot failure as a node without a repository reports it.
pub fn repository_not_configured(partition_id: u32) -> client::Error {
    client::Error::RepositoryNotConfigured {
        endpoint: ENDPOINT.into(),
        partition_id,
        message: format!(
            "SnapshotCreationFailed(\"Snapshot repository is not configured for partition {partition_id}\")"
        ),
    }
}

pub const CLUSTER_CTRL: &str = CTRL;
