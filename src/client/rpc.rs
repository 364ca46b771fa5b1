//! The admin RPCs the provider uses, typed: each takes and returns domain types, and no wire type
//! leaves this module.
//!
//! Nodes and logs are read with `MetadataProxySvc.Get` rather than `NodeCtlSvc.GetMetadata`: the
//! proxy reads the metadata store itself, so a value is never a node's stale local copy (which
//! matters when polling for a change to take effect), and it needs no Arrow decoder as
//! `ClusterCtrlSvc.Query` would. Liveness comes from `ClusterCtrlSvc.GetClusterState`, which the
//! admin leader keeps.

use std::time::Duration;

use tonic::Code;

use super::error::Error;
use super::metadata;
use super::transport::{AdminClient, AfterTimeout, Route};
use super::wire::{self, methods};
use crate::domain::{
    ClusterConfig, ControllerState, Ident, LogProvider, LogsView, NodesConfiguration, Processor,
    ProvisionRequest, Provisioned, Replication, Role, StoredConfig,
};

/// A snapshot the server took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotTaken {
    pub partition_id: u32,
    pub snapshot_id: String,
    pub log_id: u32,
    pub min_applied_lsn: u64,
}

fn from_wire_replication(
    what: &str,
    r: Option<wire::ReplicationProperty>,
) -> Result<Option<Replication>, Error> {
    match r.map(|r| r.replication_property).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|e| Error::Decode {
            what: what.to_string(),
            reason: format!("replication \"{text}\": {e}"),
        }),
    }
}

fn to_wire_replication(r: &Option<Replication>) -> Option<wire::ReplicationProperty> {
    r.as_ref().map(|r| wire::ReplicationProperty {
        replication_property: r.to_string(),
    })
}

fn config_from_wire(c: wire::ClusterConfiguration) -> Result<ClusterConfig, Error> {
    let what = "the cluster configuration";
    let provider = c.bifrost_provider.unwrap_or_default();
    Ok(ClusterConfig {
        num_partitions: c.num_partitions,
        partition_replication: from_wire_replication(what, c.partition_replication)?,
        log_provider: LogProvider::reported(&provider.provider),
        log_replication: from_wire_replication(what, provider.replication_property)?,
        log_nodeset_size: provider.target_nodeset_size,
    })
}

fn config_to_wire(c: &ClusterConfig) -> wire::ClusterConfiguration {
    wire::ClusterConfiguration {
        num_partitions: c.num_partitions,
        partition_replication: to_wire_replication(&c.partition_replication),
        bifrost_provider: Some(wire::BifrostProvider {
            provider: c.log_provider.to_string(),
            replication_property: to_wire_replication(&c.log_replication),
            target_nodeset_size: c.log_nodeset_size,
        }),
    }
}

/// Whether a node reports a provisioned cluster: an unprovisioned node has never seen a nodes
/// configuration.
pub(super) fn is_provisioned(r: &wire::IdentResponse) -> bool {
    r.nodes_config_version > 0
        && r.metadata_server_status != wire::metadata_server_status::AWAITING_PROVISIONING
}

fn ident_from_wire(endpoint: String, r: wire::IdentResponse) -> Ident {
    let provisioned = is_provisioned(&r);
    Ident {
        endpoint,
        cluster_name: r.cluster_name,
        node_id: r.node_id.map(|n| n.id),
        roles: r
            .roles
            .iter()
            .filter_map(|r| Role::from_reported(r))
            .collect(),
        alive: r.status == wire::node_status::ALIVE,
        provisioned,
    }
}

fn provision_request(req: &ProvisionRequest, dry_run: bool) -> wire::ProvisionClusterRequest {
    wire::ProvisionClusterRequest {
        dry_run,
        num_partitions: req.num_partitions,
        partition_replication: to_wire_replication(&req.partition_replication),
        log_provider: req.log_provider.as_ref().map(ToString::to_string),
        log_replication: to_wire_replication(&req.log_replication),
        target_nodeset_size: req.log_nodeset_size,
    }
}

const ADMIN: Route = Route::Role(Role::Admin);

impl AdminClient {
    /// `GetIdent` on the first endpoint that answers.
    pub async fn ident(&self) -> Result<Ident, Error> {
        let (endpoint, r): (String, wire::IdentResponse) = self
            .call_routed(
                Route::Ident,
                methods::GET_IDENT,
                wire::Empty {},
                self.settings().request_timeout,
                AfterTimeout::Retry,
            )
            .await?;
        self.remember(&endpoint, &r);
        Ok(ident_from_wire(endpoint, r))
    }

    /// `GetIdent` on every endpoint (one attempt each), in the configured order.
    pub async fn idents(&self) -> Vec<(String, Result<Ident, Error>)> {
        let mut out = Vec::new();
        for e in &self.settings().endpoints {
            let endpoint = e.to_string();
            let ident = self
                .ident_at(&endpoint)
                .await
                .map(|r| ident_from_wire(endpoint.clone(), r));
            out.push((endpoint, ident));
        }
        out
    }

    /// `ProvisionCluster` on `endpoint` only (it provisions the node that receives it, so it is
    /// never sent to another); `ALREADY_EXISTS` means another party did it and is not an error.
    pub async fn provision_at(
        &self,
        endpoint: &str,
        req: &ProvisionRequest,
    ) -> Result<Provisioned, Error> {
        let result: Result<wire::ProvisionClusterResponse, Error> = self
            .call_only_at(
                endpoint,
                methods::PROVISION_CLUSTER,
                provision_request(req, false),
            )
            .await;
        match result {
            Ok(_) => Ok(Provisioned::Now),
            Err(e) if e.code() == Some(Code::AlreadyExists) => Ok(Provisioned::Already),
            Err(e) => Err(e),
        }
    }

    /// What `ProvisionCluster` on `endpoint` would set up (a dry run: nothing changes).
    pub async fn provision_dry_run(
        &self,
        endpoint: &str,
        req: &ProvisionRequest,
    ) -> Result<ClusterConfig, Error> {
        let r: wire::ProvisionClusterResponse = self
            .call_only_at(
                endpoint,
                methods::PROVISION_CLUSTER,
                provision_request(req, true),
            )
            .await?;
        let c = r.cluster_configuration.ok_or_else(|| Error::Decode {
            what: "the ProvisionCluster dry run".into(),
            reason: "it has no cluster_configuration".into(),
        })?;
        config_from_wire(c)
    }

    /// The fingerprint of the cluster `endpoint` belongs to (one attempt, that endpoint only),
    /// None when it is not provisioned.
    pub async fn fingerprint_at(&self, endpoint: &str) -> Result<Option<u64>, Error> {
        let r: wire::MetadataGetResponse = self
            .call_at(
                endpoint,
                methods::METADATA_GET,
                wire::MetadataGetRequest {
                    key: "nodes_config".into(),
                },
            )
            .await?;
        let Some(value) = r.value else {
            return Ok(None);
        };
        let nodes =
            metadata::nodes_configuration(&metadata::decode_value("nodes_config", &value.bytes)?);
        Ok(Some(nodes.cluster_fingerprint))
    }

    /// The configuration as the metadata store holds it, with the versions of the logs and the
    /// partition table it is read from.
    pub async fn stored_config(&self) -> Result<StoredConfig, Error> {
        let (logs_version, logs) = self.metadata_versioned("bifrost_config").await?;
        let (partition_table_version, table) = self.metadata_versioned("partition_table").await?;
        Ok(StoredConfig {
            config: metadata::stored_config(&logs, &table)?,
            logs_version,
            partition_table_version,
        })
    }

    /// `SetClusterConfiguration`. The server replaces the log provider's settings as a whole and
    /// keeps its partition replication when `config.partition_replication` is None.
    pub async fn set_cluster_config(&self, config: &ClusterConfig) -> Result<(), Error> {
        let _: (String, wire::Empty) = self
            .call_routed(
                ADMIN,
                methods::SET_CLUSTER_CONFIGURATION,
                wire::SetClusterConfigurationRequest {
                    cluster_configuration: Some(config_to_wire(config)),
                },
                self.settings().request_timeout,
                AfterTimeout::Retry,
            )
            .await?;
        Ok(())
    }

    /// The raw (storage-codec framed) value of a metadata key and its version, None when it does
    /// not exist.
    pub async fn metadata_bytes(&self, key: &str) -> Result<Option<(u32, Vec<u8>)>, Error> {
        let r: wire::MetadataGetResponse = self
            .call(
                methods::METADATA_GET,
                wire::MetadataGetRequest { key: key.into() },
            )
            .await
            .map_err(classify_metadata_error)?;
        Ok(r.value.map(|v| (v.version.map_or(0, |v| v.value), v.bytes)))
    }

    /// A metadata key from the metadata store, decoded to JSON, with its version; NotProvisioned
    /// when it is absent.
    async fn metadata_versioned(&self, key: &str) -> Result<(u32, serde_json::Value), Error> {
        match self.metadata_bytes(key).await? {
            Some((version, bytes)) => Ok((version, metadata::decode_value(key, &bytes)?)),
            None => Err(Error::NotProvisioned {
                endpoint: self.endpoint_list(),
            }),
        }
    }

    async fn metadata(&self, key: &str) -> Result<serde_json::Value, Error> {
        Ok(self.metadata_versioned(key).await?.1)
    }

    pub async fn nodes_configuration(&self) -> Result<NodesConfiguration, Error> {
        Ok(metadata::nodes_configuration(
            &self.metadata("nodes_config").await?,
        ))
    }

    /// The partition ids in the partition table.
    pub async fn partition_ids(&self) -> Result<Vec<u32>, Error> {
        Ok(metadata::partition_ids(
            &self.metadata("partition_table").await?,
        ))
    }

    pub async fn logs(&self) -> Result<LogsView, Error> {
        metadata::logs(&self.metadata("bifrost_config").await?)
    }

    /// Liveness and partition processors, from the cluster controller (`GetClusterState`).
    pub async fn controller_state(&self) -> Result<ControllerState, Error> {
        let (_, r): (String, wire::ClusterStateResponse) = self
            .call_routed(
                ADMIN,
                methods::GET_CLUSTER_STATE,
                wire::Empty {},
                self.settings().request_timeout,
                AfterTimeout::Retry,
            )
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
                    updated_at_ms: p.updated_at.and_then(|t| {
                        let ms = t
                            .seconds
                            .checked_mul(1000)?
                            .checked_add(i64::from(t.nanos / 1_000_000))?;
                        u64::try_from(ms).ok()
                    }),
                });
            }
        }
        out.processors.sort_by_key(|p| (p.partition_id, p.node_id));
        Ok(out)
    }

    /// One `CreatePartitionSnapshot`, bounded by `timeout` (an export and upload can take far
    /// longer than an ordinary request). It fails over on `UNAVAILABLE` (no node took it, or the
    /// connection to the one that did broke: that node's export, if it still runs, may leave a
    /// second snapshot, which is harmless), but never after a timeout: the node took the call
    /// and its export may still run, so another attempt would start a second one for nothing.
    pub async fn create_snapshot(
        &self,
        partition_id: u32,
        timeout: Duration,
    ) -> Result<SnapshotTaken, Error> {
        let request = wire::CreatePartitionSnapshotRequest {
            partition_id,
            min_target_lsn: None,
            trim_log: false,
        };
        let call = self.call_routed(
            ADMIN,
            methods::CREATE_PARTITION_SNAPSHOT,
            request,
            timeout,
            AfterTimeout::Stop,
        );
        // An export may take minutes: a stop gives it up, as its deadline would (it is not
        // repeated; the node may still finish it).
        let result: Result<(String, wire::CreatePartitionSnapshotResponse), Error> = tokio::select! {
            r = call => r,
            () = self.stop().requested() => Err(Error::Interrupted {
                method: methods::CREATE_PARTITION_SNAPSHOT,
            }),
        };
        match result {
            Ok((_, r)) => Ok(SnapshotTaken {
                partition_id,
                snapshot_id: r.snapshot_id,
                log_id: r.log_id,
                min_applied_lsn: r.min_applied_lsn,
            }),
            Err(e) => Err(classify_snapshot_error(partition_id, e)),
        }
    }
}

impl AdminClient {
    /// `TrimLog`: drops the log's records up to and including `trim_point`.
    pub async fn trim_log(&self, log_id: u32, trim_point: u64) -> Result<(), Error> {
        let _: (String, wire::Empty) = self
            .call_routed(
                ADMIN,
                methods::TRIM_LOG,
                wire::TrimLogRequest { log_id, trim_point },
                self.settings().request_timeout,
                AfterTimeout::Retry,
            )
            .await?;
        Ok(())
    }
}

/// Restate 1.6's metadata proxy reports a store that is not provisioned yet only as the text of
/// an `INTERNAL` status; this is the one place that reads it. (1.7 answers with no value. A
/// store it could not reach for now is `UNAVAILABLE` already: see the transport.)
fn classify_metadata_error(e: Error) -> Error {
    match e {
        Error::Status {
            endpoint,
            code: Code::Internal,
            message,
            method,
        } => {
            if message.contains("has not been provisioned yet") {
                Error::NotProvisioned { endpoint }
            } else {
                Error::Status {
                    endpoint,
                    method,
                    code: Code::Internal,
                    message,
                }
            }
        }
        other => other,
    }
}

/// The server reports a missing snapshot repository only as the text of an `INTERNAL` status;
/// this is the one place that reads it. (`INTERNAL` is not retried on another endpoint, so it
/// never arrives wrapped in `AllEndpointsFailed`.)
fn classify_snapshot_error(partition_id: u32, e: Error) -> Error {
    const NOT_CONFIGURED: &str = "repository is not configured";
    // The cluster controller's words when no alive node leads the partition (1.6, 1.7).
    const NO_LEADER: &str = "Can not find a suitable node to take snapshot";
    match e {
        Error::Status {
            endpoint, message, ..
        } if message.contains(NOT_CONFIGURED) => Error::RepositoryNotConfigured {
            endpoint,
            partition_id,
            message,
        },
        Error::Status {
            endpoint, message, ..
        } if message.contains(NO_LEADER) => Error::NoPartitionLeader {
            endpoint,
            partition_id,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: Code, message: &str) -> Error {
        Error::Status {
            endpoint: "http://n1:5122".into(),
            method: methods::CREATE_PARTITION_SNAPSHOT,
            code,
            message: message.into(),
        }
    }

    #[test]
    fn a_missing_repository_is_told_apart_from_other_failures() {
        let e = classify_snapshot_error(
            0,
            status(
                Code::Internal,
                "SnapshotCreationFailed(\"Snapshot repository is not configured for partition 0\")",
            ),
        );
        assert!(
            matches!(
                e,
                Error::RepositoryNotConfigured {
                    partition_id: 0,
                    ..
                }
            ),
            "{e:?}"
        );
        let other = status(Code::Internal, "A snapshot export is already in progress");
        assert_eq!(classify_snapshot_error(0, other.clone()), other);
    }

    #[test]
    fn a_partition_without_a_leader_is_told_apart() {
        // As Restate 1.6 and 1.7 say it (cluster_controller/service.rs).
        let e = classify_snapshot_error(
            1,
            status(
                Code::Internal,
                "Can not find a suitable node to take snapshot of partition 1",
            ),
        );
        assert_eq!(
            e,
            Error::NoPartitionLeader {
                endpoint: "http://n1:5122".into(),
                partition_id: 1
            }
        );
        assert!(e.to_string().contains("partition 1 has no leader"), "{e}");
    }

    #[test]
    fn a_metadata_store_not_provisioned_or_not_reachable_yet_is_told_apart() {
        let internal = |m: &str| Error::Status {
            endpoint: "http://n1:5122".into(),
            method: methods::METADATA_GET,
            code: Code::Internal,
            message: m.into(),
        };
        let e = classify_metadata_error(internal(
            "other error: [retryable] [http://n1:5122/] The service is currently unavailable: \
             Metadata store has not been provisioned yet",
        ));
        assert!(matches!(e, Error::NotProvisioned { .. }), "{e:?}");
        assert!(!classify_metadata_error(internal("decoding failed")).is_transient());
    }

    #[test]
    fn configurations_round_trip_through_the_wire() {
        let c = ClusterConfig {
            num_partitions: 4,
            partition_replication: Some("2".parse().unwrap()),
            log_provider: LogProvider::Replicated,
            log_replication: Some("{zone: 2, node: 3}".parse().unwrap()),
            log_nodeset_size: 0,
        };
        let w = config_to_wire(&c);
        assert_eq!(
            w.bifrost_provider.as_ref().unwrap().replication_property,
            Some(wire::ReplicationProperty {
                replication_property: "{node: 3, zone: 2}".into()
            })
        );
        assert_eq!(config_from_wire(w).unwrap(), c);
    }
}
