//! A node's lifecycle: changing its worker state, log-server storage state and metadata-server
//! membership, and removing it from the cluster; each change checked against the cluster as it
//! is right before it is made, and followed by a wait until the cluster has acted on it.
//!
//! Every edit of the nodes configuration is a read-modify-write with a version precondition: when
//! someone else wrote in between, the cluster is read again, the change checked again, and tried
//! again (a few times, then the conflict is the error).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

// Tokio's clock, so tests can run the waits on paused time.
use tokio::time::Instant;

use super::{snapshots, view, whole_seconds, AdminApi, Error};
use crate::client::{self, Stop};
use crate::domain::lifecycle::{
    self, describe_segments, MetadataGroup, NodeChange, NodeFacts, StorageState, WorkerState,
};
use crate::domain::rules;
use crate::domain::{LogsView, NodeView, Replication, Role};

const POLL: Duration = super::WAIT_POLL;
/// Edits tried when others keep changing the nodes configuration meanwhile.
const EDIT_ATTEMPTS: usize = 5;
/// How long the cluster gets to move a log off a read-only node by itself before it is asked to.
const SELF_RECONFIGURE_GRACE: Duration = Duration::from_secs(5);
/// How long a trimmed log gets to drop its trimmed segments before it is snapshotted again.
const RETRIM_AFTER: Duration = Duration::from_secs(10);

/// The cluster as a lifecycle change is judged by, read now.
#[derive(Clone, Debug)]
pub struct Facts {
    /// The cluster read, as its nodes configuration names it.
    pub cluster_name: String,
    pub fingerprint: u64,
    pub nodes: Vec<NodeView>,
    pub logs: LogsView,
    pub partition_replication: Option<Replication>,
    pub log_replication: Option<Replication>,
    pub replica_sets: Vec<(u32, BTreeSet<u32>)>,
    pub metadata: MetadataGroup,
}

impl Facts {
    pub fn view(&self) -> NodeFacts<'_> {
        NodeFacts {
            nodes: &self.nodes,
            logs: &self.logs,
            partition_replication: self.partition_replication.clone(),
            log_replication: self.log_replication.clone(),
            replica_sets: &self.replica_sets,
            metadata: &self.metadata,
        }
    }

    pub fn node(&self, id: u32) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.record.node_id == id)
    }

    fn by_name(&self, name: &str) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.record.name == name)
    }
}

/// Reads everything a lifecycle change is judged by.
pub async fn read_facts(api: &dyn AdminApi) -> Result<Facts, client::Error> {
    let cluster = view::read(api).await?;
    let stored = api.stored_config().await?;
    Ok(Facts {
        cluster_name: cluster.cluster_name,
        fingerprint: cluster.cluster_fingerprint,
        nodes: cluster.nodes,
        logs: api.logs().await?,
        partition_replication: stored.config.partition_replication,
        log_replication: stored.config.log_replication,
        replica_sets: api.replica_sets().await?,
        metadata: api.metadata_group().await?,
    })
}

/// Refuses a cluster other than the one with fingerprint `expected` (when one is recorded).
pub fn check_cluster(
    api: &dyn AdminApi,
    facts: &Facts,
    expected: Option<u64>,
) -> Result<(), Error> {
    Ok(rules::check_fingerprint(
        expected,
        &api.endpoints().join(", "),
        &facts.cluster_name,
        facts.fingerprint,
    )?)
}

/// The node named `name`, or [`lifecycle`]'s NoSuchNode refusal.
pub fn node_id(facts: &Facts, name: &str) -> Result<u32, Error> {
    facts
        .by_name(name)
        .map(|n| n.record.node_id)
        .ok_or_else(|| Error::Refused(crate::domain::Error::NoSuchNode(name.to_string())))
}

/// Reads, checks with `check` and edits with the change `make` returns (None: nothing to do),
/// again when the nodes configuration changed in between.
/// `first` is the cluster as the caller has just read it, used for the first attempt.
async fn edit(
    api: &dyn AdminApi,
    node_id: u32,
    first: Option<Facts>,
    check: impl Fn(&Facts) -> Result<Option<NodeChange>, Error>,
) -> Result<(), Error> {
    let mut attempt = 0;
    let mut first = first;
    loop {
        attempt += 1;
        let facts = match first.take() {
            Some(facts) => facts,
            None => read_facts(api).await?,
        };
        let Some(change) = check(&facts)? else {
            return Ok(());
        };
        match api.change_node(node_id, &change).await {
            Ok(()) => return Ok(()),
            Err(e @ (client::Error::Conflict { .. } | client::Error::Edit(_)))
                if attempt < EDIT_ATTEMPTS =>
            {
                tracing::info!("N{node_id}: {e}; reading the cluster again");
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Polls `done` (Ok(None) when done, Ok(Some(what is left)) otherwise) until it is done,
/// `timeout` has passed since `started`, or `stop` is requested.
async fn wait_until<F, Fut>(
    stop: Stop,
    name: &str,
    wanted: &str,
    started: Instant,
    timeout: Duration,
    mut done: F,
) -> Result<(), Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, Error>>,
{
    loop {
        let now = match done().await {
            Ok(None) => return Ok(()),
            Ok(Some(now)) => now,
            Err(Error::Client(e)) if e.is_transient() => {
                format!("the cluster could not be read: {e}")
            }
            Err(e) => return Err(e),
        };
        if started.elapsed() >= timeout {
            return Err(Error::NodeNotReady {
                name: name.to_string(),
                waited: whole_seconds(started.elapsed()),
                wanted: wanted.to_string(),
                now,
            });
        }
        tracing::info!("waiting for {name} to be {wanted}: {now}");
        if stop.pause(POLL).await.is_err() {
            return Err(Error::Interrupted {
                waited: whole_seconds(started.elapsed()),
                during: format!("{name} to be {wanted}. Now {now}"),
            });
        }
    }
}

fn ids(set: &[u32]) -> String {
    set.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What still runs on, or is assigned to, node `id`; None when nothing.
async fn still_on_worker(api: &dyn AdminApi, id: u32) -> Result<Option<String>, Error> {
    let sets = api.replica_sets().await?;
    let assigned: Vec<u32> = sets
        .iter()
        .filter(|(_, s)| s.contains(&id))
        .map(|(p, _)| *p)
        .collect();
    let running: Vec<u32> = api
        .controller_state()
        .await?
        .processors
        .iter()
        .filter(|p| p.node_id == id)
        .map(|p| p.partition_id)
        .collect();
    Ok(match (assigned.is_empty(), running.is_empty()) {
        (true, true) => None,
        _ => Some(format!(
            "partitions [{}] still have it in their replica set, [{}] still run there",
            ids(&assigned),
            ids(&running)
        )),
    })
}

/// Sets node `name`'s worker state to `to`; for `draining`, waits until no partition runs there.
pub async fn set_worker_state(
    api: &dyn AdminApi,
    name: &str,
    to: WorkerState,
    timeout: Duration,
) -> Result<(), Error> {
    let started = Instant::now();
    let facts = read_facts(api).await?;
    let id = node_id(&facts, name)?;
    edit(api, id, Some(facts), |facts| {
        lifecycle::check_worker_state(&facts.view(), id, to)?;
        let from = facts
            .node(id)
            .map(|n| n.record.worker_state.clone())
            .unwrap_or_default();
        Ok((WorkerState::reported(&from) != Some(to))
            .then_some(NodeChange::WorkerState { from, to }))
    })
    .await?;
    if to == WorkerState::Draining {
        wait_until(api.stop(), name, "drained", started, timeout, || {
            still_on_worker(api, id)
        })
        .await?;
    }
    Ok(())
}

/// Logs whose tail segment includes node `id`, as `(log, tail segment)`.
fn tails_on(logs: &LogsView, id: u32) -> Vec<(u32, u32)> {
    logs.logs
        .iter()
        .filter(|l| l.nodeset.contains(&id))
        .map(|l| (l.log_id, l.tail_index()))
        .collect()
}

/// Waits until no log's tail segment includes node `id`; the cluster moves a log off a read-only
/// node when it next reconfigures it, and a log that did not move within a grace period is
/// sealed so that it does.
async fn wait_tails_moved(
    api: &dyn AdminApi,
    name: &str,
    id: u32,
    started: Instant,
    timeout: Duration,
) -> Result<(), Error> {
    let asked_after = Instant::now() + SELF_RECONFIGURE_GRACE;
    // A new segment needs its replication spelled out: the cluster's.
    let replication = api
        .stored_config()
        .await?
        .config
        .log_replication
        .unwrap_or(Replication::nodes(1));
    let asked = std::sync::Mutex::new(BTreeSet::new());
    wait_until(
        api.stop(),
        name,
        "off every log's tail segment",
        started,
        timeout,
        || async {
            let tails = tails_on(&api.logs().await?, id);
            if tails.is_empty() {
                return Ok(None);
            }
            if Instant::now() >= asked_after {
                for (log, segment) in &tails {
                    let first = asked
                        .lock()
                        .map(|mut a| a.insert((*log, *segment)))
                        .unwrap_or(false);
                    if first {
                        tracing::info!("asking the cluster to move log {log} off {name}");
                        api.reconfigure_log(*log, *segment, &replication).await?;
                    }
                }
            }
            Ok(Some(format!(
                "logs [{}] still have it in their tail segment",
                ids(&tails.iter().map(|t| t.0).collect::<Vec<_>>())
            )))
        },
    )
    .await
}

/// Sets node `name`'s log-server storage state to `to`; for `read-only`, waits until every log's
/// tail segment has moved off the node.
pub async fn set_storage_state(
    api: &dyn AdminApi,
    name: &str,
    to: StorageState,
    timeout: Duration,
) -> Result<(), Error> {
    let started = Instant::now();
    let facts = read_facts(api).await?;
    let id = node_id(&facts, name)?;
    edit(api, id, Some(facts), |facts| {
        lifecycle::check_storage_state(&facts.view(), id, to)?;
        let from = facts
            .node(id)
            .map(|n| n.record.log_server_storage_state.clone())
            .unwrap_or_default();
        Ok((StorageState::reported(&from) != Some(to))
            .then_some(NodeChange::StorageState { from, to }))
    })
    .await?;
    if to == StorageState::ReadOnly {
        wait_tails_moved(api, name, id, started, timeout).await?;
    }
    Ok(())
}

/// Makes node `name` a member of the metadata servers' group, or not, and waits until the group
/// says so.
pub async fn set_metadata_member(
    api: &dyn AdminApi,
    name: &str,
    member: bool,
    timeout: Duration,
) -> Result<(), Error> {
    let started = Instant::now();
    let facts = read_facts(api).await?;
    let id = node_id(&facts, name)?;
    lifecycle::check_metadata_membership(&facts.view(), id, member)?;
    if facts.metadata.members.contains(&id) == member {
        return Ok(());
    }
    if member {
        api.add_metadata_member(id).await?;
    } else {
        api.remove_metadata_member(id, timeout).await?;
    }
    let wanted = if member {
        "a metadata server member"
    } else {
        "out of the metadata servers"
    };
    wait_until(api.stop(), name, wanted, started, timeout, || async {
        let group = api.metadata_group().await?;
        Ok((group.members.contains(&id) != member).then(|| {
            format!(
                "the members are [{}]",
                ids(&group.members.iter().copied().collect::<Vec<_>>())
            )
        }))
    })
    .await
}

/// Partitions whose log has a segment (before the tail) that includes node `id`: they must be
/// snapshotted and their logs trimmed before the node's records may go.
fn logs_to_trim(logs: &LogsView, id: u32) -> Vec<u32> {
    logs.logs
        .iter()
        .filter(|l| {
            l.segments
                .iter()
                .any(|s| s.index != l.tail_index() && s.nodeset.contains(&id))
        })
        .map(|l| l.log_id)
        .collect()
}

/// Removes node `name` from the cluster, safely: refuses when the cluster would lose data,
/// quorum or the replication it is configured for; otherwise drains its worker, makes its log
/// storage read-only and waits until the logs moved off it, takes it out of the metadata
/// servers, snapshots and trims the logs that still have older segments on it, disables its
/// storage, and finally removes it from the nodes configuration (a running node shuts down
/// when it sees that). Each step waits until the cluster acted on it, all within `timeout`;
/// a step that does not finish in time is the error, and the steps before it stay done.
/// A cluster other than the one with fingerprint `expected` (a twin of the same name) is refused
/// before anything is asked of it, also when it has no node of that name.
pub async fn remove_node(
    api: Arc<dyn AdminApi>,
    name: &str,
    expected: Option<u64>,
    timeout: Duration,
) -> Result<(), Error> {
    let started = Instant::now();
    let left = || timeout.saturating_sub(started.elapsed());
    let facts = read_facts(api.as_ref()).await?;
    check_cluster(api.as_ref(), &facts, expected)?;
    let Some(node) = facts.by_name(name).cloned() else {
        return Ok(()); // Already gone.
    };
    let id = node.record.node_id;
    if let Some(first) = lifecycle::removal_blockers(&facts.view(), &BTreeSet::from([id]))
        .into_iter()
        .next()
    {
        return Err(first.into());
    }
    let record = &node.record;
    if record.has_role(Role::Worker)
        && WorkerState::reported(&record.worker_state) != Some(WorkerState::Disabled)
    {
        set_worker_state(api.as_ref(), name, WorkerState::Draining, left()).await?;
    }
    let log_server = record.has_role(Role::LogServer)
        && StorageState::reported(&record.log_server_storage_state)
            == Some(StorageState::ReadWrite);
    if log_server {
        set_storage_state(api.as_ref(), name, StorageState::ReadOnly, left()).await?;
    }
    if facts.metadata.members.contains(&id) {
        set_metadata_member(api.as_ref(), name, false, left()).await?;
    }
    trim_logs_on(api.clone(), name, id, started, timeout).await?;
    let facts = read_facts(api.as_ref()).await?;
    if facts.node(id).is_some_and(|n| {
        n.record.has_role(Role::LogServer)
            && StorageState::reported(&n.record.log_server_storage_state)
                == Some(StorageState::ReadOnly)
    }) {
        set_storage_state(api.as_ref(), name, StorageState::Disabled, left()).await?;
    }
    edit(api.as_ref(), id, None, |facts| {
        let Some(n) = facts.node(id) else {
            return Ok(None);
        };
        // The last checks restatectl makes too: no metadata membership, no node set.
        lifecycle::check_removable(&facts.view(), n)?;
        Ok(Some(NodeChange::Remove))
    })
    .await
}

/// Snapshots the partitions whose logs have older segments on node `id` and trims their logs to
/// the snapshots, until no segment includes the node.
async fn trim_logs_on(
    api: Arc<dyn AdminApi>,
    name: &str,
    id: u32,
    started: Instant,
    timeout: Duration,
) -> Result<(), Error> {
    // When each partition was last snapshotted and trimmed: the chain drops the trimmed segments
    // a moment after the trim, and is given that moment before the next snapshot.
    let last = std::sync::Mutex::new(std::collections::BTreeMap::<u32, Instant>::new());
    let last = &last;
    wait_until(
        api.stop(),
        name,
        "in no log's node set",
        started,
        timeout,
        || {
            let api = api.clone();
            async move {
                let logs = api.logs().await?;
                let pending = logs_to_trim(&logs, id);
                if pending.is_empty() {
                    return Ok(None);
                }
                let partitions: Vec<u32> = {
                    let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                    let due: Vec<u32> = pending
                        .iter()
                        .copied()
                        .filter(|p| last.get(p).is_none_or(|t| t.elapsed() >= RETRIM_AFTER))
                        .collect();
                    for p in &due {
                        last.insert(*p, Instant::now());
                    }
                    due
                };
                let left = timeout.saturating_sub(started.elapsed());
                let outcome = snapshots::create(api.clone(), &partitions, left).await;
                if let Some(f) = outcome.failed.iter().find(|f| f.not_configured) {
                    return Err(Error::Refused(lifecycle::needs_snapshots(
                        name,
                        f.partition_id,
                    )));
                }
                snapshots::trim(api.as_ref(), &outcome.taken).await?;
                let segments: Vec<(u32, u32)> = logs
                    .logs
                    .iter()
                    .flat_map(|l| {
                        l.segments
                            .iter()
                            .filter(|s| s.nodeset.contains(&id))
                            .map(move |s| (l.log_id, s.index))
                    })
                    .collect();
                Ok(Some(format!(
                    "{} still include it",
                    describe_segments(&segments)
                )))
            }
        },
    )
    .await
}

/// Waits until node `name` may stop for a restart: no node that `others_restarting` names is
/// still coming back, every other node is alive, and the cluster without it keeps its metadata
/// quorum and the replication it is configured for. A node that is not in the cluster may stop
/// at once. A cluster other than the one with fingerprint `expected` (when given) is refused at
/// its first read: its node of that name is another machine.
pub async fn wait_until_may_stop(
    api: &dyn AdminApi,
    name: &str,
    expected: Option<u64>,
    others_restarting: impl Fn() -> Vec<String>,
    timeout: Duration,
) -> Result<(), Error> {
    let started = Instant::now();
    // The cluster is checked at the first read that succeeds, also while others are pending.
    let verified = std::sync::atomic::AtomicBool::new(expected.is_none());
    let verified = &verified;
    wait_until(
        api.stop(),
        name,
        "safe to stop",
        started,
        timeout,
        || async {
            let pending = others_restarting();
            if !verified.load(std::sync::atomic::Ordering::Relaxed) {
                check_cluster(api, &read_facts(api).await?, expected)?;
                verified.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            if !pending.is_empty() {
                return Ok(Some(format!(
                    "{} (stopped by this apply) not back yet",
                    pending.join(", ")
                )));
            }
            let facts = read_facts(api).await?;
            check_cluster(api, &facts, expected)?;
            let Some(id) = facts.by_name(name).map(|n| n.record.node_id) else {
                return Ok(None);
            };
            let dead: Vec<&str> = facts
                .nodes
                .iter()
                .filter(|n| !n.alive && n.record.node_id != id)
                .map(|n| n.record.name.as_str())
                .collect();
            if !dead.is_empty() {
                return Ok(Some(format!("{} not alive", dead.join(", "))));
            }
            Ok(lifecycle::restart_blockers(&facts.view(), id)
                .first()
                .map(ToString::to_string))
        },
    )
    .await
}
