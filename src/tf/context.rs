//! What the provider shares with its resources and data sources: the admin API once configured
//! (or why there is none), and one cluster view per provider process.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tf_provider::Diagnostics;

use super::diag;
use crate::client::{self, Stop};
use crate::domain::lifecycle::MetadataGroup;
use crate::domain::{ClusterView, Ident};
use crate::ops::view::ViewCache;
use crate::ops::AdminApi;

/// Plan-time checks against the cluster are best effort: at plan time the nodes may not exist yet
/// (they can be created in the same apply), so a check waits at most this long, then is left to
/// apply.
pub const PLAN_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the provider has no admin API: the Terraform layer's error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("the provider has not been configured")]
    NotConfigured,
    /// A setting comes from a resource that does not exist yet (normal at plan time).
    #[error("{0} are not known yet (they come from resources that do not exist yet)")]
    Unknown(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Tls(#[from] super::tls::TlsSettingsError),
    #[error("request_timeout: {0}")]
    Duration(#[from] super::duration::DurationError),
}

#[derive(Default)]
pub struct ProviderContext {
    api: RwLock<Option<Result<Arc<dyn AdminApi>, SettingsError>>>,
    view: ViewCache,
    /// Nodes this plan removes so far: each removal is judged together with the ones planned
    /// before it, so removing two nodes that are each safe alone is refused when both are not.
    leaving: std::sync::Mutex<BTreeSet<u32>>,
    /// Held by a node removal: removals run one after the other, each judged by the cluster the
    /// previous one left.
    removal: tokio::sync::Mutex<()>,
    /// Held while a restart gate decides whether its node may stop: one decides at a time.
    restart_turn: tokio::sync::Mutex<()>,
    /// Nodes a restart gate let stop in this apply and that have not come back yet.
    restarting: std::sync::Mutex<BTreeSet<String>>,
    /// Terraform's request to stop (an interrupted run), shared with the client.
    stop: Stop,
}

impl ProviderContext {
    /// A context around an existing admin API (tests, benchmarks).
    pub fn with_api(api: Arc<dyn AdminApi>) -> Self {
        let ctx = ProviderContext::default();
        ctx.set(Ok(api));
        ctx
    }

    /// What Terraform's request to stop reaches: the client made for this provider, and through
    /// it every wait.
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    pub fn set(&self, api: Result<Arc<dyn AdminApi>, SettingsError>) {
        *self.api.write().unwrap_or_else(|p| p.into_inner()) = Some(api);
    }

    pub fn api(&self) -> Result<Arc<dyn AdminApi>, SettingsError> {
        self.api
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or(Err(SettingsError::NotConfigured))
    }

    /// The admin API, or None after reporting why there is none.
    pub fn api_or_report(&self, diags: &mut Diagnostics) -> Option<Arc<dyn AdminApi>> {
        self.api().map_err(|e| diag::not_configured(diags, &e)).ok()
    }

    /// The admin API when it is usable; for plan-time checks that are skipped otherwise.
    pub fn api_if_known(&self) -> Option<Arc<dyn AdminApi>> {
        self.api().ok()
    }

    /// The admin API and what the node it reached says about itself, or None after reporting why
    /// not.
    pub async fn connect(&self, diags: &mut Diagnostics) -> Option<(Arc<dyn AdminApi>, Ident)> {
        let api = self.api_or_report(diags)?;
        let ident = diag::client_ok(diags, diag::UNREACHABLE, api.ident().await)?;
        Some((api, ident))
    }

    /// The nodes with their liveness: the shared view unless `fresh` (for polling) or stale.
    pub async fn view(
        &self,
        api: &dyn AdminApi,
        fresh: bool,
    ) -> Result<Arc<ClusterView>, client::Error> {
        self.view.get(api, fresh).await
    }

    /// The metadata servers' group: shared like the view (stale after a while, or a write).
    pub async fn metadata_group(
        &self,
        api: &dyn AdminApi,
    ) -> Result<Arc<MetadataGroup>, client::Error> {
        self.view.metadata_group(api).await
    }

    /// Forgets the shared view after a write to the cluster.
    pub async fn invalidate(&self) {
        self.view.invalidate().await;
    }

    /// Adds node `id` to the nodes this plan removes; returns all of them.
    pub fn plan_leaving(&self, id: u32) -> BTreeSet<u32> {
        let mut leaving = self.leaving.lock().unwrap_or_else(|p| p.into_inner());
        leaving.insert(id);
        leaving.clone()
    }

    /// Held while a node is removed (see the field).
    pub async fn removal_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.removal.lock().await
    }

    /// Held while a restart gate decides (see the field).
    pub async fn restart_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.restart_turn.lock().await
    }

    /// The nodes let stop in this apply that are not back yet, but `name`.
    pub fn restarting_besides(&self, name: &str) -> Vec<String> {
        let restarting = self.restarting.lock().unwrap_or_else(|p| p.into_inner());
        restarting.iter().filter(|n| *n != name).cloned().collect()
    }

    /// Whether a restart gate let `name` stop in this apply and it is not back yet.
    pub fn is_restarting(&self, name: &str) -> bool {
        let restarting = self.restarting.lock().unwrap_or_else(|p| p.into_inner());
        restarting.contains(name)
    }

    /// Marks `name` stopping (`true`) or back (`false`).
    pub fn set_restarting(&self, name: &str, stopping: bool) {
        let mut restarting = self.restarting.lock().unwrap_or_else(|p| p.into_inner());
        if stopping {
            restarting.insert(name.to_string());
        } else {
            restarting.remove(name);
        }
    }
}

/// A plan-time read of the cluster: its result if it answers within [`PLAN_PROBE_TIMEOUT`].
pub async fn probe<T, E>(read: impl Future<Output = Result<T, E>>) -> Option<T> {
    tokio::time::timeout(PLAN_PROBE_TIMEOUT, read)
        .await
        .ok()?
        .ok()
}
