//! Partition snapshots: `CreatePartitionSnapshot` for many partitions, a few at a time, retrying
//! what may pass later (no leader yet, an export already running, admin not ready) until a
//! deadline, and reporting every partition that failed. Never claims success for a failure:
//! `restatectl snapshots create` exits 0 even when every partition fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tonic::Code;

use super::AdminApi;
use crate::client::{self, SnapshotTaken};

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

/// Errors worth another try before the deadline.
fn retryable(e: &client::Error) -> bool {
    match e {
        client::Error::RepositoryNotConfigured { .. }
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

/// Snapshots `partition_ids` (which must exist: the server panics on an unknown id).
pub async fn create(
    api: Arc<dyn AdminApi>,
    partition_ids: &[u32],
    trim_log: bool,
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
                match api.create_snapshot(pid, trim_log).await {
                    Ok(t) => return Ok(t),
                    Err(e) if retryable(&e) && started.elapsed() + backoff < timeout => {
                        tracing::debug!("partition {pid}: {e}; retrying");
                        tokio::time::sleep(backoff).await;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(retryable(&status(
            Code::Internal,
            "Can not find a suitable node to take snapshot of partition 3"
        )));
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
    }
}
