//! Applying a desired cluster configuration: read-modify-write of `SetClusterConfiguration`, the
//! safety checks the server does not make, and waiting until every log runs on the new settings.

use std::time::{Duration, Instant};

use super::capacity::{self, Holder};
use super::cluster::ClusterConfig;
use super::connection::AdminClient;
use super::error::Error;
use super::metadata::LogTail;
use super::replication::Replication;

/// What the user asked for; `None` keeps the cluster's current value.
#[derive(Clone, Debug, Default)]
pub struct DesiredConfig {
    pub log_provider: String,
    pub log_replication: Option<String>,
    pub partition_replication: Option<String>,
    pub log_nodeset_size: Option<u32>,
}

#[derive(Debug)]
pub enum ApplyError {
    /// The request would not work; `attribute` is the setting at fault. Nothing was changed.
    Refused {
        attribute: &'static str,
        summary: String,
        detail: String,
    },
    /// The logs did not all reach the requested settings in time; the configuration was written.
    LogsPending {
        waited: Duration,
        pending: Vec<String>,
    },
    Client(Error),
}

impl From<Error> for ApplyError {
    fn from(e: Error) -> Self {
        ApplyError::Client(e)
    }
}

fn same(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Replication::same(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// The full object to send: current values, overridden by what is desired.
pub fn merge(current: &ClusterConfig, desired: &DesiredConfig) -> ClusterConfig {
    let replicated = desired.log_provider == "replicated";
    ClusterConfig {
        num_partitions: current.num_partitions,
        partition_replication: desired
            .partition_replication
            .clone()
            .or_else(|| current.partition_replication.clone()),
        log_provider: desired.log_provider.clone(),
        // A replicated provider needs a replication; when moving off `local` without one, use 1,
        // the only value a single node can hold (as the migration guide does).
        log_replication: desired
            .log_replication
            .clone()
            .or_else(|| current.log_replication.clone())
            .or_else(|| replicated.then(|| "1".to_string())),
        log_nodeset_size: desired.log_nodeset_size.unwrap_or(current.log_nodeset_size),
    }
}

/// True when sending `next` would change nothing on the server.
pub fn unchanged(current: &ClusterConfig, next: &ClusterConfig) -> bool {
    current.log_provider == next.log_provider
        && same(&current.log_replication, &next.log_replication)
        && same(&current.partition_replication, &next.partition_replication)
        && current.log_nodeset_size == next.log_nodeset_size
}

impl AdminClient {
    /// Refuses a replication the alive nodes cannot hold.
    async fn check_capacity(
        &self,
        current: &ClusterConfig,
        next: &ClusterConfig,
    ) -> Result<(), ApplyError> {
        let mut checks = Vec::new();
        let log_changes = current.log_provider != next.log_provider
            || !same(&current.log_replication, &next.log_replication);
        if next.log_provider == "replicated" && log_changes {
            if let Some(r) = &next.log_replication {
                checks.push(("log_replication", r.clone(), Holder::LogServer));
            }
        }
        if !same(&current.partition_replication, &next.partition_replication) {
            if let Some(r) = &next.partition_replication {
                checks.push(("partition_replication", r.clone(), Holder::Worker));
            }
        }
        if checks.is_empty() {
            return Ok(());
        }
        let view = self.cluster_view().await?;
        for (attribute, text, holder) in checks {
            let r: Replication = text.parse().map_err(|e| ApplyError::Refused {
                attribute,
                summary: format!("Invalid {attribute}"),
                detail: format!("{e}"),
            })?;
            if let Err(s) = capacity::check(&r, holder, &view.nodes) {
                let place = match s.scope {
                    super::replication::Scope::Node => "nodes".to_string(),
                    other => format!("distinct {}s", other.as_str()),
                };
                let who = if s.holders.is_empty() {
                    "none".to_string()
                } else {
                    s.holders.join(", ")
                };
                return Err(ApplyError::Refused {
                    attribute,
                    summary: format!("{attribute} {text} cannot be satisfied by this cluster"),
                    detail: format!(
                        "{attribute} = \"{text}\" needs {} {place} among the {}, but the cluster has {} \
                         (qualifying nodes: {who}). Restate would accept it without checking, and the \
                         new configuration would never take effect (or, on older servers, make the \
                         cluster unavailable). Add nodes with the needed role first, or lower \
                         {attribute}. Nothing was changed. To apply anyway, set skip_safety_checks = true.",
                        s.required,
                        holder.describe(),
                        s.available
                    ),
                });
            }
        }
        Ok(())
    }

    /// Read-modify-write of the cluster configuration. Returns the configuration now in force.
    pub async fn apply_cluster_config(
        &self,
        desired: &DesiredConfig,
        skip_safety_checks: bool,
    ) -> Result<ClusterConfig, ApplyError> {
        let current = self.cluster_config().await?;
        if current.log_provider == "replicated" && desired.log_provider != "replicated" {
            return Err(ApplyError::Refused {
                attribute: "log_provider",
                summary: "Restate cannot move logs back from the replicated provider".into(),
                detail: format!(
                    "The cluster uses the replicated log provider; log_provider = \"{}\" is not supported \
                     by Restate. Keep log_provider = \"replicated\".",
                    desired.log_provider
                ),
            });
        }
        let next = merge(&current, desired);
        if unchanged(&current, &next) {
            return Ok(current);
        }
        if !skip_safety_checks {
            self.check_capacity(&current, &next).await?;
        }
        self.set_cluster_config(&next).await?;
        Ok(self.cluster_config().await?)
    }

    /// Logs whose tail segment does not yet use `provider` (and `replication`, if replicated).
    /// Restate creates a partition's log when the partition first starts, so fewer logs than
    /// partitions also counts as pending.
    pub async fn pending_logs(
        &self,
        provider: &str,
        replication: Option<&Replication>,
        num_partitions: u32,
    ) -> Result<Vec<String>, Error> {
        let logs = self.logs().await?;
        let missing = (logs.logs.len() < num_partitions as usize).then(|| {
            format!(
                "only {} of {num_partitions} logs exist yet",
                logs.logs.len()
            )
        });
        Ok(missing
            .into_iter()
            .chain(
                logs.logs
                    .iter()
                    .filter(|l| !log_matches(l, provider, replication))
                    .map(|l| {
                        let now = match &l.replication {
                            Some(r) => format!("{} {}", l.provider, r),
                            None => l.provider.clone(),
                        };
                        format!("log {} is on {now}", l.log_id)
                    }),
            )
            .collect())
    }

    /// Polls until every log's tail uses the configured provider and replication.
    pub async fn wait_for_logs(
        &self,
        config: &ClusterConfig,
        timeout: Duration,
    ) -> Result<(), ApplyError> {
        let replication: Option<Replication> =
            match (&config.log_provider[..], &config.log_replication) {
                ("replicated", Some(r)) => r.parse().ok(),
                _ => None,
            };
        let started = Instant::now();
        loop {
            let pending = match self
                .pending_logs(
                    &config.log_provider,
                    replication.as_ref(),
                    config.num_partitions,
                )
                .await
            {
                Ok(p) => p,
                Err(e) if e.is_transient() && started.elapsed() < timeout => {
                    vec![format!("logs unreadable: {e}")]
                }
                Err(e) => return Err(e.into()),
            };
            if pending.is_empty() {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(ApplyError::LogsPending {
                    waited: started.elapsed(),
                    pending,
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn log_matches(l: &LogTail, provider: &str, replication: Option<&Replication>) -> bool {
    l.provider == provider
        && (provider != "replicated"
            || replication.is_none()
            || l.replication.as_ref() == replication)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> ClusterConfig {
        ClusterConfig {
            num_partitions: 4,
            partition_replication: Some("{node: 1}".into()),
            log_provider: "local".into(),
            log_replication: None,
            log_nodeset_size: 0,
        }
    }

    #[test]
    fn merge_keeps_current_values_for_unset_settings() {
        let next = merge(
            &local(),
            &DesiredConfig {
                log_provider: "replicated".into(),
                ..Default::default()
            },
        );
        assert_eq!(next.num_partitions, 4);
        assert_eq!(next.partition_replication.as_deref(), Some("{node: 1}"));
        assert_eq!(next.log_replication.as_deref(), Some("1"));
        assert!(!unchanged(&local(), &next));
    }

    #[test]
    fn same_meaning_is_unchanged() {
        let mut cur = local();
        cur.log_provider = "replicated".into();
        cur.log_replication = Some("{node: 2}".into());
        let next = merge(
            &cur,
            &DesiredConfig {
                log_provider: "replicated".into(),
                log_replication: Some("2".into()),
                partition_replication: Some("1".into()),
                log_nodeset_size: Some(0),
            },
        );
        assert!(unchanged(&cur, &next));
    }
}
