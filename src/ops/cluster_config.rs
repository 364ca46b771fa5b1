//! The cluster configuration: provisioning exactly one cluster, a read-modify-write of
//! `SetClusterConfiguration` that never overwrites a concurrent change, with the safety checks
//! the server does not make, and the wait until every log runs on it.

use std::time::{Duration, Instant};

use super::{view, AdminApi, Error};
use crate::client;
use crate::domain::rules::{self, PendingLog};
use crate::domain::{
    ClusterConfig, DesiredConfig, Error as Refusal, Ident, ProvisionRequest, Provisioned,
};

const LOGS_POLL: Duration = super::WAIT_POLL;

/// What every endpoint says about itself; the cluster is provisioned when any of them says so.
pub struct Survey {
    pub idents: Vec<(String, Result<Ident, client::Error>)>,
}

impl Survey {
    pub async fn take(api: &dyn AdminApi) -> Survey {
        Survey {
            idents: api.idents().await,
        }
    }

    /// A node of the provisioned cluster, if any endpoint reports one.
    pub fn provisioned(&self) -> Option<&Ident> {
        self.idents
            .iter()
            .filter_map(|(_, i)| i.as_ref().ok())
            .find(|i| i.provisioned)
    }

    /// The first node that answered, when none is provisioned.
    pub fn any(&self) -> Option<&Ident> {
        self.idents.iter().find_map(|(_, i)| i.as_ref().ok())
    }

    /// Why no endpoint answered.
    pub fn error(&self) -> Option<client::Error> {
        let errors: Vec<client::Error> = self
            .idents
            .iter()
            .filter_map(|(_, i)| i.as_ref().err().cloned())
            .collect();
        match errors.len() {
            0 => None,
            1 => errors.into_iter().next(),
            _ => Some(client::Error::AllEndpointsFailed {
                method: "/restate.node_ctl_svc.NodeCtlSvc/GetIdent",
                elapsed: Duration::ZERO,
                errors,
            }),
        }
    }
}

/// Every provisioned endpoint must belong to one cluster: the fingerprint they agree on.
pub async fn one_cluster(api: &dyn AdminApi) -> Result<Option<u64>, Error> {
    let mut seen: Vec<(String, u64)> = Vec::new();
    for endpoint in api.endpoints() {
        if let Ok(Some(fp)) = api.fingerprint_at(&endpoint).await {
            seen.push((endpoint, fp));
        }
    }
    match seen.first() {
        None => Ok(None),
        Some((_, first)) if seen.iter().all(|(_, fp)| fp == first) => Ok(Some(*first)),
        Some(_) => Err(Refusal::SplitBrain(
            seen.iter()
                .map(|(e, fp)| format!("{e} has fingerprint {fp}"))
                .collect(),
        )
        .into()),
    }
}

/// Provisions the cluster through `target` only (`ProvisionCluster` provisions the node that
/// receives it, so it is never sent to, or retried on, another node), unless any reachable
/// endpoint already reports a provisioned cluster. Afterwards every provisioned endpoint must
/// report the same cluster.
pub async fn provision(
    api: &dyn AdminApi,
    target: &str,
    req: &ProvisionRequest,
) -> Result<Provisioned, Error> {
    one_cluster(api).await?;
    if let Some(ident) = Survey::take(api).await.provisioned() {
        tracing::info!(
            "not provisioning: {} reports cluster \"{}\" provisioned",
            ident.endpoint,
            ident.cluster_name
        );
        return Ok(Provisioned::Already);
    }
    let outcome = api.provision_at(target, req).await?;
    match outcome {
        Provisioned::Now => tracing::info!("provisioned the cluster at {target}: {req:?}"),
        Provisioned::Already => {
            tracing::info!("{target}: the cluster was provisioned by someone else")
        }
    }
    one_cluster(api).await?;
    Ok(outcome)
}

/// Read-modify-write of the cluster configuration, refusing what Restate cannot do and (unless
/// `skip_safety_checks`) a replication the alive nodes cannot hold. Nothing is written when a
/// setting the write sets changed since it was seen as `expected` (the values the plan showed)
/// or while this apply checked it (the logs themselves may move meanwhile: Restate reconfigures
/// them on its own); the partition replication is sent only when the user set it (the server
/// keeps its own otherwise). Returns the configuration now in force.
pub async fn apply(
    api: &dyn AdminApi,
    cluster_name: &str,
    desired: &DesiredConfig,
    expected: Option<&ClusterConfig>,
    skip_safety_checks: bool,
) -> Result<ClusterConfig, Error> {
    let stored = api.stored_config().await?;
    let current = &stored.config;
    if let Some(expected) = expected {
        rules::check_unchanged_since(expected, current, desired)?;
    }
    rules::check_provider_change(cluster_name, &current.log_provider, &desired.log_provider)?;
    let next = rules::merge(current, desired);
    if rules::unchanged(current, &next) {
        return Ok(stored.config);
    }
    let needed = rules::capacity_needed(current, &next);
    if !skip_safety_checks && !needed.is_empty() {
        let view = view::read(api).await?;
        for (replication, holder) in &needed {
            rules::capacity(replication, *holder, &view.nodes)?;
        }
    }
    let again = api.stored_config().await?;
    if again.config != stored.config {
        return Err(Refusal::ConfigChangedDuringApply {
            what: describe_change(current, &again.config),
        }
        .into());
    }
    let request = rules::request(current, desired);
    tracing::info!("setting the cluster configuration: {request:?}");
    api.set_cluster_config(&request).await?;
    Ok(api.stored_config().await?.config)
}

fn describe_change(before: &ClusterConfig, after: &ClusterConfig) -> String {
    let show = |c: &ClusterConfig| {
        format!(
            "{} {}, partitions {}",
            c.log_provider,
            c.log_replication
                .as_ref()
                .map_or("-".into(), |r| r.canonical()),
            c.partition_replication
                .as_ref()
                .map_or("-".into(), |r| r.canonical())
        )
    };
    if before == after {
        "its version moved".into()
    } else {
        format!("from {} to {}", show(before), show(after))
    }
}

/// The logs that have not reached `config` yet.
pub async fn pending_logs(
    api: &dyn AdminApi,
    config: &ClusterConfig,
) -> Result<Vec<PendingLog>, Error> {
    Ok(rules::pending_logs(&api.logs().await?, config))
}

/// The ids of the logs not yet on `config`.
pub async fn pending_log_ids(
    api: &dyn AdminApi,
    config: &ClusterConfig,
) -> Result<Vec<u32>, Error> {
    Ok(rules::pending_log_ids(&api.logs().await?, config))
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
                if !super::pause(api, LOGS_POLL).await {
                    return Err(Error::Interrupted {
                        waited: super::whole_seconds(started.elapsed()),
                        during: format!("the logs to move (they could not be read: {e})"),
                    });
                }
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
        if !super::pause(api, LOGS_POLL).await {
            return Err(Error::Interrupted {
                waited: super::whole_seconds(started.elapsed()),
                during: format!(
                    "the logs to move to the new configuration ({} still pending: {})",
                    pending.len(),
                    pending
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::Replication;
    use crate::testing::fake::{FakeCluster, FakeState};

    /// The wait polls at once, then every `WAIT_POLL`: logs that move 1 s after the write are
    /// noticed by the next poll (tokio's paused clock: deterministic, not a measurement).
    #[tokio::test(start_paused = true)]
    async fn the_wait_for_logs_notices_the_move_at_the_next_poll() {
        let fake = Arc::new(FakeCluster::new(FakeState::provisioned("c", 2)));
        let config = fake.with(|s| {
            // The logs move only when the test moves them.
            s.logs_lag = usize::MAX;
            s.change_config(|c| c.log_replication = Some(Replication::parse_input("2").unwrap()));
            s.config.clone()
        });
        let started = tokio::time::Instant::now();
        let (mover, moved_after) = (fake.clone(), Duration::from_secs(1));
        tokio::spawn(async move {
            tokio::time::sleep(moved_after).await;
            mover.with(FakeState::settle_logs);
        });
        wait_for_logs(fake.as_ref(), &config, Duration::from_secs(60))
            .await
            .unwrap();
        let noticed = started.elapsed();
        assert!(
            noticed >= moved_after && noticed <= moved_after + super::super::WAIT_POLL,
            "noticed after {noticed:?}"
        );
    }
}
