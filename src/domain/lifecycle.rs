//! A node's life in its cluster: the states Restate records for its worker, its log-server
//! storage and its metadata-server membership; which changes of them are safe; and what must hold
//! before a node may leave the cluster.
//!
//! Restate itself checks none of this: the worker and storage states are fields of the nodes
//! configuration that anyone may overwrite, and the metadata server lets a member leave whatever
//! quorum remains. `restatectl` makes its own checks; these are ours, stricter where waiting for
//! the cluster makes it possible (a worker is disabled only once nothing runs on it, not with
//! `--force`).

use std::collections::BTreeSet;
use std::fmt;

use super::cluster::{Log, LogsView, NodeView};
use super::error::{Error, Holder};
use super::log_provider::LogProvider;
use super::replication::Replication;
use super::role::Role;
use super::rules::capacity;

/// A worker's state (`worker_config.worker_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorkerState {
    /// Not started yet; the worker makes itself `active` when it starts.
    Provisioning,
    /// May run partition processors.
    Active,
    /// Gets no new partitions; the cluster controller moves its partitions to active workers.
    Draining,
    /// Runs no partitions and gets none.
    Disabled,
}

impl WorkerState {
    /// The values a user may set.
    pub const SETTABLE: [&'static str; 3] = ["active", "draining", "disabled"];

    pub fn parse(text: &str) -> Result<WorkerState, Error> {
        match text {
            "active" => Ok(WorkerState::Active),
            "draining" => Ok(WorkerState::Draining),
            "disabled" => Ok(WorkerState::Disabled),
            other => Err(Error::UnknownState {
                what: "worker state",
                value: other.to_string(),
                allowed: Self::SETTABLE.join(", "),
            }),
        }
    }

    /// As the nodes configuration spells it; None for a value this provider does not know.
    pub fn reported(text: &str) -> Option<WorkerState> {
        match text {
            "provisioning" => Some(WorkerState::Provisioning),
            other => WorkerState::parse(other).ok(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Provisioning => "provisioning",
            WorkerState::Active => "active",
            WorkerState::Draining => "draining",
            WorkerState::Disabled => "disabled",
        }
    }
}

impl fmt::Display for WorkerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A log server's storage state (`log_server_config.storage_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StorageState {
    /// Not started yet; the log server makes itself `read-write` when it starts.
    Provisioning,
    /// Chosen for new node sets.
    ReadWrite,
    /// Still serves the segments it is in, but is chosen for no new node set.
    ReadOnly,
    /// Its data is gone or incomplete; it refuses to start.
    DataLoss,
    /// Holds nothing the cluster needs; can be decommissioned, and never starts again.
    Disabled,
    /// Like read-only, with its data lost for good.
    Gone,
}

impl StorageState {
    /// The values a user may set.
    pub const SETTABLE: [&'static str; 3] = ["read-write", "read-only", "disabled"];

    pub fn parse(text: &str) -> Result<StorageState, Error> {
        match text {
            "read-write" => Ok(StorageState::ReadWrite),
            "read-only" => Ok(StorageState::ReadOnly),
            "disabled" => Ok(StorageState::Disabled),
            other => Err(Error::UnknownState {
                what: "log-server storage state",
                value: other.to_string(),
                allowed: Self::SETTABLE.join(", "),
            }),
        }
    }

    /// As the nodes configuration spells it; None for a value this provider does not know.
    pub fn reported(text: &str) -> Option<StorageState> {
        match text {
            "provisioning" => Some(StorageState::Provisioning),
            "data-loss" => Some(StorageState::DataLoss),
            "gone" => Some(StorageState::Gone),
            other => StorageState::parse(other).ok(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StorageState::Provisioning => "provisioning",
            StorageState::ReadWrite => "read-write",
            StorageState::ReadOnly => "read-only",
            StorageState::DataLoss => "data-loss",
            StorageState::Disabled => "disabled",
            StorageState::Gone => "gone",
        }
    }
}

impl fmt::Display for StorageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to change about one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeChange {
    /// Set the worker state, which must still be `from`.
    WorkerState { from: String, to: WorkerState },
    /// Set the log-server storage state, which must still be `from`.
    StorageState { from: String, to: StorageState },
    /// Remove the node for good: its entry becomes a tombstone (its id is never used again) and
    /// its name is freed.
    Remove,
}

/// The metadata servers' own view of their group (`MetadataServerSvc.Status`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataGroup {
    /// The members, by node id (from the newest configuration any server reported).
    pub members: BTreeSet<u32>,
    /// The members that answered as members.
    pub answering: BTreeSet<u32>,
    /// The leader, when one is known.
    pub leader: Option<u32>,
}

impl MetadataGroup {
    fn quorum(members: usize) -> usize {
        members / 2 + 1
    }
}

/// Everything a change of one node's lifecycle is judged by: the cluster as it is now.
#[derive(Clone, Debug)]
pub struct NodeFacts<'a> {
    /// Every node, with liveness.
    pub nodes: &'a [NodeView],
    pub logs: &'a LogsView,
    /// The configured replications (None: the server's default of one copy).
    pub partition_replication: Option<Replication>,
    pub log_replication: Option<Replication>,
    /// Partitions by the nodes in their current or next replica set.
    pub replica_sets: &'a [(u32, BTreeSet<u32>)],
    pub metadata: &'a MetadataGroup,
}

impl NodeFacts<'_> {
    fn node(&self, id: u32) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.record.node_id == id)
    }

    /// The nodes that stay when `leaving` leave (or stop taking new work).
    fn staying(&self, leaving: &BTreeSet<u32>) -> Vec<NodeView> {
        self.nodes
            .iter()
            .filter(|n| !leaving.contains(&n.record.node_id))
            .cloned()
            .collect()
    }

    /// Partitions whose replica set includes `id`.
    pub fn partitions_on(&self, id: u32) -> Vec<u32> {
        self.replica_sets
            .iter()
            .filter(|(_, set)| set.contains(&id))
            .map(|(p, _)| *p)
            .collect()
    }

    /// `(log, segment index)` of every segment that may hold `id`'s data.
    pub fn segments_on(&self, id: u32) -> Vec<(u32, u32)> {
        segments_where(self.logs, |s| {
            s.kind == LogProvider::Replicated && s.nodeset.contains(&id)
        })
    }

    /// `(log, segment index)` of every segment of the local loglet, which lives on one node.
    pub fn local_segments(&self) -> Vec<(u32, u32)> {
        segments_where(self.logs, |s| s.kind == LogProvider::Local)
    }
}

fn segments_where(
    logs: &LogsView,
    keep: impl Fn(&super::cluster::Segment) -> bool,
) -> Vec<(u32, u32)> {
    logs.logs
        .iter()
        .flat_map(|l: &Log| {
            l.segments
                .iter()
                .filter(|s| keep(s))
                .map(move |s| (l.log_id, s.index))
        })
        .collect()
}

/// `log 0 (segment 1), log 3 (segments 0, 1)`.
pub fn describe_segments(segments: &[(u32, u32)]) -> String {
    let mut by_log: Vec<(u32, Vec<u32>)> = Vec::new();
    for (log, segment) in segments {
        match by_log.iter_mut().find(|(l, _)| l == log) {
            Some((_, s)) => s.push(*segment),
            None => by_log.push((*log, vec![*segment])),
        }
    }
    by_log
        .iter()
        .map(|(log, s)| {
            let list = s.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
            if s.len() == 1 {
                format!("log {log} (segment {list})")
            } else {
                format!("log {log} (segments {list})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn ids(set: impl IntoIterator<Item = u32>) -> String {
    let v: Vec<String> = set.into_iter().map(|i| format!("N{i}")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn blocked(change: &str, reason: impl Into<String>, fix: impl Into<String>) -> Error {
    Error::Blocked {
        change: change.to_string(),
        reason: reason.into(),
        fix: fix.into(),
    }
}

fn one_copy() -> Replication {
    Replication::nodes(1)
}

/// Whether the nodes that stay can still hold `replication` copies (a refusal naming the change
/// that would leave too few).
fn enough_left(
    change: &str,
    replication: &Replication,
    holder: Holder,
    staying: &[NodeView],
    setting: &str,
) -> Result<(), Error> {
    capacity(replication, holder, staying).map_err(|e| {
        blocked(
            change,
            format!("afterwards, {setting} {e}"),
            format!("add a node that can hold a copy first, or lower {setting}"),
        )
    })
}

/// Whether `node` may go from its worker state to `to`.
pub fn check_worker_state(facts: &NodeFacts, node_id: u32, to: WorkerState) -> Result<(), Error> {
    let node = facts
        .node(node_id)
        .ok_or_else(|| Error::NoSuchNode(format!("N{node_id}")))?;
    let name = &node.record.name;
    let change = format!("setting {name}'s worker state to {to}");
    if !node.record.has_role(Role::Worker) {
        return Err(blocked(
            &change,
            format!("{name} does not have the worker role"),
            "leave worker_state unset on nodes without it",
        ));
    }
    let from = WorkerState::reported(&node.record.worker_state);
    if from == Some(to) {
        return Ok(());
    }
    let unsafe_from = |why: &str, fix: &str| blocked(&change, why.to_string(), fix.to_string());
    match (from, to) {
        (_, WorkerState::Active) | (_, WorkerState::Provisioning) => Ok(()),
        (Some(WorkerState::Active | WorkerState::Provisioning), WorkerState::Draining) => {
            let leaving = BTreeSet::from([node_id]);
            let replication = facts.partition_replication.clone().unwrap_or_else(one_copy);
            enough_left(
                &change,
                &replication,
                Holder::Worker,
                &facts.staying(&leaving),
                "partition_replication",
            )
        }
        (Some(WorkerState::Draining), WorkerState::Disabled) => {
            let still = facts.partitions_on(node_id);
            if still.is_empty() {
                Ok(())
            } else {
                Err(blocked(
                    &change,
                    format!(
                        "partitions {} still have a replica on {name}; disabling it now would drop \
                         that replica before its replacement has caught up",
                        still.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                    ),
                    "wait until the drain has finished (apply waits for it when worker_state is set \
                     to \"draining\"), then disable",
                ))
            }
        }
        (Some(WorkerState::Provisioning), WorkerState::Disabled) => Ok(()),
        (Some(WorkerState::Active), WorkerState::Disabled) => Err(unsafe_from(
            "an active worker may run partitions",
            "set worker_state = \"draining\" and apply first, so its partitions move; then \"disabled\"",
        )),
        (Some(WorkerState::Disabled), WorkerState::Draining) => Err(unsafe_from(
            "a disabled worker runs nothing to drain",
            "set \"active\" to use it again",
        )),
        (None, _) => Err(unsafe_from(
            &format!(
                "its worker state \"{}\" is not one this provider knows",
                node.record.worker_state
            ),
            "change it with restatectl",
        )),
        (Some(_), WorkerState::Draining | WorkerState::Disabled) => Ok(()),
    }
}

/// Whether `node` may go from its storage state to `to`.
pub fn check_storage_state(facts: &NodeFacts, node_id: u32, to: StorageState) -> Result<(), Error> {
    let node = facts
        .node(node_id)
        .ok_or_else(|| Error::NoSuchNode(format!("N{node_id}")))?;
    let name = &node.record.name;
    let change = format!("setting {name}'s log-server storage state to {to}");
    if !node.record.has_role(Role::LogServer) {
        return Err(blocked(
            &change,
            format!("{name} does not have the log-server role"),
            "leave log_server_storage_state unset on nodes without it",
        ));
    }
    let from = StorageState::reported(&node.record.log_server_storage_state);
    if from == Some(to) {
        return Ok(());
    }
    let leaving_rw = || {
        let leaving = BTreeSet::from([node_id]);
        match &facts.log_replication {
            Some(replication) => enough_left(
                &change,
                replication,
                Holder::LogServer,
                &facts.staying(&leaving),
                "log_replication",
            ),
            None => Ok(()),
        }
    };
    match (from, to) {
        (Some(StorageState::ReadWrite), StorageState::ReadOnly) => leaving_rw(),
        (Some(StorageState::ReadOnly), StorageState::ReadWrite) => Ok(()),
        (Some(StorageState::Provisioning), StorageState::Disabled) => Ok(()),
        (Some(StorageState::ReadOnly), StorageState::Disabled) => {
            let held = facts.segments_on(node_id);
            if held.is_empty() {
                Ok(())
            } else {
                Err(blocked(
                    &change,
                    format!(
                        "{name} is in the node set of {}, whose records it may hold",
                        describe_segments(&held)
                    ),
                    "wait until those logs moved off it and were trimmed (remove the node, which \
                     does both, or take snapshots with trim_log = true)",
                ))
            }
        }
        (Some(StorageState::ReadWrite), StorageState::Disabled) => Err(blocked(
            &change,
            "a read-write log server holds the records of the logs it serves",
            "set log_server_storage_state = \"read-only\" and apply first, so the logs move off it",
        )),
        (from, to) => Err(blocked(
            &change,
            format!(
                "Restate does not support {} to {to}",
                from.map_or(node.record.log_server_storage_state.clone(), |s| s
                    .as_str()
                    .to_string())
            ),
            "only read-write ⇄ read-only, and read-only to disabled once the node holds nothing, are \
             safe",
        )),
    }
}

/// Whether `node` may join (`member`) or leave the metadata servers' group.
pub fn check_metadata_membership(
    facts: &NodeFacts,
    node_id: u32,
    member: bool,
) -> Result<(), Error> {
    let node = facts
        .node(node_id)
        .ok_or_else(|| Error::NoSuchNode(format!("N{node_id}")))?;
    let name = &node.record.name;
    let group = facts.metadata;
    let is_member = group.members.contains(&node_id);
    if member {
        let change = format!("adding {name} to the metadata servers");
        if !node.record.has_role(Role::MetadataServer) {
            return Err(blocked(
                &change,
                format!("{name} does not have the metadata-server role"),
                "give it the role (restate_node_config roles) and restart it first",
            ));
        }
        if !is_member && !node.alive {
            return Err(blocked(
                &change,
                format!("{name} is not alive"),
                "start it first",
            ));
        }
        return Ok(());
    }
    if !is_member {
        return Ok(());
    }
    leave_metadata(
        facts,
        &BTreeSet::from([node_id]),
        &format!("removing {name} from the metadata servers"),
    )
}

/// Whether the members in `leaving` may leave the metadata group together.
fn leave_metadata(facts: &NodeFacts, leaving: &BTreeSet<u32>, change: &str) -> Result<(), Error> {
    let group = facts.metadata;
    let going: BTreeSet<u32> = group.members.intersection(leaving).copied().collect();
    if going.is_empty() {
        return Ok(());
    }
    let answering_now = group.answering.intersection(&group.members).count();
    if answering_now < MetadataGroup::quorum(group.members.len()) {
        return Err(blocked(
            change,
            format!(
                "the metadata servers have no quorum now: {answering_now} of {} members ({}) answer, \
                 so the group cannot change",
                group.members.len(),
                ids(group.members.iter().copied())
            ),
            "bring members back first",
        ));
    }
    let remaining: BTreeSet<u32> = group.members.difference(&going).copied().collect();
    if remaining.is_empty() {
        return Err(blocked(
            change,
            format!(
                "{} would leave no metadata server (members: {})",
                ids(going.iter().copied()),
                ids(group.members.iter().copied())
            ),
            "add another node with the metadata-server role first",
        ));
    }
    let answering_after = group.answering.intersection(&remaining).count();
    let quorum = MetadataGroup::quorum(remaining.len());
    if answering_after < quorum {
        return Err(blocked(
            change,
            format!(
                "afterwards {answering_after} of the {} remaining members ({}) answer, below their \
                 quorum of {quorum}: the cluster could no longer read or change its metadata",
                remaining.len(),
                ids(remaining.iter().copied())
            ),
            "bring the members that do not answer back, or add metadata servers, first",
        ));
    }
    Ok(())
}

/// The last checks before `node`'s entry is removed from the nodes configuration (those
/// `restatectl nodes remove` makes): it is no metadata server member, its log storage is not
/// read-write, and no segment of any log includes it.
pub fn check_removable(facts: &NodeFacts, node: &NodeView) -> Result<(), Error> {
    let r = &node.record;
    let change = format!("removing {} from the nodes configuration", r.name);
    if facts.metadata.members.contains(&r.node_id) {
        return Err(blocked(
            &change,
            format!("{} is still a metadata server member", r.name),
            "take it out of the metadata servers first (metadata_server_member = false)",
        ));
    }
    if r.has_role(Role::LogServer)
        && StorageState::reported(&r.log_server_storage_state) == Some(StorageState::ReadWrite)
    {
        return Err(blocked(
            &change,
            format!("{}'s log storage is read-write", r.name),
            "set log_server_storage_state = \"read-only\" first",
        ));
    }
    let held = facts.segments_on(r.node_id);
    if !held.is_empty() {
        return Err(blocked(
            &change,
            format!(
                "{} is in the node set of {}",
                r.name,
                describe_segments(&held)
            ),
            "wait until those logs are trimmed past those segments",
        ));
    }
    Ok(())
}

/// Everything that forbids stopping node `node_id` for a while (a restart, a replacement of its
/// machine that keeps its data): the other nodes alone must keep the metadata quorum and hold
/// the configured replication, or the cluster stops serving until it is back.
pub fn restart_blockers(facts: &NodeFacts, node_id: u32) -> Vec<Error> {
    let name = facts
        .node(node_id)
        .map_or(format!("N{node_id}"), |n| n.record.name.clone());
    let change = format!("stopping {name} for a restart");
    let down = BTreeSet::from([node_id]);
    let mut out = Vec::new();
    let group = facts.metadata;
    if group.members.contains(&node_id) {
        let answering = group
            .answering
            .iter()
            .filter(|m| group.members.contains(m) && **m != node_id)
            .count();
        let quorum = MetadataGroup::quorum(group.members.len());
        if answering < quorum {
            out.push(blocked(
                &change,
                format!(
                    "without it {answering} of the {} metadata servers ({}) answer, below their \
                     quorum of {quorum}",
                    group.members.len(),
                    ids(group.members.iter().copied())
                ),
                "bring the members that do not answer back first, or allow downtime",
            ));
        }
    }
    let staying = facts.staying(&down);
    let replication = facts.partition_replication.clone().unwrap_or_else(one_copy);
    let is = |role| facts.node(node_id).is_some_and(|n| n.record.has_role(role));
    let mut check = |replication: &Replication, holder, setting: &str| {
        if let Err(e) = capacity(replication, holder, &staying) {
            out.push(blocked(
                &change,
                format!("without it, {setting} {e}"),
                "add a node first, or allow downtime",
            ));
        }
    };
    if is(Role::Worker) {
        check(&replication, Holder::Worker, "partition_replication");
    }
    if let (true, Some(r)) = (is(Role::LogServer), &facts.log_replication) {
        check(r, Holder::LogServer, "log_replication");
    }
    out
}

/// Removing `name` needs a snapshot of `partition_id` (to trim the log segments on it), and the
/// cluster has no snapshot repository.
pub fn needs_snapshots(name: &str, partition_id: u32) -> Error {
    blocked(
        &format!("removing {name}"),
        format!(
            "older segments of partition {partition_id}'s log include {name}, and they can only be \
             dropped after a snapshot, but the nodes have no snapshot repository"
        ),
        "configure [worker.snapshots] on the nodes (restate_node_config snapshot_destination) first",
    )
}

/// Everything that forbids `leaving` (node ids) to leave the cluster together, each with what to
/// change first. Empty when the removal is safe: no data would be lost and the cluster keeps
/// its quorum and the replication it is configured for.
pub fn removal_blockers(facts: &NodeFacts, leaving: &BTreeSet<u32>) -> Vec<Error> {
    let names: Vec<String> = leaving
        .iter()
        .map(|id| {
            facts
                .node(*id)
                .map_or(format!("N{id}"), |n| n.record.name.clone())
        })
        .collect();
    let change = format!("removing {}", names.join(" and "));
    let mut out = Vec::new();
    if facts.logs.default_provider != LogProvider::Replicated {
        out.push(blocked(
            &change,
            format!(
                "the cluster's logs use the {} log provider, which keeps each log on one node",
                facts.logs.default_provider
            ),
            "move the cluster to the replicated loglet first (restate_cluster_config log_provider = \
             \"replicated\")",
        ));
    }
    let local = facts.local_segments();
    if !local.is_empty() {
        out.push(blocked(
            &change,
            format!(
                "{} still hold records of the local loglet (from before the move to the replicated \
                 loglet), which live on one node only",
                describe_segments(&local)
            ),
            "trim them first: apply a restate_partition_snapshot with trim_log = true for every \
             partition",
        ));
    }
    if let Err(e) = leave_metadata(facts, leaving, &change) {
        out.push(e);
    }
    let staying = facts.staying(leaving);
    let workers_leave = leaving.iter().any(|id| {
        facts.node(*id).is_some_and(|n| {
            n.record.has_role(Role::Worker)
                && WorkerState::reported(&n.record.worker_state) != Some(WorkerState::Disabled)
        })
    });
    if workers_leave {
        let replication = facts.partition_replication.clone().unwrap_or_else(one_copy);
        if let Err(e) = enough_left(
            &change,
            &replication,
            Holder::Worker,
            &staying,
            "partition_replication",
        ) {
            out.push(e);
        }
    }
    let log_servers_leave = leaving.iter().any(|id| {
        facts.node(*id).is_some_and(|n| {
            n.record.has_role(Role::LogServer)
                && !matches!(
                    StorageState::reported(&n.record.log_server_storage_state),
                    Some(StorageState::Disabled | StorageState::Provisioning)
                )
        })
    });
    if let (true, Some(replication)) = (log_servers_leave, &facts.log_replication) {
        if let Err(e) = enough_left(
            &change,
            replication,
            Holder::LogServer,
            &staying,
            "log_replication",
        ) {
            out.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cluster::{NodeRecord, Segment};
    use crate::domain::location::Location;

    fn node(id: u32, roles: &[Role], alive: bool) -> NodeView {
        NodeView {
            alive,
            record: NodeRecord {
                node_id: id,
                generation: 1,
                name: format!("n{id}"),
                address: format!("http://n{id}:5122/"),
                roles: roles.to_vec(),
                location: Location::reported(""),
                log_server_storage_state: "read-write".into(),
                worker_state: "active".into(),
                metadata_server_state: "member".into(),
                binary_version: "1.7.12".into(),
            },
        }
    }

    fn cluster(n: u32) -> Vec<NodeView> {
        (1..=n).map(|i| node(i, &Role::ALL, true)).collect()
    }

    fn logs(segments: Vec<Vec<Segment>>) -> LogsView {
        LogsView {
            version: 1,
            default_provider: LogProvider::Replicated,
            logs: segments
                .into_iter()
                .enumerate()
                .map(|(i, segments)| {
                    let tail = segments.last().unwrap().clone();
                    Log {
                        log_id: i as u32,
                        provider: tail.kind.clone(),
                        replication: Some(Replication::nodes(2)),
                        nodeset: tail.nodeset.clone(),
                        segments,
                    }
                })
                .collect(),
        }
    }

    fn seg(index: u32, kind: LogProvider, nodeset: &[u32]) -> Segment {
        Segment {
            index,
            base_lsn: u64::from(index) * 10 + 1,
            kind,
            nodeset: nodeset.to_vec(),
        }
    }

    fn group(members: &[u32], answering: &[u32]) -> MetadataGroup {
        MetadataGroup {
            members: members.iter().copied().collect(),
            answering: answering.iter().copied().collect(),
            leader: members.first().copied(),
        }
    }

    struct World {
        nodes: Vec<NodeView>,
        logs: LogsView,
        replica_sets: Vec<(u32, BTreeSet<u32>)>,
        metadata: MetadataGroup,
        replication: u8,
    }

    impl World {
        fn three() -> World {
            World {
                nodes: cluster(3),
                logs: logs(vec![vec![seg(0, LogProvider::Replicated, &[1, 2, 3])]]),
                replica_sets: vec![(0, BTreeSet::from([1, 3])), (1, BTreeSet::from([2, 3]))],
                metadata: group(&[1, 2, 3], &[1, 2, 3]),
                replication: 2,
            }
        }

        fn facts(&self) -> NodeFacts<'_> {
            NodeFacts {
                nodes: &self.nodes,
                logs: &self.logs,
                partition_replication: Some(Replication::nodes(self.replication)),
                log_replication: Some(Replication::nodes(self.replication)),
                replica_sets: &self.replica_sets,
                metadata: &self.metadata,
            }
        }
    }

    fn text(e: &Error) -> String {
        e.to_string()
    }

    #[test]
    fn states_parse_as_restate_spells_them() {
        assert_eq!(
            WorkerState::parse("draining").unwrap(),
            WorkerState::Draining
        );
        assert_eq!(
            WorkerState::reported("provisioning"),
            Some(WorkerState::Provisioning)
        );
        assert!(WorkerState::parse("provisioning").is_err());
        assert!(
            text(&WorkerState::parse("drain").unwrap_err()).contains("active, draining, disabled")
        );
        assert_eq!(
            StorageState::reported("data-loss"),
            Some(StorageState::DataLoss)
        );
        assert!(StorageState::parse("gone").is_err());
        assert_eq!(StorageState::ReadOnly.to_string(), "read-only");
    }

    #[test]
    fn a_worker_drains_only_if_the_others_can_take_its_partitions_and_is_disabled_once_empty() {
        let mut w = World::three();
        assert!(check_worker_state(&w.facts(), 3, WorkerState::Draining).is_ok());
        w.nodes[1].alive = false;
        let e = text(&check_worker_state(&w.facts(), 3, WorkerState::Draining).unwrap_err());
        assert!(
            e.contains("setting n3's worker state to draining is not safe"),
            "{e}"
        );
        assert!(e.contains("lower partition_replication"), "{e}");
        w.nodes[1].alive = true;

        let e = text(&check_worker_state(&w.facts(), 3, WorkerState::Disabled).unwrap_err());
        assert!(e.contains("\"draining\" and apply first"), "{e}");
        w.nodes[2].record.worker_state = "draining".into();
        let e = text(&check_worker_state(&w.facts(), 3, WorkerState::Disabled).unwrap_err());
        assert!(
            e.contains("partitions 0, 1 still have a replica on n3"),
            "{e}"
        );
        w.replica_sets = vec![(0, BTreeSet::from([1, 2])), (1, BTreeSet::from([1, 2]))];
        assert!(check_worker_state(&w.facts(), 3, WorkerState::Disabled).is_ok());
        assert!(check_worker_state(&w.facts(), 3, WorkerState::Active).is_ok());
        w.nodes[2].record.roles = vec![Role::LogServer];
        let e = text(&check_worker_state(&w.facts(), 3, WorkerState::Draining).unwrap_err());
        assert!(e.contains("does not have the worker role"), "{e}");
    }

    #[test]
    fn storage_goes_read_only_if_the_others_can_hold_the_logs_and_disabled_once_it_holds_nothing() {
        let mut w = World::three();
        assert!(check_storage_state(&w.facts(), 3, StorageState::ReadOnly).is_ok());
        w.replication = 3;
        let e = text(&check_storage_state(&w.facts(), 3, StorageState::ReadOnly).unwrap_err());
        assert!(e.contains("lower log_replication"), "{e}");
        w.replication = 2;
        let e = text(&check_storage_state(&w.facts(), 3, StorageState::Disabled).unwrap_err());
        assert!(e.contains("\"read-only\" and apply first"), "{e}");
        w.nodes[2].record.log_server_storage_state = "read-only".into();
        let e = text(&check_storage_state(&w.facts(), 3, StorageState::Disabled).unwrap_err());
        assert!(e.contains("node set of log 0 (segment 0)"), "{e}");
        w.logs = logs(vec![vec![
            seg(0, LogProvider::Other("sealed".into()), &[]),
            seg(1, LogProvider::Replicated, &[1, 2]),
        ]]);
        assert!(check_storage_state(&w.facts(), 3, StorageState::Disabled).is_ok());
        w.nodes[2].record.log_server_storage_state = "data-loss".into();
        let e = text(&check_storage_state(&w.facts(), 3, StorageState::ReadWrite).unwrap_err());
        assert!(
            e.contains("does not support data-loss to read-write"),
            "{e}"
        );
    }

    #[test]
    fn a_metadata_member_leaves_only_if_a_quorum_stays() {
        let mut w = World::three();
        assert!(check_metadata_membership(&w.facts(), 3, false).is_ok());
        w.metadata = group(&[1, 2, 3], &[1, 3]);
        let e = text(&check_metadata_membership(&w.facts(), 3, false).unwrap_err());
        assert!(
            e.contains("1 of the 2 remaining members (N1, N2) answer, below their quorum of 2"),
            "{e}"
        );
        w.metadata = group(&[1, 2, 3], &[3]);
        let e = text(&check_metadata_membership(&w.facts(), 3, false).unwrap_err());
        assert!(e.contains("have no quorum now: 1 of 3"), "{e}");
        w.metadata = group(&[3], &[3]);
        let e = text(&check_metadata_membership(&w.facts(), 3, false).unwrap_err());
        assert!(e.contains("would leave no metadata server"), "{e}");
        // Not a member: nothing to leave. Joining needs the role.
        w.metadata = group(&[1, 2], &[1, 2]);
        assert!(check_metadata_membership(&w.facts(), 3, false).is_ok());
        assert!(check_metadata_membership(&w.facts(), 3, true).is_ok());
        w.nodes[2].record.roles = vec![Role::Worker];
        let e = text(&check_metadata_membership(&w.facts(), 3, true).unwrap_err());
        assert!(e.contains("does not have the metadata-server role"), "{e}");
    }

    #[test]
    fn removal_is_refused_for_what_would_lose_data_quorum_or_replication() {
        let w = World::three();
        assert_eq!(removal_blockers(&w.facts(), &BTreeSet::from([3])), vec![]);
        // Two at once: each alone is fine, together they leave too few for the replication
        // (one metadata server is still a quorum of one).
        let both = removal_blockers(&w.facts(), &BTreeSet::from([2, 3]));
        let all: Vec<String> = both.iter().map(text).collect();
        assert_eq!(all.len(), 2, "{all:#?}");
        assert!(all[0].starts_with("removing n2 and n3 is not safe: afterwards, partition_replication 2 needs 2 nodes among the alive nodes with the worker role, but the cluster has 1"), "{all:#?}");
        assert!(
            all[1].contains(
                "log_replication 2 needs 2 nodes among the alive nodes with the log-server role"
            ),
            "{all:#?}"
        );
        // With one member not answering, the two that leave would take the quorum with them.
        let mut w = World::three();
        w.replication = 1;
        w.metadata = group(&[1, 2, 3, 4, 5], &[1, 2, 3]);
        let all: Vec<String> = removal_blockers(&w.facts(), &BTreeSet::from([2, 3]))
            .iter()
            .map(text)
            .collect();
        assert_eq!(all.len(), 1, "{all:#?}");
        assert!(
            all[0].contains(
                "1 of the 3 remaining members (N1, N4, N5) answer, below their quorum of 2"
            ),
            "{all:#?}"
        );

        let mut w = World::three();
        w.logs = logs(vec![vec![
            seg(0, LogProvider::Local, &[]),
            seg(1, LogProvider::Replicated, &[1, 2]),
        ]]);
        let e: Vec<String> = removal_blockers(&w.facts(), &BTreeSet::from([3]))
            .iter()
            .map(text)
            .collect();
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(
            e[0].contains("log 0 (segment 0) still hold records of the local loglet"),
            "{e:#?}"
        );
        assert!(e[0].contains("trim_log = true"), "{e:#?}");

        let mut w = World::three();
        w.logs.default_provider = LogProvider::Local;
        assert!(text(&removal_blockers(&w.facts(), &BTreeSet::from([3]))[0])
            .contains("local log provider"));

        // A dead node can be removed (replacing a failed node) as long as the rest holds.
        let mut w = World::three();
        w.nodes[2].alive = false;
        w.metadata = group(&[1, 2, 3], &[1, 2]);
        assert_eq!(removal_blockers(&w.facts(), &BTreeSet::from([3])), vec![]);
    }

    #[test]
    fn segments_are_described_per_log() {
        assert_eq!(
            describe_segments(&[(0, 1), (3, 0), (3, 1)]),
            "log 0 (segment 1), log 3 (segments 0, 1)"
        );
    }
}
