//! Orchestration: what the provider does with a cluster (provision, apply a configuration, wait
//! for the logs, snapshot partitions, read a shared view of the nodes), written against
//! [`AdminApi`], the admin calls it needs, so it runs against the real client or an in-process
//! fake alike.

pub mod cluster_config;
pub mod lifecycle;
pub mod nodes;
pub mod snapshots;
pub mod view;

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;

use crate::client::{self, AdminClient, SnapshotTaken, Stop};
use crate::domain::lifecycle::{MetadataGroup, NodeChange};
use crate::domain::rules::PendingLog;
use crate::domain::{
    self, ClusterConfig, ControllerState, Ident, LogsView, NodesConfiguration, ProvisionRequest,
    Provisioned, Replication, StoredConfig,
};

/// The admin calls orchestration needs, in domain types.
#[async_trait]
pub trait AdminApi: Send + Sync {
    /// What the first node that answers says about itself.
    async fn ident(&self) -> Result<Ident, client::Error>;
    /// What every endpoint says about itself, one attempt each, in the configured order.
    async fn idents(&self) -> Vec<(String, Result<Ident, client::Error>)>;
    /// Provisions the node at `endpoint` (and only it).
    async fn provision_at(
        &self,
        endpoint: &str,
        req: &ProvisionRequest,
    ) -> Result<Provisioned, client::Error>;
    /// What provisioning at `endpoint` would set up; changes nothing.
    async fn provision_dry_run(
        &self,
        endpoint: &str,
        req: &ProvisionRequest,
    ) -> Result<ClusterConfig, client::Error>;
    /// The fingerprint of the cluster `endpoint` belongs to, None when it is not provisioned.
    async fn fingerprint_at(&self, endpoint: &str) -> Result<Option<u64>, client::Error>;
    /// The configuration in the metadata store, with the versions it was read at.
    async fn stored_config(&self) -> Result<StoredConfig, client::Error>;
    /// Writes the configuration; `partition_replication: None` keeps the cluster's.
    async fn set_cluster_config(&self, config: &ClusterConfig) -> Result<(), client::Error>;
    async fn nodes_configuration(&self) -> Result<NodesConfiguration, client::Error>;
    async fn partition_ids(&self) -> Result<Vec<u32>, client::Error>;
    async fn logs(&self) -> Result<LogsView, client::Error>;
    async fn controller_state(&self) -> Result<ControllerState, client::Error>;
    /// Snapshots one partition, bounded by `timeout`; not started again after a timeout (see
    /// `AdminClient::create_snapshot`).
    async fn create_snapshot(
        &self,
        partition_id: u32,
        timeout: Duration,
    ) -> Result<SnapshotTaken, client::Error>;
    /// Trims a log up to and including `trim_point`.
    async fn trim_log(&self, log_id: u32, trim_point: u64) -> Result<(), client::Error>;
    /// Changes one node in the nodes configuration, unless it changed since it was read.
    async fn change_node(&self, node_id: u32, change: &NodeChange) -> Result<(), client::Error>;
    /// The metadata servers' group as its members report it.
    async fn metadata_group(&self) -> Result<MetadataGroup, client::Error>;
    /// Removes a member from the metadata servers' group, retrying for at most `timeout`.
    async fn remove_metadata_member(
        &self,
        node_id: u32,
        timeout: Duration,
    ) -> Result<(), client::Error>;
    /// Asks a node to join the metadata servers' group.
    async fn add_metadata_member(&self, node_id: u32) -> Result<(), client::Error>;
    /// Every partition with the nodes of its current and next replica sets.
    async fn replica_sets(&self) -> Result<Vec<(u32, BTreeSet<u32>)>, client::Error>;
    /// Seals a log's tail segment and extends it with one of `replication`, on nodes the cluster
    /// controller picks.
    async fn reconfigure_log(
        &self,
        log_id: u32,
        tail_index: u32,
        replication: &Replication,
    ) -> Result<(), client::Error>;
    /// The configured endpoints, in order.
    fn endpoints(&self) -> Vec<String>;
    /// Calls sent so far (tests and benchmarks count them).
    fn rpc_count(&self) -> usize;
    /// Terraform's request to stop: every wait ends at its next pause (see [`pause`]).
    fn stop(&self) -> Stop;
}

// Each method calls the client's inherent method of the same name (inherent methods win over
// the trait's in `AdminClient::name` paths).
#[async_trait]
impl AdminApi for AdminClient {
    async fn ident(&self) -> Result<Ident, client::Error> {
        AdminClient::ident(self).await
    }
    async fn idents(&self) -> Vec<(String, Result<Ident, client::Error>)> {
        AdminClient::idents(self).await
    }
    async fn provision_at(
        &self,
        endpoint: &str,
        req: &ProvisionRequest,
    ) -> Result<Provisioned, client::Error> {
        AdminClient::provision_at(self, endpoint, req).await
    }
    async fn provision_dry_run(
        &self,
        endpoint: &str,
        req: &ProvisionRequest,
    ) -> Result<ClusterConfig, client::Error> {
        AdminClient::provision_dry_run(self, endpoint, req).await
    }
    async fn fingerprint_at(&self, endpoint: &str) -> Result<Option<u64>, client::Error> {
        AdminClient::fingerprint_at(self, endpoint).await
    }
    async fn stored_config(&self) -> Result<StoredConfig, client::Error> {
        AdminClient::stored_config(self).await
    }
    async fn set_cluster_config(&self, config: &ClusterConfig) -> Result<(), client::Error> {
        AdminClient::set_cluster_config(self, config).await
    }
    async fn nodes_configuration(&self) -> Result<NodesConfiguration, client::Error> {
        AdminClient::nodes_configuration(self).await
    }
    async fn partition_ids(&self) -> Result<Vec<u32>, client::Error> {
        AdminClient::partition_ids(self).await
    }
    async fn logs(&self) -> Result<LogsView, client::Error> {
        AdminClient::logs(self).await
    }
    async fn controller_state(&self) -> Result<ControllerState, client::Error> {
        AdminClient::controller_state(self).await
    }
    async fn create_snapshot(
        &self,
        partition_id: u32,
        timeout: Duration,
    ) -> Result<SnapshotTaken, client::Error> {
        AdminClient::create_snapshot(self, partition_id, timeout).await
    }
    async fn trim_log(&self, log_id: u32, trim_point: u64) -> Result<(), client::Error> {
        AdminClient::trim_log(self, log_id, trim_point).await
    }
    async fn change_node(&self, node_id: u32, change: &NodeChange) -> Result<(), client::Error> {
        AdminClient::change_node(self, node_id, change).await
    }
    async fn metadata_group(&self) -> Result<MetadataGroup, client::Error> {
        AdminClient::metadata_group(self).await
    }
    async fn remove_metadata_member(
        &self,
        node_id: u32,
        timeout: Duration,
    ) -> Result<(), client::Error> {
        AdminClient::remove_metadata_member(self, node_id, timeout).await
    }
    async fn add_metadata_member(&self, node_id: u32) -> Result<(), client::Error> {
        AdminClient::add_metadata_member(self, node_id).await
    }
    async fn replica_sets(&self) -> Result<Vec<(u32, BTreeSet<u32>)>, client::Error> {
        AdminClient::replica_sets(self).await
    }
    async fn reconfigure_log(
        &self,
        log_id: u32,
        tail_index: u32,
        replication: &Replication,
    ) -> Result<(), client::Error> {
        AdminClient::reconfigure_log(self, log_id, tail_index, replication).await
    }
    fn endpoints(&self) -> Vec<String> {
        self.settings()
            .endpoints
            .iter()
            .map(ToString::to_string)
            .collect()
    }
    fn rpc_count(&self) -> usize {
        AdminClient::rpc_count(self)
    }
    fn stop(&self) -> Stop {
        AdminClient::stop(self).clone()
    }
}

/// Sleeps for `d` between two polls of a wait; false, at once, when Terraform asked the provider
/// to stop (the wait must then end with [`Error::Interrupted`]).
pub async fn pause(api: &dyn AdminApi, d: Duration) -> bool {
    api.stop().pause(d).await.is_ok()
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Restate would not (or could not) do it; nothing was changed.
    #[error(transparent)]
    Refused(#[from] domain::Error),
    /// The configuration was written, but not every log moved to it in time.
    #[error("after {} these logs still had their old tail segment: {}", humantime::format_duration(*waited), list(pending))]
    LogsPending {
        waited: Duration,
        pending: Vec<PendingLog>,
    },
    /// A node was not there as wanted in time; `now` is what the cluster reports.
    #[error("waited {} for node {name} to be {wanted}. Now {now}", humantime::format_duration(*waited))]
    NodeNotReady {
        name: String,
        waited: Duration,
        wanted: String,
        now: String,
    },
    /// Terraform asked the provider to stop (the run was interrupted) during a wait; `during` says
    /// what it waited for and what the cluster reported last.
    #[error("stopped after {} of waiting for {during}: Terraform was interrupted", humantime::format_duration(*waited))]
    Interrupted { waited: Duration, during: String },
    #[error(transparent)]
    Client(#[from] client::Error),
}

fn list(items: &[PendingLog]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// How often a wait polls the cluster (the first poll is at once): a wait notices that what it
/// waits for happened at most this long after it did.
pub const WAIT_POLL: Duration = Duration::from_millis(200);

/// Whole seconds, for messages about waits.
pub fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}
