//! Partition snapshots: `CreatePartitionSnapshot` for many partitions, a few at a time, each call
//! bounded by what is left of the deadline (an export and upload may take long), retrying what may
//! pass later (no leader yet, an export already running, admin not ready) but never a call that
//! timed out (its export may still run: a second call would start another), starting nothing once
//! the deadline has passed, and reporting every partition that failed. Never claims success for a
//! failure: `restatectl snapshots create` exits 0 even when every partition fails. Trimming the
//! logs afterwards never goes past what every running replica has applied.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tonic::Code;

use super::AdminApi;
use crate::client::{self, SnapshotTaken};
use crate::domain::rules;

/// How many partitions are exported at once.
pub const PARALLELISM: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFailure {
    pub partition_id: u32,
    pub reason: String,
    /// The node has no snapshot repository (`[worker.snapshots]` unset).
    pub not_configured: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotOutcome {
    /// Ordered by partition id.
    pub taken: Vec<SnapshotTaken>,
    pub failed: Vec<SnapshotFailure>,
}

/// Errors worth another try before the deadline. A timeout is not: the export it asked for may
/// still be running.
fn retryable(e: &client::Error) -> bool {
    match e {
        client::Error::Timeout { .. }
        | client::Error::Interrupted { .. }
        | client::Error::RepositoryNotConfigured { .. }
        | client::Error::ClusterMismatch { .. }
        | client::Error::InvalidEndpoint { .. }
        | client::Error::Decode { .. } => false,
        _ => !matches!(
            e.code(),
            Some(
                Code::InvalidArgument
                    | Code::NotFound
                    | Code::FailedPrecondition
                    | Code::Unimplemented
            )
        ),
    }
}

/// Snapshots `partition_ids` (which must exist: the server panics on an unknown id) within
/// `timeout` in all.
pub async fn create(
    api: Arc<dyn AdminApi>,
    partition_ids: &[u32],
    timeout: Duration,
) -> SnapshotOutcome {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(PARALLELISM));
    let mut tasks = JoinSet::new();
    for &pid in partition_ids {
        let (api, permits) = (api.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let mut backoff = Duration::from_millis(250);
            loop {
                if api.stop().is_requested() {
                    return Err(SnapshotFailure {
                        partition_id: pid,
                        reason: "not started: Terraform was interrupted".into(),
                        not_configured: false,
                    });
                }
                let left = timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(SnapshotFailure {
                        partition_id: pid,
                        reason: format!(
                            "not started: the create timeout ({}) had passed",
                            humantime::format_duration(timeout)
                        ),
                        not_configured: false,
                    });
                }
                match api.create_snapshot(pid, left).await {
                    Ok(t) => return Ok(t),
                    Err(e) if retryable(&e) && started.elapsed() + backoff < timeout => {
                        tracing::debug!("partition {pid}: {e}; retrying");
                        if !super::pause(api.as_ref(), backoff).await {
                            return Err(SnapshotFailure {
                                partition_id: pid,
                                reason: format!(
                                    "not taken: Terraform was interrupted (the last attempt: {e})"
                                ),
                                not_configured: false,
                            });
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                    }
                    Err(e) => {
                        return Err(SnapshotFailure {
                            partition_id: pid,
                            not_configured: matches!(
                                e,
                                client::Error::RepositoryNotConfigured { .. }
                            ),
                            reason: e.to_string(),
                        })
                    }
                }
            }
        });
    }
    let mut out = SnapshotOutcome::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(t)) => out.taken.push(t),
            Ok(Err(f)) => out.failed.push(f),
            Err(e) => tracing::error!("snapshot task failed: {e}"),
        }
    }
    // A task that died (it cannot, short of a panic) still must not count as a success.
    for &pid in partition_ids {
        let seen = out.taken.iter().any(|t| t.partition_id == pid)
            || out.failed.iter().any(|f| f.partition_id == pid);
        if !seen {
            out.failed.push(SnapshotFailure {
                partition_id: pid,
                reason: "the snapshot task stopped unexpectedly".into(),
                not_configured: false,
            });
        }
    }
    out.taken.sort_by_key(|t| t.partition_id);
    out.failed.sort_by_key(|f| f.partition_id);
    out
}

/// The node that took each snapshot (see [`rules::snapshot_takers`]), waiting up to `within`
/// for the controller to hear of them; partitions it has not heard of by then are left out.
pub async fn takers(
    api: &dyn AdminApi,
    taken: &[SnapshotTaken],
    within: Duration,
) -> std::collections::BTreeMap<u32, u32> {
    let wanted: Vec<(u32, u64)> = taken
        .iter()
        .map(|t| (t.partition_id, t.min_applied_lsn))
        .collect();
    let started = Instant::now();
    let mut found = std::collections::BTreeMap::new();
    loop {
        if let Ok(state) = api.controller_state().await {
            found = rules::snapshot_takers(&wanted, &state.processors);
        }
        if found.len() == wanted.len()
            || started.elapsed() >= within
            || !super::pause(api, Duration::from_millis(250)).await
        {
            tracing::debug!(
                "the takers of {} of {} snapshots are known after {} ms",
                found.len(),
                wanted.len(),
                started.elapsed().as_millis()
            );
            return found;
        }
    }
}

/// What trimming did to one partition's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trimmed {
    pub partition_id: u32,
    pub log_id: u32,
    pub snapshot_lsn: u64,
    /// Where the log was trimmed, None when it was left as it is.
    pub trimmed_to: Option<u64>,
}

/// Trims each snapshotted partition's log, up to its snapshot but never past what a running
/// replica of the partition has applied (a replica behind the trim point could not catch up from
/// the log). Returns what was done for each partition.
pub async fn trim(
    api: &dyn AdminApi,
    taken: &[SnapshotTaken],
) -> Result<Vec<Trimmed>, client::Error> {
    let state = api.controller_state().await?;
    let mut out = Vec::new();
    for t in taken {
        let replicas: Vec<Option<u64>> = state
            .processors
            .iter()
            .filter(|p| p.partition_id == t.partition_id)
            .map(|p| p.applied_lsn)
            .collect();
        let point = rules::trim_point(t.min_applied_lsn, &replicas);
        if let Some(point) = point {
            api.trim_log(t.log_id, point).await?;
        }
        out.push(Trimmed {
            partition_id: t.partition_id,
            log_id: t.log_id,
            snapshot_lsn: t.min_applied_lsn,
            trimmed_to: point,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fake::{FakeCluster, FakeState};

    /// 12 partitions whose exports take 400 ms each, 4 at a time, within 600 ms: the first 4 are
    /// taken, the next 4 start at 400 ms and time out at 600 ms, and the last 4 never start.
    /// Every partition is exported at most once.
    #[tokio::test(start_paused = true)]
    async fn exports_are_bounded_by_the_deadline_and_never_repeated() {
        let mut state = FakeState::provisioned("c", 12);
        state.snapshot_delay = Duration::from_millis(400);
        let fake = Arc::new(FakeCluster::new(state));
        let ids: Vec<u32> = (0..12).collect();
        let outcome = create(fake.clone(), &ids, Duration::from_millis(600)).await;
        assert_eq!(outcome.taken.len(), 4, "{outcome:#?}");
        let timed_out = outcome
            .failed
            .iter()
            .filter(|f| f.reason.contains("timed out") || f.reason.contains("no answer"))
            .count();
        let not_started = outcome
            .failed
            .iter()
            .filter(|f| f.reason.starts_with("not started"))
            .count();
        assert_eq!((timed_out, not_started), (4, 4), "{outcome:#?}");
        let exports = fake.with(|s| s.exports.clone());
        assert_eq!(exports.len(), 8, "{exports:?}");
        assert!(exports.values().all(|n| *n == 1), "{exports:?}");
    }

    /// A partition whose export outlasts the whole timeout is exported once, not once per retry.
    #[tokio::test(start_paused = true)]
    async fn a_slow_export_is_not_started_again() {
        let mut state = FakeState::provisioned("c", 2);
        state.snapshot_delay = Duration::from_secs(30);
        let fake = Arc::new(FakeCluster::new(state));
        let outcome = create(fake.clone(), &[0, 1], Duration::from_secs(10)).await;
        assert!(outcome.taken.is_empty());
        assert_eq!(outcome.failed.len(), 2);
        assert_eq!(
            fake.with(|s| s.exports.clone())
                .into_iter()
                .collect::<Vec<_>>(),
            [(0, 1), (1, 1)]
        );
        // Given the time, the same exports succeed, once each.
        let outcome = create(fake.clone(), &[0, 1], Duration::from_secs(60)).await;
        assert_eq!(outcome.taken.len(), 2, "{outcome:#?}");
    }

    fn status(code: Code, message: &str) -> client::Error {
        client::Error::Status {
            endpoint: "http://n1:5122".into(),
            method: "/restate.cluster_ctrl.ClusterCtrlSvc/CreatePartitionSnapshot",
            code,
            message: message.into(),
        }
    }

    #[test]
    fn which_failures_are_retried() {
        assert!(retryable(&client::Error::NoPartitionLeader {
            endpoint: "http://n1:5122".into(),
            partition_id: 3
        }));
        assert!(retryable(&status(
            Code::Internal,
            "A snapshot export is already in progress"
        )));
        assert!(retryable(&status(
            Code::Unavailable,
            "svc is not ready yet"
        )));
        assert!(!retryable(&client::Error::RepositoryNotConfigured {
            endpoint: "http://n1:5122".into(),
            partition_id: 0,
            message: "Snapshot repository is not configured for partition 0".into(),
        }));
        assert!(!retryable(&status(
            Code::InvalidArgument,
            "partition id out of range"
        )));
        assert!(!retryable(&client::Error::Timeout {
            endpoint: "http://n1:5122".into(),
            method: "/restate.cluster_ctrl.ClusterCtrlSvc/CreatePartitionSnapshot",
            after: Duration::from_secs(1),
        }));
    }
}
