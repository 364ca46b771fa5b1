//! Cluster-level operations built on the raw RPCs, in plain Rust types (no gRPC types leave here).
//!
//! Nodes and logs are read with `MetadataProxySvc.Get` rather than `NodeCtlSvc.GetMetadata`: the proxy
//! reads the metadata store itself, so a value is never a node's stale local copy (which matters when
//! polling for a change to take effect), and it needs no Arrow decoder as `ClusterCtrlSvc.Query` would.
//! Liveness comes from `ClusterCtrlSvc.GetClusterState`, which the admin leader keeps.

use std::collections::HashMap;

use tonic::Code;

use super::connection::AdminClient;
use super::error::Error;
use super::metadata::{decode_value, partition_ids, LogsView, NodeRecord, NodesConfiguration};
use super::wire::{self, methods};

/// How long to wait for the cluster controller to learn about every node.
const LIVENESS_SETTLE: std::time::Duration = std::time::Duration::from_secs(15);

/// What a node says about itself (`GetIdent`).
#[derive(Clone, Debug)]
pub struct Ident {
    pub endpoint: String,
    pub cluster_name: String,
    pub node_id: Option<u32>,
    pub roles: Vec<String>,
    pub alive: bool,
    /// False while the node waits for the cluster to be provisioned.
    pub provisioned: bool,
}

/// The cluster-wide configuration (`GetClusterConfiguration`), replication in the server's spelling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    pub num_partitions: u32,
    pub partition_replication: Option<String>,
    pub log_provider: String,
    pub log_replication: Option<String>,
    pub log_nodeset_size: u32,
}

/// Values for `ProvisionCluster`; `None` falls back to the node's own config.
#[derive(Clone, Debug, Default)]
pub struct ProvisionRequest {
    pub num_partitions: Option<u32>,
    pub partition_replication: Option<String>,
    pub log_provider: Option<String>,
    pub log_replication: Option<String>,
    pub log_nodeset_size: Option<u32>,
}

/// A node from the nodes configuration, with liveness from the cluster state.
#[derive(Clone, Debug)]
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
}

#[derive(Clone, Debug)]
pub struct ClusterView {
    pub cluster_name: String,
    pub cluster_fingerprint: u64,
    pub nodes: Vec<NodeView>,
    /// Every partition processor on an alive node, ordered by partition then node.
    pub processors: Vec<Processor>,
}

/// The cluster controller's state: liveness per node id, and the processors of alive nodes.
#[derive(Clone, Debug, Default)]
pub struct ControllerState {
    pub alive: HashMap<u32, bool>,
    pub processors: Vec<Processor>,
}

fn replication(r: Option<wire::ReplicationProperty>) -> Option<String> {
    r.map(|r| r.replication_property).filter(|s| !s.is_empty())
}

fn to_wire_replication(r: &Option<String>) -> Option<wire::ReplicationProperty> {
    r.as_ref().map(|s| wire::ReplicationProperty {
        replication_property: s.clone(),
    })
}

impl ClusterConfig {
    fn from_wire(c: wire::ClusterConfiguration) -> Self {
        let provider = c.bifrost_provider.unwrap_or_default();
        ClusterConfig {
            num_partitions: c.num_partitions,
            partition_replication: replication(c.partition_replication),
            log_provider: provider.provider,
            log_replication: replication(provider.replication_property),
            log_nodeset_size: provider.target_nodeset_size,
        }
    }

    fn to_wire(&self) -> wire::ClusterConfiguration {
        wire::ClusterConfiguration {
            num_partitions: self.num_partitions,
            partition_replication: to_wire_replication(&self.partition_replication),
            bifrost_provider: Some(wire::BifrostProvider {
                provider: self.log_provider.clone(),
                replication_property: to_wire_replication(&self.log_replication),
                target_nodeset_size: self.log_nodeset_size,
            }),
        }
    }
}

/// Outcome of [`AdminClient::provision`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provisioned {
    /// This call provisioned the cluster.
    Now,
    /// Somebody else had provisioned it (`ALREADY_EXISTS`).
    Already,
}

impl AdminClient {
    /// `GetIdent` on the first endpoint that answers.
    pub async fn ident(&self) -> Result<Ident, Error> {
        let (endpoint, r): (String, wire::IdentResponse) = self
            .call_on(
                &self.settings().endpoints.clone(),
                methods::GET_IDENT,
                wire::Empty {},
            )
            .await?;
        Ok(Ident {
            endpoint,
            cluster_name: r.cluster_name,
            node_id: r.node_id.map(|n| n.id),
            roles: r.roles,
            alive: r.status == wire::node_status::ALIVE,
            // An unprovisioned node has never seen a nodes configuration.
            provisioned: r.nodes_config_version > 0
                && r.metadata_server_status != wire::metadata_server_status::AWAITING_PROVISIONING,
        })
    }

    /// `ProvisionCluster`; `ALREADY_EXISTS` means another party did it and is not an error.
    pub async fn provision(&self, req: &ProvisionRequest) -> Result<Provisioned, Error> {
        let request = wire::ProvisionClusterRequest {
            dry_run: false,
            num_partitions: req.num_partitions,
            partition_replication: to_wire_replication(&req.partition_replication),
            log_provider: req.log_provider.clone(),
            log_replication: to_wire_replication(&req.log_replication),
            target_nodeset_size: req.log_nodeset_size,
        };
        match self
            .call::<_, wire::ProvisionClusterResponse>(methods::PROVISION_CLUSTER, request)
            .await
        {
            Ok(_) => Ok(Provisioned::Now),
            Err(e) if e.code() == Some(Code::AlreadyExists) => Ok(Provisioned::Already),
            Err(e) => Err(e),
        }
    }

    pub async fn cluster_config(&self) -> Result<ClusterConfig, Error> {
        let r: wire::ClusterConfigurationEnvelope = self
            .call(methods::GET_CLUSTER_CONFIGURATION, wire::Empty {})
            .await?;
        let c = r.cluster_configuration.ok_or_else(|| Error::Decode {
            what: "GetClusterConfiguration response".into(),
            reason: "it has no cluster_configuration".into(),
        })?;
        Ok(ClusterConfig::from_wire(c))
    }

    /// `SetClusterConfiguration` with the full object (the server replaces, it does not merge).
    pub async fn set_cluster_config(&self, config: &ClusterConfig) -> Result<(), Error> {
        let _: wire::Empty = self
            .call(
                methods::SET_CLUSTER_CONFIGURATION,
                wire::ClusterConfigurationEnvelope {
                    cluster_configuration: Some(config.to_wire()),
                },
            )
            .await?;
        Ok(())
    }

    /// The raw (storage-codec framed) value of a metadata key, None when it does not exist.
    pub async fn metadata_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let r: wire::MetadataGetResponse = self
            .call(
                methods::METADATA_GET,
                wire::MetadataGetRequest { key: key.into() },
            )
            .await?;
        Ok(r.value.map(|v| v.bytes))
    }

    /// Reads a metadata key from the metadata store and decodes it to JSON.
    async fn metadata(&self, key: &str) -> Result<Option<serde_json::Value>, Error> {
        let bytes = self.metadata_bytes(key).await?;
        bytes.map(|b| decode_value(key, &b)).transpose()
    }

    pub async fn nodes_configuration(&self) -> Result<NodesConfiguration, Error> {
        let v = self
            .metadata("nodes_config")
            .await?
            .ok_or_else(|| Error::NotProvisioned {
                endpoint: self.settings().endpoints.join(", "),
            })?;
        Ok(NodesConfiguration::from_value(&v))
    }

    /// The partition ids in the partition table.
    pub async fn partition_ids(&self) -> Result<Vec<u32>, Error> {
        let v = self
            .metadata("partition_table")
            .await?
            .ok_or_else(|| Error::NotProvisioned {
                endpoint: self.settings().endpoints.join(", "),
            })?;
        Ok(partition_ids(&v))
    }

    pub async fn logs(&self) -> Result<LogsView, Error> {
        let v = self
            .metadata("bifrost_config")
            .await?
            .ok_or_else(|| Error::NotProvisioned {
                endpoint: self.settings().endpoints.join(", "),
            })?;
        LogsView::from_value(&v)
    }

    /// Liveness and partition processors, from the cluster controller (`GetClusterState`).
    pub async fn controller_state(&self) -> Result<ControllerState, Error> {
        let r: wire::ClusterStateResponse = self
            .call(methods::GET_CLUSTER_STATE, wire::Empty {})
            .await?;
        let mut out = ControllerState::default();
        for (id, state) in r.cluster_state.map(|s| s.nodes).unwrap_or_default() {
            let alive = match state.state {
                Some(wire::node_state::State::Alive(a)) => a,
                _ => {
                    out.alive.insert(id, false);
                    continue;
                }
            };
            out.alive.insert(id, true);
            for (pid, p) in alive.partitions {
                out.processors.push(Processor {
                    node_id: id,
                    partition_id: pid,
                    leader: p.effective_mode == wire::run_mode::LEADER,
                    applied_lsn: p.last_applied_log_lsn.map(|l| l.value),
                    archived_lsn: p.last_archived_log_lsn.map(|l| l.value),
                });
            }
        }
        out.processors.sort_by_key(|p| (p.partition_id, p.node_id));
        Ok(out)
    }

    /// Nodes with their liveness.
    pub async fn cluster_view(&self) -> Result<ClusterView, Error> {
        let nc = self.nodes_configuration().await?;
        // The controller's view is empty for a few seconds after it starts (until the first
        // heartbeats); wait until it covers every node so a live node is not counted as dead.
        let started = std::time::Instant::now();
        let state = loop {
            let state = self.controller_state().await?;
            let covered = nc
                .nodes
                .iter()
                .all(|n| state.alive.contains_key(&n.node_id));
            if covered || started.elapsed() > LIVENESS_SETTLE {
                break state;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        Ok(ClusterView {
            cluster_name: nc.cluster_name,
            cluster_fingerprint: nc.cluster_fingerprint,
            nodes: nc
                .nodes
                .into_iter()
                .map(|record| NodeView {
                    alive: state.alive.get(&record.node_id).copied().unwrap_or(false),
                    record,
                })
                .collect(),
            processors: state.processors,
        })
    }
}
