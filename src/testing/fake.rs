//! An in-process fake of the admin API: a cluster in memory that behaves like Restate 1.7 where
//! the provider depends on it (provisioning once, `SetClusterConfiguration` replacing the log
//! provider's settings and keeping an unset partition replication, refusing what the server
//! refuses, logs that move to a new configuration a few reads later and only when the log servers
//! can hold it, nodes that join late, snapshots that fail for chosen partitions), plus other
//! endpoints a test can list: nodes still waiting to be provisioned, nodes of another cluster,
//! nodes that are down.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tonic::Code;

use crate::client::node_edit::EditError;
use crate::client::{self, SnapshotTaken, Stop};
use crate::domain::error::Holder;
use crate::domain::lifecycle::{MetadataGroup, NodeChange};
use crate::domain::{
    rules, ClusterConfig, ControllerState, Ident, Location, Log, LogProvider, LogsView, NodeRecord,
    NodeView, NodesConfiguration, Processor, ProvisionRequest, Provisioned, Replication, Role,
    StoredConfig,
};
use crate::ops::AdminApi;

pub const ENDPOINT: &str = "http://fake-n1:5122";

/// An endpoint besides the cluster's own ([`ENDPOINT`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OtherEndpoint {
    /// A node waiting to be provisioned (or to join).
    Unprovisioned { cluster_name: String },
    /// A node that runs a cluster of its own.
    OwnCluster {
        cluster_name: String,
        fingerprint: u64,
    },
    /// Nothing answers.
    Down,
}

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
    pub logs: Vec<Log>,
    /// Reads of the logs before they move to a changed configuration.
    pub logs_lag: usize,
    /// Nodes that join after this many reads of the nodes configuration.
    pub joining: Vec<(usize, NodeView)>,
    /// Partitions whose snapshot fails, with the error.
    pub snapshot_failures: BTreeMap<u32, client::Error>,
    /// How long an export and upload takes.
    pub snapshot_delay: Duration,
    /// Exports started, per partition (a call that timed out started one too).
    pub exports: BTreeMap<u32, usize>,
    /// The archived LSN each partition's leader reports (set by a snapshot).
    pub archived: BTreeMap<u32, u64>,
    /// Partitions whose leadership moved to another node (a failover), with what that node
    /// reports archived: its own snapshot. The former leader no longer runs the partition.
    pub moved_leaders: BTreeMap<u32, (u32, Option<u64>)>,
    /// Nodes the cluster controller has not heard from yet (left out of its liveness view, as
    /// for a few seconds after it starts).
    pub unheard: BTreeSet<u32>,
    /// What every partition's leader has applied (and a snapshot covers).
    pub applied_lsn: u64,
    /// Partitions with a follower replica, and what it has applied.
    pub followers: BTreeMap<u32, Option<u64>>,
    /// Logs trimmed, with the trim point, in call order.
    pub trims: Vec<(u32, u64)>,
    /// The other endpoints, tried after (or, with `others_first`, before) the cluster's own.
    pub others: Vec<(String, OtherEndpoint)>,
    pub others_first: bool,
    /// After this many more reads of the stored configuration, someone else writes this one (as
    /// `restatectl config set` during an apply would).
    pub interference: Option<(usize, ClusterConfig)>,
    /// Versions of the logs and the partition table in the metadata store.
    pub versions: (u32, u32),
    /// Every read of the stored configuration finds the logs reconfigured (their version moved,
    /// the configuration the same), as while Restate moves logs to joining nodes.
    pub logs_churn: bool,
    /// Nodes that left the metadata servers' group (every other node with the role is a member).
    pub metadata_left: std::collections::BTreeSet<u32>,
    /// Edits of the nodes configuration that find someone else wrote it first.
    pub node_conflicts: usize,
    /// Logs whose tail keeps a read-only node until it is sealed (`reconfigure_log`).
    pub stuck_tails: bool,
    /// Log tails sealed, in call order.
    pub reconfigured: Vec<(u32, u32)>,
    /// Nodes removed from the nodes configuration (their ids are never used again).
    pub tombstones: Vec<u32>,
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
            snapshot_delay: Duration::ZERO,
            exports: BTreeMap::new(),
            archived: BTreeMap::new(),
            moved_leaders: BTreeMap::new(),
            unheard: BTreeSet::new(),
            applied_lsn: 2,
            followers: BTreeMap::new(),
            trims: Vec::new(),
            others: Vec::new(),
            others_first: false,
            interference: None,
            versions: (1, 1),
            logs_churn: false,
            metadata_left: Default::default(),
            node_conflicts: 0,
            stuck_tails: false,
            reconfigured: Vec::new(),
            tombstones: Vec::new(),
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

    /// Three nodes n1, n2, n3 with every role; partitions and logs at replication 2, the logs on
    /// all three (the cluster `lifecycle_of_a_node` starts from).
    pub fn three_nodes(cluster_name: &str) -> FakeState {
        let mut state = FakeState::provisioned(cluster_name, 2);
        state.nodes.push(node(2, "n2", &Role::ALL));
        state.nodes.push(node(3, "n3", &Role::ALL));
        state.change_config(|c| {
            c.partition_replication = Some(Replication::nodes(2));
            c.log_replication = Some(Replication::nodes(2));
        });
        state.settle_logs();
        state
    }

    /// What provisioning with `req` sets up, as a dry run reports it.
    fn resolve(&self, req: &ProvisionRequest) -> ClusterConfig {
        let provider = req.log_provider.clone().unwrap_or(LogProvider::Replicated);
        ClusterConfig {
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
        }
    }

    fn provision(&mut self, req: &ProvisionRequest) {
        self.provisioned = true;
        self.fingerprint = 0x5eed_0000 + u64::from(req.num_partitions.unwrap_or(0));
        self.config = self.resolve(req);
        self.pending_reads = self.logs_lag;
    }

    /// Changes the configuration as `restatectl config set` does: a new version, and the logs
    /// follow after `logs_lag` reads.
    pub fn change_config(&mut self, change: impl FnOnce(&mut ClusterConfig)) {
        change(&mut self.config);
        self.versions = (self.versions.0 + 1, self.versions.1 + 1);
        self.pending_reads = self.logs_lag;
    }

    /// Moves the logs to the configuration now (as the reads that follow a change would).
    pub fn settle_logs(&mut self) {
        self.logs = self.moved_logs();
        self.pending_reads = 0;
    }

    /// Every endpoint, in the order the provider's settings list them.
    pub fn endpoint_order(&self) -> Vec<String> {
        let others = self.others.iter().map(|(e, _)| e.clone());
        let own = std::iter::once(ENDPOINT.to_string());
        if self.others_first {
            others.chain(own).collect()
        } else {
            own.chain(others).collect()
        }
    }

    fn ident_of(&self, endpoint: &str) -> Result<Ident, client::Error> {
        let other = self
            .others
            .iter()
            .find(|(e, _)| e == endpoint)
            .map(|(_, o)| o);
        let (cluster_name, provisioned) = match other {
            None => (self.cluster_name.clone(), self.provisioned),
            Some(OtherEndpoint::Unprovisioned { cluster_name }) => (cluster_name.clone(), false),
            Some(OtherEndpoint::OwnCluster { cluster_name, .. }) => (cluster_name.clone(), true),
            Some(OtherEndpoint::Down) => {
                return Err(unavailable_at(endpoint, "connection refused", "GetIdent"))
            }
        };
        Ok(Ident {
            endpoint: endpoint.to_string(),
            cluster_name,
            node_id: provisioned.then_some(1),
            roles: Role::ALL.to_vec(),
            alive: provisioned,
            provisioned,
        })
    }

    /// Every log as it is once the configuration took effect: a log whose tail differs from
    /// the one wanted is extended with a new segment (the older ones stay until trimmed).
    fn moved_logs(&self) -> Vec<Log> {
        let stuck = |old: &Log, new: &Log| {
            self.stuck_tails
                && old.provider == new.provider
                && new.nodeset.iter().all(|n| old.nodeset.contains(n))
        };
        self.tails()
            .into_iter()
            .map(
                |new| match self.logs.iter().find(|l| l.log_id == new.log_id) {
                    None => new,
                    Some(old)
                        if old.nodeset == new.nodeset
                            && old.provider == new.provider
                            && old.replication == new.replication =>
                    {
                        old.clone()
                    }
                    Some(old) if stuck(old, &new) => old.clone(),
                    Some(old) => self.extended(old, new),
                },
            )
            .collect()
    }

    /// `old` with `new`'s tail appended as its next segment.
    fn extended(&self, old: &Log, new: Log) -> Log {
        let mut out = old.clone();
        let tail = new.segments.into_iter().next().map(|mut s| {
            s.index = old.tail_index() + 1;
            s.base_lsn = self.applied_lsn + 1;
            s
        });
        out.segments.extend(tail);
        out.provider = new.provider;
        out.replication = new.replication;
        out.nodeset = new.nodeset;
        out
    }

    /// What every log's tail becomes once the configuration took effect.
    fn tails(&self) -> Vec<Log> {
        let nodeset: Vec<u32> = self
            .nodes
            .iter()
            .filter(|n| {
                n.record.has_role(Role::LogServer)
                    && n.record.log_server_storage_state == "read-write"
            })
            .map(|n| n.record.node_id)
            .collect();
        (0..self.config.num_partitions)
            .map(|id| {
                Log::with_tail(
                    id,
                    self.config.log_provider.clone(),
                    match self.config.log_provider {
                        LogProvider::Replicated => self.config.log_replication.clone(),
                        _ => None,
                    },
                    nodeset.clone(),
                )
            })
            .collect()
    }

    /// Whether the node is a worker partitions are placed on.
    fn runs_partitions(&self, n: &NodeView) -> bool {
        n.record.has_role(Role::Worker) && n.record.worker_state == "active"
    }

    /// The metadata servers' group.
    fn metadata_group(&self) -> MetadataGroup {
        let members: BTreeSet<u32> = self
            .nodes
            .iter()
            .filter(|n| n.record.has_role(Role::MetadataServer))
            .map(|n| n.record.node_id)
            .filter(|id| !self.metadata_left.contains(id))
            .collect();
        let answering: BTreeSet<u32> = self
            .nodes
            .iter()
            .filter(|n| n.alive && members.contains(&n.record.node_id))
            .map(|n| n.record.node_id)
            .collect();
        MetadataGroup {
            leader: answering.iter().next().copied(),
            members,
            answering,
        }
    }

    /// Every partition's replica set: the first active workers, as many as the replication asks.
    fn replica_sets(&self) -> Vec<(u32, BTreeSet<u32>)> {
        let copies = self
            .config
            .partition_replication
            .as_ref()
            .map_or(1, |r| usize::from(r.copies()));
        let set: BTreeSet<u32> = self
            .nodes
            .iter()
            .filter(|n| n.alive && self.runs_partitions(n))
            .map(|n| n.record.node_id)
            .take(copies)
            .collect();
        (0..self.config.num_partitions)
            .map(|p| (p, set.clone()))
            .collect()
    }

    /// Applies a change of one node, as the nodes configuration's writers do.
    fn change_node(&mut self, node_id: u32, change: &NodeChange) -> Result<(), EditError> {
        let i = self
            .nodes
            .iter()
            .position(|n| n.record.node_id == node_id)
            .ok_or(EditError::NoSuchNode(node_id))?;
        let record = &mut self.nodes[i].record;
        let (field, slot, from, to) = match change {
            NodeChange::Remove => {
                self.nodes.remove(i);
                self.tombstones.push(node_id);
                return Ok(());
            }
            NodeChange::WorkerState { from, to } => {
                ("worker_state", &mut record.worker_state, from, to.as_str())
            }
            NodeChange::StorageState { from, to } => (
                "storage_state",
                &mut record.log_server_storage_state,
                from,
                to.as_str(),
            ),
        };
        if slot != from {
            return Err(EditError::Changed {
                node: node_id,
                field,
                expected: from.clone(),
                found: slot.clone(),
            });
        }
        *slot = to.to_string();
        Ok(())
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
    unavailable_at(ENDPOINT, message, method)
}

fn unavailable_at(endpoint: &str, message: &str, method: &'static str) -> client::Error {
    client::Error::Status {
        endpoint: endpoint.into(),
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
    /// Request it to play Terraform's StopProvider.
    stop: Stop,
}

impl FakeCluster {
    pub fn new(state: FakeState) -> FakeCluster {
        FakeCluster {
            state: Mutex::new(state),
            rpcs: AtomicUsize::new(0),
            stop: Stop::default(),
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
            let order = s.endpoint_order();
            let mut last = None;
            for endpoint in &order {
                match s.ident_of(endpoint) {
                    Ok(ident) => return Ok(ident),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| unavailable("no endpoint", "GetIdent")))
        })
    }

    async fn idents(&self) -> Vec<(String, Result<Ident, client::Error>)> {
        self.call(|s| {
            s.endpoint_order()
                .into_iter()
                .map(|e| {
                    let ident = s.ident_of(&e);
                    (e, ident)
                })
                .collect()
        })
    }

    async fn provision_at(
        &self,
        endpoint: &str,
        req: &ProvisionRequest,
    ) -> Result<Provisioned, client::Error> {
        self.call(|s| {
            let other = s.others.iter_mut().find(|(e, _)| e == endpoint);
            match other {
                None if s.provisioned => Ok(Provisioned::Already),
                None => {
                    s.provision(req);
                    Ok(Provisioned::Now)
                }
                // The node provisions a cluster of its own: what the provider must never cause.
                Some((_, o @ OtherEndpoint::Unprovisioned { .. })) => {
                    let cluster_name = match o {
                        OtherEndpoint::Unprovisioned { cluster_name } => cluster_name.clone(),
                        _ => String::new(),
                    };
                    *o = OtherEndpoint::OwnCluster {
                        cluster_name,
                        fingerprint: 0xbad,
                    };
                    Ok(Provisioned::Now)
                }
                Some((_, OtherEndpoint::OwnCluster { .. })) => Ok(Provisioned::Already),
                Some((_, OtherEndpoint::Down)) => Err(unavailable_at(
                    endpoint,
                    "connection refused",
                    "ProvisionCluster",
                )),
            }
        })
    }

    async fn provision_dry_run(
        &self,
        endpoint: &str,
        req: &ProvisionRequest,
    ) -> Result<ClusterConfig, client::Error> {
        self.call(|s| match s.ident_of(endpoint) {
            Ok(_) => Ok(s.resolve(req)),
            Err(e) => Err(e),
        })
    }

    async fn stored_config(&self) -> Result<StoredConfig, client::Error> {
        self.call(|s| {
            if !s.provisioned {
                return Err(client::Error::NotProvisioned {
                    endpoint: ENDPOINT.into(),
                });
            }
            match s.interference.take() {
                Some((0, config)) => s.change_config(|c| *c = config),
                Some((n, config)) => s.interference = Some((n - 1, config)),
                None => {}
            }
            if s.logs_churn {
                s.versions.0 += 1;
            }
            Ok(StoredConfig {
                config: s.config.clone(),
                logs_version: s.versions.0,
                partition_table_version: s.versions.1,
            })
        })
    }

    async fn fingerprint_at(&self, endpoint: &str) -> Result<Option<u64>, client::Error> {
        self.call(
            |s| match s.others.iter().find(|(e, _)| e == endpoint).map(|(_, o)| o) {
                None => Ok(s.provisioned.then_some(s.fingerprint)),
                Some(OtherEndpoint::Unprovisioned { .. }) => Ok(None),
                Some(OtherEndpoint::OwnCluster { fingerprint, .. }) => Ok(Some(*fingerprint)),
                Some(OtherEndpoint::Down) => {
                    Err(unavailable_at(endpoint, "connection refused", "Get"))
                }
            },
        )
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
            // An unset partition replication keeps the cluster's (Restate 1.3 and later).
            let next = ClusterConfig {
                partition_replication: config
                    .partition_replication
                    .clone()
                    .or_else(|| s.config.partition_replication.clone()),
                ..config.clone()
            };
            if next != s.config {
                if next.log_provider != s.config.log_provider
                    || next.log_replication != s.config.log_replication
                    || next.log_nodeset_size != s.config.log_nodeset_size
                {
                    s.versions.0 += 1;
                }
                if next.partition_replication != s.config.partition_replication {
                    s.versions.1 += 1;
                }
                s.config = next;
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
                s.logs = s.moved_logs();
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
                .filter(|n| !s.unheard.contains(&n.record.node_id))
                .map(|n| (n.record.node_id, n.alive))
                .collect();
            let leader = s
                .nodes
                .iter()
                .find(|n| n.alive && s.runs_partitions(n))
                .map(|n| n.record.node_id);
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            let mut processors = Vec::new();
            if let Some(node_id) = leader {
                for pid in 0..s.config.num_partitions {
                    let processor = |node_id, leader, applied_lsn| Processor {
                        node_id,
                        partition_id: pid,
                        leader,
                        applied_lsn,
                        archived_lsn: s.archived.get(&pid).copied(),
                        updated_at_ms: Some(now_ms),
                    };
                    if let Some(&(moved_to, archived_lsn)) = s.moved_leaders.get(&pid) {
                        processors.push(Processor {
                            archived_lsn,
                            ..processor(moved_to, true, Some(s.applied_lsn))
                        });
                        continue;
                    }
                    processors.push(processor(node_id, true, Some(s.applied_lsn)));
                    if let Some(applied) = s.followers.get(&pid) {
                        processors.push(processor(node_id + 100, false, *applied));
                    }
                }
            }
            Ok(ControllerState { alive, processors })
        })
    }

    async fn create_snapshot(
        &self,
        partition_id: u32,
        timeout: Duration,
    ) -> Result<SnapshotTaken, client::Error> {
        let started = self.call(|s| {
            if let Some(e) = s.snapshot_failures.get(&partition_id) {
                return Err(e.clone());
            }
            if partition_id >= s.config.num_partitions {
                return Err(internal(
                    "partition is not in the partition table",
                    "CreatePartitionSnapshot",
                ));
            }
            *s.exports.entry(partition_id).or_default() += 1;
            Ok(s.snapshot_delay)
        })?;
        if started > timeout {
            // The export goes on; the caller only stops waiting for it.
            tokio::time::sleep(timeout).await;
            return Err(client::Error::Timeout {
                endpoint: ENDPOINT.into(),
                method: "/restate.cluster_ctrl.ClusterCtrlSvc/CreatePartitionSnapshot",
                after: timeout,
            });
        }
        // A stop gives the export up, as the real client does.
        tokio::select! {
            () = tokio::time::sleep(started) => {}
            () = self.stop.requested() => {
                return Err(client::Error::Interrupted {
                    method: "/restate.cluster_ctrl.ClusterCtrlSvc/CreatePartitionSnapshot",
                });
            }
        }
        Ok(self.with(|s| {
            s.snapshots_taken += 1;
            s.archived.insert(partition_id, s.applied_lsn);
            SnapshotTaken {
                partition_id,
                snapshot_id: format!("snap_fake{}", s.snapshots_taken),
                log_id: partition_id,
                min_applied_lsn: s.applied_lsn,
            }
        }))
    }

    async fn trim_log(&self, log_id: u32, trim_point: u64) -> Result<(), client::Error> {
        self.call(|s| {
            if !s.provisioned {
                return Err(unavailable("svc is not ready yet", "TrimLog"));
            }
            s.trims.push((log_id, trim_point));
            // Segments wholly below the trim point leave the chain (never the tail).
            if let Some(log) = s.logs.iter_mut().find(|l| l.log_id == log_id) {
                let keep_from = log
                    .segments
                    .iter()
                    .rposition(|seg| seg.base_lsn <= trim_point + 1)
                    .unwrap_or(0);
                log.segments.drain(..keep_from);
            }
            Ok(())
        })
    }

    async fn change_node(&self, node_id: u32, change: &NodeChange) -> Result<(), client::Error> {
        self.call(|s| {
            if s.node_conflicts > 0 {
                s.node_conflicts -= 1;
                return Err(client::Error::Conflict {
                    what: "nodes_config".into(),
                    detail: "the version moved".into(),
                });
            }
            Ok(s.change_node(node_id, change)?)
        })
    }

    async fn metadata_group(&self) -> Result<MetadataGroup, client::Error> {
        self.call(|s| Ok(s.metadata_group()))
    }

    async fn remove_metadata_member(
        &self,
        node_id: u32,
        _timeout: Duration,
    ) -> Result<(), client::Error> {
        self.call(|s| {
            let group = s.metadata_group();
            if group.members.len() == 1 && group.members.contains(&node_id) {
                return Err(internal(
                    "cannot remove the only member of the metadata cluster",
                    "RemoveNode",
                ));
            }
            s.metadata_left.insert(node_id);
            Ok(())
        })
    }

    async fn add_metadata_member(&self, node_id: u32) -> Result<(), client::Error> {
        self.call(|s| {
            s.metadata_left.remove(&node_id);
            Ok(())
        })
    }

    async fn replica_sets(&self) -> Result<Vec<(u32, BTreeSet<u32>)>, client::Error> {
        self.call(|s| Ok(s.replica_sets()))
    }

    async fn reconfigure_log(
        &self,
        log_id: u32,
        tail_index: u32,
        _replication: &Replication,
    ) -> Result<(), client::Error> {
        self.call(|s| {
            s.reconfigured.push((log_id, tail_index));
            let Some(new) = s.tails().into_iter().find(|l| l.log_id == log_id) else {
                return Err(internal("unknown log", "SealAndExtendChain"));
            };
            if let Some(i) = s.logs.iter().position(|l| l.log_id == log_id) {
                if s.logs[i].tail_index() == tail_index {
                    s.logs[i] = s.extended(&s.logs[i], new);
                }
            }
            Ok(())
        })
    }

    fn endpoints(&self) -> Vec<String> {
        self.with(|s| s.endpoint_order())
    }

    fn rpc_count(&self) -> usize {
        self.rpcs.load(Ordering::Relaxed)
    }

    fn stop(&self) -> Stop {
        self.stop.clone()
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
