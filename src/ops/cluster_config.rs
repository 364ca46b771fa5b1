//! The cluster configuration: provisioning, a read-modify-write of `SetClusterConfiguration` with
//! the safety checks the server does not make, and the wait until every log runs on it.

use std::time::{Duration, Instant};

use super::{view, AdminApi, Error};
use crate::domain::rules::{self, PendingLog};
use crate::domain::{ClusterConfig, DesiredConfig, ProvisionRequest, Provisioned};

const LOGS_POLL: Duration = Duration::from_millis(500);

/// Provisions the cluster; someone else having done it is fine.
pub async fn provision(api: &dyn AdminApi, req: &ProvisionRequest) -> Result<Provisioned, Error> {
    let outcome = api.provision(req).await?;
    match outcome {
        Provisioned::Now => tracing::info!("provisioned the cluster: {req:?}"),
        Provisioned::Already => tracing::info!("the cluster was provisioned by someone else"),
    }
    Ok(outcome)
}

/// Read-modify-write of the cluster configuration, refusing what Restate cannot do and (unless
/// `skip_safety_checks`) a replication the alive nodes cannot hold. Returns the configuration now
/// in force.
pub async fn apply(
    api: &dyn AdminApi,
    cluster_name: &str,
    desired: &DesiredConfig,
    skip_safety_checks: bool,
) -> Result<ClusterConfig, Error> {
    let current = api.cluster_config().await?;
    rules::check_provider_change(cluster_name, &current.log_provider, &desired.log_provider)?;
    let next = rules::merge(&current, desired);
    if rules::unchanged(&current, &next) {
        return Ok(current);
    }
    let needed = rules::capacity_needed(&current, &next);
    if !skip_safety_checks && !needed.is_empty() {
        let view = view::read(api).await?;
        for (replication, holder) in &needed {
            rules::capacity(replication, *holder, &view.nodes)?;
        }
    }
    tracing::info!("setting the cluster configuration: {next:?}");
    api.set_cluster_config(&next).await?;
    Ok(api.cluster_config().await?)
}

/// The logs that have not reached `config` yet.
pub async fn pending_logs(
    api: &dyn AdminApi,
    config: &ClusterConfig,
) -> Result<Vec<PendingLog>, Error> {
    Ok(rules::pending_logs(&api.logs().await?, config))
}

/// Polls until every log's tail uses the configured provider and replication, for at most
/// `timeout`.
pub async fn wait_for_logs(
    api: &dyn AdminApi,
    config: &ClusterConfig,
    timeout: Duration,
) -> Result<(), Error> {
    let started = Instant::now();
    loop {
        let pending = match pending_logs(api, config).await {
            Ok(p) => p,
            // A node restarting may leave the logs unreadable for a moment.
            Err(Error::Client(e)) if e.is_transient() && started.elapsed() < timeout => {
                tracing::debug!("logs unreadable while waiting: {e}");
                tokio::time::sleep(LOGS_POLL).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        if pending.is_empty() {
            tracing::debug!("every log runs on the configured provider and replication");
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(Error::LogsPending {
                waited: super::whole_seconds(started.elapsed()),
                pending,
            });
        }
        tracing::info!(
            "waiting for the logs to move to the new configuration: {} pending ({})",
            pending.len(),
            pending[0]
        );
        tokio::time::sleep(LOGS_POLL).await;
    }
}
