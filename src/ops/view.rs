//! The cluster view: the nodes configuration with each node's liveness, and the metadata servers'
//! group, each read once and shared by every resource of a provider process (Terraform starts one
//! per plan or apply), so many `restate_node` reads cost the RPCs of one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::AdminApi;
use crate::client;
use crate::domain::lifecycle::MetadataGroup;
use crate::domain::ClusterView;

/// How long to wait for the cluster controller to learn about every node.
const LIVENESS_SETTLE: Duration = Duration::from_secs(15);
const SETTLE_POLL: Duration = Duration::from_millis(100);

/// A cached view older than this is read again, so a long apply never acts on stale data.
const VIEW_MAX_AGE: Duration = Duration::from_secs(30);

/// Nodes with their liveness, read now.
pub async fn read(api: &dyn AdminApi) -> Result<ClusterView, client::Error> {
    let nodes = api.nodes_configuration().await?;
    // The controller's view is empty for a few seconds after it starts (until the first
    // heartbeats); wait until it covers every node so a live node is not counted as dead.
    let started = Instant::now();
    let state = loop {
        let state = api.controller_state().await?;
        if state.covers(&nodes) || started.elapsed() > LIVENESS_SETTLE {
            break state;
        }
        tracing::debug!("waiting for the cluster controller to hear from every node");
        if !super::pause(api, SETTLE_POLL).await {
            // Stopping. Not a view that may count a live node as dead: nothing is decided on it.
            return Err(client::Error::Interrupted {
                method: crate::client::wire::methods::GET_CLUSTER_STATE,
            });
        }
    };
    Ok(ClusterView::new(nodes, state))
}

/// One view per process: concurrent callers wait for one read instead of each sending their own.
#[derive(Default)]
pub struct ViewCache {
    cached: tokio::sync::Mutex<Option<(Instant, Arc<ClusterView>)>>,
    /// The metadata servers' group, shared the same way (a `restate_node` read asks whether its
    /// node is a member: one status call per metadata server, not per resource).
    group: tokio::sync::Mutex<Option<(Instant, Arc<MetadataGroup>)>>,
}

impl ViewCache {
    /// The cached view unless `fresh` (for polling) or stale.
    pub async fn get(
        &self,
        api: &dyn AdminApi,
        fresh: bool,
    ) -> Result<Arc<ClusterView>, client::Error> {
        let mut cached = self.cached.lock().await;
        if let Some((at, view)) = cached.as_ref() {
            if !fresh && at.elapsed() < VIEW_MAX_AGE {
                return Ok(view.clone());
            }
        }
        let view = Arc::new(read(api).await?);
        *cached = Some((Instant::now(), view.clone()));
        Ok(view)
    }

    /// The cached metadata servers' group unless stale, like [`get`](Self::get).
    pub async fn metadata_group(
        &self,
        api: &dyn AdminApi,
    ) -> Result<Arc<MetadataGroup>, client::Error> {
        let mut cached = self.group.lock().await;
        if let Some((at, group)) = cached.as_ref() {
            if at.elapsed() < VIEW_MAX_AGE {
                return Ok(group.clone());
            }
        }
        let group = Arc::new(api.metadata_group().await?);
        *cached = Some((Instant::now(), group.clone()));
        Ok(group)
    }

    /// Forgets the cached view and group after a write to the cluster.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
        *self.group.lock().await = None;
    }
}
