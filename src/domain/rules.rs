//! Restate's rules, each once: which configuration changes the server can make, what the nodes can
//! hold, when logs have moved, when a node is there as wanted, and what a node's configuration must
//! not say. Plan time and apply time call the same functions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::cluster::{
    ClusterConfig, ClusterView, DesiredConfig, Log, LogsView, NodeView, Processor,
};
use super::endpoint::Endpoint;
use super::error::{Error, Holder};
use super::log_provider::LogProvider;
use super::replication::{Replication, Scope};
use super::role::Role;
use super::version::Version;

pub const MAX_NODESET_SIZE: i64 = 128;

// --- the cluster configuration ----------------------------------------------------------------

/// Restate moves logs from `local` to `replicated`, never back.
pub fn check_provider_change(
    cluster_name: &str,
    current: &LogProvider,
    requested: &LogProvider,
) -> Result<(), Error> {
    if *current == LogProvider::Replicated && *requested != LogProvider::Replicated {
        return Err(Error::ProviderDowngrade {
            cluster_name: cluster_name.to_string(),
            requested: requested.to_string(),
        });
    }
    Ok(())
}

/// Restate cannot repartition a provisioned cluster.
pub fn check_num_partitions(
    cluster_name: &str,
    current: u32,
    requested: Option<u32>,
) -> Result<(), Error> {
    match requested {
        Some(n) if n != current => Err(Error::NumPartitionsFixed {
            cluster_name: cluster_name.to_string(),
            current,
            requested: n,
        }),
        _ => Ok(()),
    }
}

pub fn num_partitions(n: i64) -> Result<u32, Error> {
    u16::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .map(u32::from)
        .ok_or(Error::NumPartitionsOutOfRange(n))
}

pub fn nodeset_size(n: i64) -> Result<u32, Error> {
    u32::try_from(n)
        .ok()
        .filter(|n| i64::from(*n) <= MAX_NODESET_SIZE)
        .ok_or(Error::NodesetSizeOutOfRange(n))
}

pub fn partition_id(n: i64) -> Result<u32, Error> {
    u16::try_from(n)
        .map(u32::from)
        .map_err(|_| Error::PartitionIdOutOfRange(n))
}

/// A setting that exists only with the replicated provider (`setting` names it).
pub fn replicated_only(provider: &LogProvider, setting: &'static str) -> Result<(), Error> {
    match provider {
        LogProvider::Replicated => Ok(()),
        _ => Err(Error::ReplicatedOnly(setting)),
    }
}

/// The full object to send: current values, overridden by what is desired.
pub fn merge(current: &ClusterConfig, desired: &DesiredConfig) -> ClusterConfig {
    let replicated = desired.log_provider == LogProvider::Replicated;
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
            .or_else(|| replicated.then(|| Replication::nodes(1))),
        log_nodeset_size: desired.log_nodeset_size.unwrap_or(current.log_nodeset_size),
    }
}

/// True when sending `next` would change nothing on the server.
pub fn unchanged(current: &ClusterConfig, next: &ClusterConfig) -> bool {
    current.log_provider == next.log_provider
        && current.log_replication == next.log_replication
        && current.partition_replication == next.partition_replication
        && current.log_nodeset_size == next.log_nodeset_size
}

/// The request to send: what `desired` sets, with the log provider's settings completed from
/// `current` (the server replaces them as a whole), and the partition replication left unset
/// unless desired (the server then keeps its own, also when someone changed it meanwhile).
pub fn request(current: &ClusterConfig, desired: &DesiredConfig) -> ClusterConfig {
    ClusterConfig {
        partition_replication: desired.partition_replication.clone(),
        ..merge(current, desired)
    }
}

/// Something a plan should say before it is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Advice {
    /// Creating the resource changes a value the cluster already has.
    LiveValueChanges {
        setting: &'static str,
        from: String,
        to: String,
    },
    /// Fewer copies than the cluster keeps now.
    Lowers {
        setting: &'static str,
        from: String,
        to: String,
    },
    /// As many copies as there are nodes that can hold one: no node may fail.
    NoFailureTolerance {
        setting: &'static str,
        replication: String,
        eligible: usize,
    },
    /// A snapshot destination whose prefix does not name the cluster.
    SharedSnapshotPrefix {
        destination: String,
        cluster_name: String,
        /// The same bucket with a prefix that names the cluster.
        suggested: String,
    },
    /// A base config key spelled with `_`, which `restate.toml` and `RESTATE_*` give different
    /// meanings.
    UnderscoredKey {
        /// The key's path, dotted, as written.
        key: String,
        /// The path Restate reads from the environment: `_` as `-`.
        dashed: String,
    },
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Advice::LiveValueChanges { setting, from, to } => {
                write!(f, "{setting} changes from {from} (the cluster's current value) to {to}")
            }
            Advice::Lowers { setting, from, to } => write!(
                f,
                "{setting} goes down from {from} to {to}: fewer copies, so fewer node failures are tolerated"
            ),
            Advice::NoFailureTolerance {
                setting,
                replication,
                eligible,
            } => write!(
                f,
                "{setting} {replication} asks for a copy on each of the {eligible} nodes that can hold one: \
                 while any of them is down, new data cannot reach its replication"
            ),
            Advice::SharedSnapshotPrefix {
                destination,
                cluster_name,
                ..
            } => write!(
                f,
                "the prefix of {destination} does not name cluster \"{cluster_name}\": a repository \
                 shared with a cluster of another name makes its nodes refuse the snapshots (they \
                 record the other cluster's fingerprint)"
            ),
            Advice::UnderscoredKey { key, dashed } => write!(
                f,
                "Restate spells its configuration keys with dashes: in the rendered restate.toml, \
                 `{key}` is a key Restate does not know and ignores, while in `environment` it \
                 becomes a variable Restate reads as `{dashed}`"
            ),
        }
    }
}

/// Restate reads `restate.toml` keys as written and `RESTATE_*` variables with `_` turned into
/// `-`; its keys have no `_`. A base config key with `_` (at `path`, from the root) therefore means
/// nothing in the file but something in the environment: worth a warning, whose fix is to write
/// it with dashes. (The variable names cannot keep it apart: `_` is what `-` becomes in them.)
pub fn base_config_key(path: &[String]) -> Option<Advice> {
    let key = path.last()?;
    key.contains('_').then(|| Advice::UnderscoredKey {
        key: path.join("."),
        dashed: path
            .iter()
            .map(|k| k.replace('_', "-").to_lowercase())
            .collect::<Vec<_>>()
            .join("."),
    })
}

/// The settings `desired` changes on `current`: (setting, from, to, lowers).
fn changes(
    current: &ClusterConfig,
    desired: &DesiredConfig,
) -> Vec<(&'static str, String, String, bool)> {
    let show = |r: &Option<Replication>| r.as_ref().map_or("-".to_string(), Replication::canonical);
    let mut out = Vec::new();
    if current.log_provider != desired.log_provider {
        out.push((
            "log_provider",
            current.log_provider.to_string(),
            desired.log_provider.to_string(),
            false,
        ));
    }
    for (setting, cur, want) in [
        (
            "log_replication",
            &current.log_replication,
            &desired.log_replication,
        ),
        (
            "partition_replication",
            &current.partition_replication,
            &desired.partition_replication,
        ),
    ] {
        if let Some(w) = want {
            if cur.as_ref() != Some(w) {
                let lowers = cur.as_ref().is_some_and(|c| w.lower_than(c));
                out.push((setting, show(cur), w.canonical(), lowers));
            }
        }
    }
    if let Some(n) = desired.log_nodeset_size {
        if n != current.log_nodeset_size {
            out.push((
                "log_nodeset_size",
                current.log_nodeset_size.to_string(),
                n.to_string(),
                false,
            ));
        }
    }
    out
}

/// What a plan should say about changing `current` to `desired`: each lowered replication, and,
/// when the resource is created on a cluster that already runs (`creating`), every live value it
/// changes. Lowering a replication on create is refused instead (see [`check_create`]).
pub fn advice(current: &ClusterConfig, desired: &DesiredConfig, creating: bool) -> Vec<Advice> {
    changes(current, desired)
        .into_iter()
        .map(|(setting, from, to, lowers)| match (creating, lowers) {
            (false, true) => Advice::Lowers { setting, from, to },
            _ => Advice::LiveValueChanges { setting, from, to },
        })
        .filter(|a| creating || matches!(a, Advice::Lowers { .. }))
        .collect()
}

/// A write of `desired` must not undo a change someone made since the configuration was seen as
/// `expected` (by the plan, or earlier in this apply): refused when a setting the write sets
/// moved from `expected` to a value other than the one it would write. (A setting the user does
/// not set is taken from the cluster as read just before the write, so it is never undone.)
pub fn check_unchanged_since(
    expected: &ClusterConfig,
    current: &ClusterConfig,
    desired: &DesiredConfig,
) -> Result<(), Error> {
    let show = |r: &Option<Replication>| r.as_ref().map_or("-".to_string(), Replication::canonical);
    let mut moved = Vec::new();
    if expected.log_provider != current.log_provider && desired.log_provider != current.log_provider
    {
        moved.push((
            "log_provider",
            expected.log_provider.to_string(),
            current.log_provider.to_string(),
        ));
    }
    for (setting, was, now, want) in [
        (
            "log_replication",
            &expected.log_replication,
            &current.log_replication,
            &desired.log_replication,
        ),
        (
            "partition_replication",
            &expected.partition_replication,
            &current.partition_replication,
            &desired.partition_replication,
        ),
    ] {
        if want.is_some() && was != now && want != now {
            moved.push((setting, show(was), show(now)));
        }
    }
    if let Some(n) = desired.log_nodeset_size {
        let (was, now) = (expected.log_nodeset_size, current.log_nodeset_size);
        if was != now && n != now {
            moved.push(("log_nodeset_size", was.to_string(), now.to_string()));
        }
    }
    if moved.is_empty() {
        return Ok(());
    }
    Err(Error::ConfigChangedDuringApply {
        what: moved
            .iter()
            .map(|(setting, was, now)| format!("{setting} was {was} when checked and is {now} now"))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Creating the resource on a running cluster must not lower its replication unseen: that is
/// refused unless `allowed` (the user says so explicitly, or imports the resource first).
pub fn check_create(
    cluster_name: &str,
    current: &ClusterConfig,
    desired: &DesiredConfig,
    allowed: bool,
) -> Result<(), Error> {
    match changes(current, desired).into_iter().find(|c| c.3) {
        Some((setting, from, to, _)) if !allowed => Err(Error::LowersOnCreate {
            cluster_name: cluster_name.to_string(),
            setting,
            current: from,
            desired: to,
        }),
        _ => Ok(()),
    }
}

/// Replications a change sets (those that differ from `current`, every one without it) that
/// leave no failure tolerance: as many copies as nodes that can hold one.
pub fn failure_tolerance(
    current: Option<&ClusterConfig>,
    next: &ClusterConfig,
    nodes: &[NodeView],
) -> Vec<Advice> {
    let mut out = Vec::new();
    for (setting, r, before, holder) in [
        (
            "log_replication",
            &next.log_replication,
            current.map(|c| &c.log_replication),
            Holder::LogServer,
        ),
        (
            "partition_replication",
            &next.partition_replication,
            current.map(|c| &c.partition_replication),
            Holder::Worker,
        ),
    ] {
        let Some(r) = r else { continue };
        if before.is_some_and(|b| b.as_ref() == Some(r)) {
            continue;
        }
        let eligible = nodes.iter().filter(|n| holder.holds(n)).count();
        if usize::from(r.copies()) == eligible && eligible > 0 {
            out.push(Advice::NoFailureTolerance {
                setting,
                replication: r.canonical(),
                eligible,
            });
        }
    }
    out
}

/// The cluster reached must be the one recorded (same fingerprint), whatever its name.
pub fn check_fingerprint(
    expected: Option<u64>,
    endpoint: &str,
    cluster_name: &str,
    actual: u64,
) -> Result<(), Error> {
    match expected {
        Some(e) if e != actual => Err(Error::OtherCluster {
            endpoint: endpoint.to_string(),
            cluster_name: cluster_name.to_string(),
            expected: e.to_string(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}

// --- capacity ---------------------------------------------------------------------------------

impl Holder {
    fn holds(self, n: &NodeView) -> bool {
        match self {
            Holder::LogServer => {
                n.alive
                    && n.record.has_role(Role::LogServer)
                    && n.record.log_server_storage_state == "read-write"
            }
            Holder::Worker => {
                n.alive
                    && n.record.has_role(Role::Worker)
                    && !matches!(n.record.worker_state.as_str(), "draining" | "disabled")
            }
        }
    }
}

/// Whether the nodes that can hold a copy satisfy every scope of `replication`. Restate accepts
/// any replication without checking; one the nodes cannot satisfy never takes effect (1.7) or makes
/// the cluster unavailable (older servers).
pub fn capacity(
    replication: &Replication,
    holder: Holder,
    nodes: &[NodeView],
) -> Result<(), Error> {
    let eligible: Vec<&NodeView> = nodes.iter().filter(|n| holder.holds(n)).collect();
    let distinct = |it: &mut dyn Iterator<Item = &str>| it.collect::<BTreeSet<_>>().len();
    let mut needs: Vec<(Scope, u8)> = vec![(Scope::Node, replication.copies())];
    needs.extend(replication.scopes().filter(|(s, _)| *s != Scope::Node));
    for (scope, required) in needs {
        let available = match scope {
            Scope::Node => eligible.len(),
            Scope::Zone => distinct(&mut eligible.iter().filter_map(|n| n.record.location.zone())),
            Scope::Region => {
                distinct(&mut eligible.iter().filter_map(|n| n.record.location.region()))
            }
        };
        if available < usize::from(required) {
            return Err(Error::Capacity {
                holder,
                replication: replication.canonical(),
                scope,
                required,
                available,
                qualifying: eligible
                    .iter()
                    .map(|n| format!("{} (N{})", n.record.name, n.record.node_id))
                    .collect(),
            });
        }
    }
    Ok(())
}

/// The replications a change from `current` to `next` asks the nodes to hold: those that change.
pub fn capacity_needed(
    current: &ClusterConfig,
    next: &ClusterConfig,
) -> Vec<(Replication, Holder)> {
    let mut out = Vec::new();
    let log_changes = current.log_provider != next.log_provider
        || current.log_replication != next.log_replication;
    if let (LogProvider::Replicated, true, Some(r)) =
        (&next.log_provider, log_changes, &next.log_replication)
    {
        out.push((r.clone(), Holder::LogServer));
    }
    if current.partition_replication != next.partition_replication {
        if let Some(r) = &next.partition_replication {
            out.push((r.clone(), Holder::Worker));
        }
    }
    out
}

// --- logs -------------------------------------------------------------------------------------

/// A log whose tail does not yet run on the configured provider and replication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingLog {
    /// Restate creates a partition's log when the partition first starts.
    NotCreated {
        existing: usize,
        expected: u32,
    },
    Behind(Log),
}

impl fmt::Display for PendingLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PendingLog::NotCreated { existing, expected } => {
                write!(f, "only {existing} of {expected} logs exist yet")
            }
            PendingLog::Behind(l) => match &l.replication {
                Some(r) => write!(f, "log {} is on {} {r}", l.log_id, l.provider),
                None => write!(f, "log {} is on {}", l.log_id, l.provider),
            },
        }
    }
}

/// The logs that have not reached `config` yet.
pub fn pending_logs(logs: &LogsView, config: &ClusterConfig) -> Vec<PendingLog> {
    let replication = match config.log_provider {
        LogProvider::Replicated => config.log_replication.as_ref(),
        _ => None,
    };
    let matches = |l: &Log| {
        l.provider == config.log_provider
            && (replication.is_none() || l.replication.as_ref() == replication)
    };
    let missing =
        (logs.logs.len() < config.num_partitions as usize).then_some(PendingLog::NotCreated {
            existing: logs.logs.len(),
            expected: config.num_partitions,
        });
    missing
        .into_iter()
        .chain(
            logs.logs
                .iter()
                .filter(|l| !matches(l))
                .cloned()
                .map(PendingLog::Behind),
        )
        .collect()
}

/// The ids of the logs not yet on `config` (a log not created yet counts, by its partition's id).
pub fn pending_log_ids(logs: &LogsView, config: &ClusterConfig) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..config.num_partitions)
        .filter(|id| !logs.logs.iter().any(|l| l.log_id == *id))
        .collect();
    ids.extend(pending_logs(logs, config).iter().filter_map(|p| match p {
        PendingLog::Behind(l) => Some(l.log_id),
        PendingLog::NotCreated { .. } => None,
    }));
    ids.sort_unstable();
    ids.dedup();
    ids
}

// --- snapshots --------------------------------------------------------------------------------

/// Where to trim a partition's log after a snapshot at `snapshot_lsn`: up to the snapshot, but
/// never past what a running replica has applied (`replicas`, None when a replica does not say),
/// since a replica behind the trim point could not catch up from the log. None: leave the log.
pub fn trim_point(snapshot_lsn: u64, replicas: &[Option<u64>]) -> Option<u64> {
    let behind = replicas.iter().map(|r| r.unwrap_or(0)).min();
    let point = behind.map_or(snapshot_lsn, |b| b.min(snapshot_lsn));
    (point > 0).then_some(point)
}

/// How far the provider's clock and a node's may disagree before a status taken before a snapshot
/// could look newer than it.
pub const CLOCK_SKEW_MS: u64 = 5_000;

/// The node that took each snapshot: for each (partition, snapshot LSN), the node of a replica
/// that reports that LSN (or a later one) as archived, the leader first. A partition none reports
/// yet (the controller hears of it a moment later) has none.
pub fn snapshot_takers(taken: &[(u32, u64)], processors: &[Processor]) -> BTreeMap<u32, u32> {
    taken
        .iter()
        .filter_map(|&(pid, lsn)| {
            let knows =
                |p: &&Processor| p.partition_id == pid && p.archived_lsn.is_some_and(|a| a >= lsn);
            processors
                .iter()
                .filter(knows)
                .find(|p| p.leader)
                .or_else(|| processors.iter().find(knows))
                .map(|p| (pid, p.node_id))
        })
        .collect()
}

/// Whether a partition's latest snapshot still covers `recorded_lsn`, taken at `taken_at_ms` by
/// node `taker`, judging by its replicas' status. A replica knows only the snapshots it took or
/// read from the repository, so only the node that took the snapshot can say it is gone:
/// Some(false) when that node, in a status clearly newer than the snapshot, reports an archived
/// LSN below it (it read the repository again, after a restart, and found an older snapshot: the
/// repository was rolled back or replaced). Some(true) when any replica reports an archived LSN at
/// or above it. None when that cannot be told: the taker is unknown or no longer runs the
/// partition, its status is not clearly newer (the controller's view lags), or it reports no
/// archived LSN, as after any restart until it reads the repository again. Another replica's
/// older archived LSN says nothing: a leader that took over (after a failover, or a node cut off
/// and back) reports its own older snapshot.
pub fn snapshot_still_covers(
    recorded_lsn: u64,
    taken_at_ms: u64,
    taker: Option<u32>,
    processors: &[&Processor],
) -> Option<bool> {
    if processors
        .iter()
        .any(|p| p.archived_lsn.is_some_and(|a| a >= recorded_lsn))
    {
        return Some(true);
    }
    let taker = taker?;
    let replica = processors.iter().find(|p| p.node_id == taker)?;
    if replica.updated_at_ms? <= taken_at_ms.saturating_add(CLOCK_SKEW_MS) {
        return None;
    }
    replica.archived_lsn.map(|a| a >= recorded_lsn)
}

// --- nodes ------------------------------------------------------------------------------------

/// How a node should be: alive, with exactly these roles (if given) and this version (if given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeWant {
    pub name: String,
    pub roles: Option<BTreeSet<Role>>,
    pub version: Option<Version>,
}

/// Whether a node is there as wanted (not an error: waiting is normal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness<'v> {
    Ready(&'v NodeView),
    /// Not yet: what the cluster reports about it now.
    Waiting(String),
}

/// Whether the node is there as wanted; an [`Error`] when waiting would not help, as things
/// stand.
pub fn node_readiness<'v>(view: &'v ClusterView, want: &NodeWant) -> Result<Readiness<'v>, Error> {
    let not_yet = || Ok(Readiness::Waiting(view.describe_node(&want.name)));
    let Some(node) = view.node(&want.name) else {
        return not_yet();
    };
    if !node.alive {
        return not_yet();
    }
    if want
        .roles
        .as_ref()
        .is_some_and(|r| *r != node.record.role_set())
    {
        return not_yet();
    }
    // A role still provisioning is not usable yet (a log server takes writes once read-write).
    let r = &node.record;
    if (r.has_role(Role::LogServer) && r.log_server_storage_state == "provisioning")
        || (r.has_role(Role::Worker) && r.worker_state == "provisioning")
    {
        return not_yet();
    }
    if let Some(v) = &want.version {
        match r.version() {
            // Alive with its roles, and no version reported: a node before 1.6 never will.
            None => {
                return Err(Error::VersionUnknown {
                    node: want.name.clone(),
                    why: "expected_version cannot be verified",
                })
            }
            Some(reported) if !v.matches(&reported) => return not_yet(),
            Some(_) => {}
        }
    }
    Ok(Readiness::Ready(node))
}

/// The nodes' names and versions, for the upgrade rule.
pub fn running_versions(view: &ClusterView) -> Vec<(String, Option<Version>)> {
    view.nodes
        .iter()
        .map(|n| (n.record.name.clone(), n.record.version()))
        .collect()
}

// --- a node's configuration -------------------------------------------------------------------

/// `bind-address`: an IP and a port, like `0.0.0.0:5122`.
pub fn bind_address(text: &str) -> Result<std::net::SocketAddr, Error> {
    text.parse()
        .map_err(|_| Error::InvalidBindAddress(text.to_string()))
}

/// The snapshot destination's scheme must be one `version` accepts, with a bucket.
pub fn snapshot_destination(version: &Version, text: &str) -> Result<(), Error> {
    let allowed = version.snapshot_schemes();
    let list = allowed
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(", ");
    let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme {
        Some(s) if allowed.contains(&s.as_str()) => {
            let rest = text.get(s.len() + 3..).unwrap_or_default();
            if rest.is_empty() || (rest.starts_with('/') && s != "file") {
                Err(Error::SnapshotNoBucket {
                    value: text.to_string(),
                    scheme: s,
                })
            } else {
                Ok(())
            }
        }
        Some(s) if s == "file" => Err(Error::SnapshotFileScheme {
            version: *version,
            allowed: list,
        }),
        _ => Err(Error::SnapshotScheme {
            value: text.to_string(),
            version: *version,
            allowed: list,
        }),
    }
}

/// Only a node whose metadata client points at nobody but itself may auto-provision: a node that
/// lists other metadata servers provisions a cluster of its own when it starts before it sees
/// theirs, so nodes started together (every one listing every seed, the usual layout) can
/// provision one cluster each, all of the same name.
pub fn auto_provision(
    auto_provision: bool,
    advertised_address: Option<&str>,
    metadata_client_addresses: Option<&[String]>,
) -> Result<(), Error> {
    let Some(addrs) = metadata_client_addresses.filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    if !auto_provision {
        return Ok(());
    }
    let own = advertised_address.and_then(|a| Endpoint::parse(a).ok());
    let others: Vec<&String> = addrs
        .iter()
        .filter(|a| own.is_none() || Endpoint::parse(a).ok() != own)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    Err(Error::JoiningNodeAutoProvision {
        addresses: others
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// A node's snapshot repository settings (`[worker.snapshots]`), as the user wrote them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotSettings<'a> {
    pub destination: Option<&'a str>,
    pub aws_endpoint_url: Option<&'a str>,
    pub aws_allow_http: Option<bool>,
    pub aws_access_key_id: Option<&'a str>,
    pub aws_secret_access_key: Option<&'a str>,
    pub aws_session_token: Option<&'a str>,
    pub aws_profile: Option<&'a str>,
}

/// The settings that cannot work together, each with the setting it is about.
pub fn snapshot_settings(s: &SnapshotSettings) -> Vec<(&'static str, Error)> {
    let mut out = Vec::new();
    if let Some(url) = s.aws_endpoint_url {
        match url.split_once("://").map(|(scheme, _)| scheme) {
            Some("http") if s.aws_allow_http != Some(true) => out.push((
                "aws_endpoint_url",
                Error::SnapshotStore(format!(
                    "\"{url}\" is plain HTTP, which the store client refuses unless aws-allow-http is set"
                )),
            )),
            Some("http") | Some("https") => {}
            _ => out.push((
                "aws_endpoint_url",
                Error::SnapshotStore(format!(
                    "\"{url}\" is not an http:// or https:// URL (for example http://10.0.0.5:9000)"
                )),
            )),
        }
    }
    match (s.aws_access_key_id, s.aws_secret_access_key) {
        (Some(_), None) => out.push((
            "aws_access_key_id",
            Error::SnapshotStore("an access key id needs its secret access key".into()),
        )),
        (None, Some(_)) => out.push((
            "aws_secret_access_key",
            Error::SnapshotStore("a secret access key needs its access key id".into()),
        )),
        _ => {}
    }
    if s.aws_session_token.is_some() && s.aws_access_key_id.is_none() {
        out.push((
            "aws_session_token",
            Error::SnapshotStore(
                "a session token goes with the temporary access key id and secret it belongs to"
                    .into(),
            ),
        ));
    }
    if s.aws_profile.is_some() && s.aws_access_key_id.is_some() {
        out.push((
            "aws_profile",
            Error::SnapshotStore(
                "static keys and a profile exclude each other: the store would use only one of them"
                    .into(),
            ),
        ));
    }
    out
}

/// A snapshot destination shared by clusters of different names fails the second cluster's nodes
/// (the repository records the first cluster's fingerprint): the prefix should name the cluster.
pub fn snapshot_prefix_names_cluster(destination: &str, cluster_name: &str) -> Option<Advice> {
    let (scheme, path) = destination.split_once("://")?;
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    let prefix = prefix.trim_end_matches('/');
    let suggested = if prefix.is_empty() {
        format!("{scheme}://{bucket}/{cluster_name}")
    } else {
        format!("{scheme}://{bucket}/{prefix}/{cluster_name}")
    };
    (!prefix.split('/').any(|part| part == cluster_name)).then(|| Advice::SharedSnapshotPrefix {
        destination: destination.to_string(),
        cluster_name: cluster_name.to_string(),
        suggested,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cluster::NodeRecord;
    use crate::domain::location::Location;

    fn r(s: &str) -> Replication {
        s.parse().unwrap()
    }

    fn node(id: u32, roles: &[Role], storage: &str, location: &str, alive: bool) -> NodeView {
        NodeView {
            alive,
            record: NodeRecord {
                node_id: id,
                generation: 1,
                name: format!("n{id}"),
                address: String::new(),
                roles: roles.to_vec(),
                location: Location::reported(location),
                log_server_storage_state: storage.into(),
                worker_state: "active".into(),
                metadata_server_state: "member".into(),
                binary_version: "1.7.12".into(),
            },
        }
    }

    fn local() -> ClusterConfig {
        ClusterConfig {
            num_partitions: 4,
            partition_replication: Some(r("1")),
            log_provider: LogProvider::Local,
            log_replication: None,
            log_nodeset_size: 0,
        }
    }

    #[test]
    fn a_write_never_undoes_a_change_made_since_the_values_were_seen() {
        let mut seen = local();
        seen.log_provider = LogProvider::Replicated;
        seen.log_replication = Some(r("1"));
        let desired = DesiredConfig {
            log_provider: LogProvider::Replicated,
            log_replication: Some(r("1")),
            partition_replication: None,
            log_nodeset_size: Some(2),
        };
        assert_eq!(check_unchanged_since(&seen, &seen, &desired), Ok(()));
        // A managed setting moved: the write would set it back.
        let mut now = seen.clone();
        now.log_replication = Some(r("{node: 3}"));
        let e = check_unchanged_since(&seen, &now, &desired).unwrap_err();
        assert!(
            e.to_string()
                .contains("log_replication was 1 when checked and is 3 now"),
            "{e}"
        );
        // Moved to the value the write sets anyway: nothing is undone.
        now.log_replication = Some(r("1"));
        now.log_nodeset_size = 2;
        assert_eq!(check_unchanged_since(&seen, &now, &desired), Ok(()));
        // A setting the write leaves to the cluster: not undone either.
        now.partition_replication = Some(r("3"));
        assert_eq!(check_unchanged_since(&seen, &now, &desired), Ok(()));
        // The nodeset size moved elsewhere.
        now.log_nodeset_size = 5;
        assert!(check_unchanged_since(&seen, &now, &desired)
            .unwrap_err()
            .to_string()
            .contains("log_nodeset_size was 0 when checked and is 5 now"));
    }

    #[test]
    fn merge_keeps_current_values_for_unset_settings() {
        let next = merge(
            &local(),
            &DesiredConfig {
                log_provider: LogProvider::Replicated,
                log_replication: None,
                partition_replication: None,
                log_nodeset_size: None,
            },
        );
        assert_eq!(next.num_partitions, 4);
        assert_eq!(next.partition_replication, Some(r("1")));
        assert_eq!(next.log_replication, Some(r("1")));
        assert!(!unchanged(&local(), &next));
    }

    #[test]
    fn same_meaning_is_unchanged() {
        let mut cur = local();
        cur.log_provider = LogProvider::Replicated;
        cur.log_replication = Some(r("{node: 2}"));
        let next = merge(
            &cur,
            &DesiredConfig {
                log_provider: LogProvider::Replicated,
                log_replication: Some(r("2")),
                partition_replication: Some(r("1")),
                log_nodeset_size: Some(0),
            },
        );
        assert!(unchanged(&cur, &next));
        assert!(capacity_needed(&cur, &next).is_empty());
        let more = merge(
            &cur,
            &DesiredConfig {
                log_provider: LogProvider::Replicated,
                log_replication: Some(r("3")),
                partition_replication: Some(r("2")),
                log_nodeset_size: None,
            },
        );
        assert_eq!(
            capacity_needed(&cur, &more),
            [(r("3"), Holder::LogServer), (r("2"), Holder::Worker)]
        );
    }

    #[test]
    fn transitions() {
        let (l, rep) = (LogProvider::Local, LogProvider::Replicated);
        assert!(check_provider_change("c", &l, &rep).is_ok());
        assert!(check_provider_change("c", &rep, &rep).is_ok());
        let e = check_provider_change("c", &rep, &l).unwrap_err();
        assert!(
            e.to_string().contains("moving to local is not supported"),
            "{e}"
        );
        assert!(check_num_partitions("c", 4, Some(4)).is_ok());
        assert!(check_num_partitions("c", 4, None).is_ok());
        let e = check_num_partitions("c", 4, Some(8))
            .unwrap_err()
            .to_string();
        assert!(e.contains("provisioned with 4 partitions"), "{e}");
        assert!(replicated_only(&l, "log replication").is_err());
        assert!(replicated_only(&rep, "log replication").is_ok());
        assert!(num_partitions(0).is_err() && num_partitions(70000).is_err());
        assert_eq!(num_partitions(24), Ok(24));
        assert!(nodeset_size(129).is_err() && nodeset_size(-1).is_err());
        assert!(partition_id(-1).is_err() && partition_id(65536).is_err());
    }

    #[test]
    fn counts_only_alive_read_write_log_servers() {
        use Role::*;
        let nodes = vec![
            node(1, &[LogServer, Worker], "read-write", "", true),
            node(2, &[LogServer], "provisioning", "", true),
            node(3, &[LogServer], "read-write", "", false),
            node(4, &[Worker], "", "", true),
        ];
        assert!(capacity(&r("1"), Holder::LogServer, &nodes).is_ok());
        let e = capacity(&r("2"), Holder::LogServer, &nodes).unwrap_err();
        assert_eq!(
            e.to_string(),
            "2 needs 2 nodes among the alive nodes with the log-server role in read-write storage \
             state, but the cluster has 1 (qualifying nodes: n1 (N1))"
        );
        assert!(capacity(&r("2"), Holder::Worker, &nodes).is_ok());
        assert!(capacity(&r("3"), Holder::Worker, &nodes).is_err());
    }

    #[test]
    fn counts_distinct_zones_and_regions() {
        let ls = [Role::LogServer];
        let nodes = vec![
            node(1, &ls, "read-write", "eu.a", true),
            node(2, &ls, "read-write", "eu.a", true),
            node(3, &ls, "read-write", "eu.b", true),
            node(4, &ls, "read-write", "us", true),
        ];
        assert!(capacity(&r("{zone: 2, node: 4}"), Holder::LogServer, &nodes).is_ok());
        let short =
            |rep: &str, nodes: &[NodeView]| match capacity(&r(rep), Holder::LogServer, nodes) {
                Err(Error::Capacity {
                    scope,
                    required,
                    available,
                    ..
                }) => (scope, required, available),
                other => panic!("{rep}: {other:?}"),
            };
        assert_eq!(short("{zone: 3}", &nodes), (Scope::Zone, 3, 2));
        assert!(capacity(&r("{region: 2}"), Holder::LogServer, &nodes).is_ok());
        assert_eq!(short("{region: 3}", &nodes), (Scope::Region, 3, 2));
        // zone-less nodes count for nothing at zone scope
        let bare = vec![node(1, &ls, "read-write", "", true); 3];
        assert_eq!(short("{zone: 1}", &bare), (Scope::Zone, 1, 0));
    }

    #[test]
    fn pending_logs_name_what_has_not_moved() {
        let tail = |id: u32, provider: LogProvider, rep: Option<&str>| {
            Log::with_tail(id, provider, rep.map(r), vec![1])
        };
        let mut config = local();
        config.num_partitions = 3;
        config.log_provider = LogProvider::Replicated;
        config.log_replication = Some(r("2"));
        let logs = LogsView {
            version: 1,
            default_provider: LogProvider::Replicated,
            logs: vec![
                tail(0, LogProvider::Replicated, Some("2")),
                tail(1, LogProvider::Replicated, Some("1")),
            ],
        };
        let pending: Vec<String> = pending_logs(&logs, &config)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            pending,
            [
                "only 2 of 3 logs exist yet",
                "log 1 is on replicated {node: 1}"
            ]
        );
    }

    fn view(roles: &[Role], alive: bool, version: &str) -> ClusterView {
        let mut n = node(2, roles, "read-write", "", alive);
        n.record.binary_version = version.into();
        ClusterView {
            cluster_name: "c".into(),
            cluster_fingerprint: 1,
            nodes: vec![n],
            processors: Vec::new(),
        }
    }

    fn want(name: &str, roles: &[Role], version: Option<&str>) -> NodeWant {
        NodeWant {
            name: name.into(),
            roles: Some(roles.iter().copied().collect()),
            version: version.map(|v| Version::parse(v).unwrap()),
        }
    }

    #[test]
    fn ready_needs_the_node_alive_with_exactly_its_roles_and_version() {
        use Role::*;
        let v = view(&[Worker, LogServer], true, "1.7.12");
        let waiting = |r: Result<Readiness, Error>| match r {
            Ok(Readiness::Waiting(now)) => now,
            other => panic!("not waiting: {other:?}"),
        };
        let ready = |r: Result<Readiness, Error>| matches!(r, Ok(Readiness::Ready(_)));
        assert!(ready(node_readiness(
            &v,
            &want("n2", &[LogServer, Worker], None)
        )));
        assert!(ready(node_readiness(
            &v,
            &want("n2", &[LogServer, Worker], Some("1.7"))
        )));
        let e = waiting(node_readiness(&v, &want("n2", &[Worker], None)));
        assert!(e.contains("roles [log-server, worker]"), "{e}");
        waiting(node_readiness(
            &v,
            &want("n2", &[Worker, LogServer], Some("1.8.0")),
        ));
        let e = waiting(node_readiness(&v, &want("n3", &[Worker], None)));
        assert!(
            e.contains("no node named n3") && e.contains("its nodes: n2"),
            "{e}"
        );
        let mut provisioning = view(&[Worker, LogServer], true, "1.7.12");
        provisioning.nodes[0].record.log_server_storage_state = "provisioning".into();
        assert!(waiting(node_readiness(
            &provisioning,
            &want("n2", &[Worker, LogServer], None)
        ))
        .contains("log-server storage provisioning"));
        let dead = view(&[Worker], false, "1.7.12");
        assert!(waiting(node_readiness(&dead, &want("n2", &[Worker], None))).contains("not alive"));
        // A node that cannot report its version never will: an error, not a wait.
        let old = view(&[Worker], true, "");
        assert!(matches!(
            node_readiness(&old, &want("n2", &[Worker], Some("1.7"))),
            Err(Error::VersionUnknown { .. })
        ));
    }

    #[test]
    fn snapshot_schemes_follow_the_version() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert!(snapshot_destination(&v("1.7"), "s3://bucket/prefix").is_ok());
        assert!(snapshot_destination(&v("1.7"), "gs://bucket").is_ok());
        assert!(snapshot_destination(&v("1.7"), "az://container/p").is_ok());
        let e = snapshot_destination(&v("1.6"), "file:///tmp/snapshots").unwrap_err();
        assert!(e.to_string().contains("Restate 1.6 rejects file://"), "{e}");
        assert!(snapshot_destination(&v("1.5"), "file:///tmp/snapshots").is_ok());
        assert!(snapshot_destination(&v("1.7"), "http://x/y")
            .unwrap_err()
            .to_string()
            .contains("s3://, gs://, az://"));
        assert!(snapshot_destination(&v("1.7"), "s3://")
            .unwrap_err()
            .to_string()
            .contains("names no bucket"));
    }

    #[test]
    fn only_a_node_that_lists_nobody_else_may_auto_provision() {
        let n1 = vec!["http://10.0.0.1:5122".to_string()];
        assert!(auto_provision(false, Some("http://10.0.0.2:5122"), Some(&n1)).is_ok());
        let e = auto_provision(true, Some("http://10.0.0.2:5122"), Some(&n1)).unwrap_err();
        assert!(e.to_string().contains("10.0.0.1"), "{e}");
        // a node that lists only itself
        assert!(auto_provision(true, Some("http://10.0.0.1:5122/"), Some(&n1)).is_ok());
        // no metadata client addresses: a single node that may provision itself
        assert!(auto_provision(true, None, None).is_ok());
        // every seed listed, the usual layout: several such nodes could provision several clusters
        let seeds: Vec<String> = (1..=3).map(|i| format!("http://10.0.0.{i}:5122")).collect();
        let e = auto_provision(true, Some("http://10.0.0.1:5122"), Some(&seeds)).unwrap_err();
        assert!(
            e.to_string()
                .contains("http://10.0.0.2:5122, http://10.0.0.3:5122"),
            "{e}"
        );
    }

    #[test]
    fn snapshot_store_settings_must_work_together() {
        let fine = SnapshotSettings {
            destination: Some("s3://b/c"),
            aws_endpoint_url: Some("http://10.0.0.5:9000"),
            aws_allow_http: Some(true),
            aws_access_key_id: Some("id"),
            aws_secret_access_key: Some("secret"),
            aws_session_token: Some("token"),
            ..Default::default()
        };
        assert!(snapshot_settings(&fine).is_empty());
        let settings = |change: fn(&mut SnapshotSettings)| {
            let mut s = fine.clone();
            change(&mut s);
            snapshot_settings(&s)
                .into_iter()
                .map(|(setting, _)| setting)
                .collect::<Vec<_>>()
        };
        assert_eq!(settings(|s| s.aws_allow_http = None), ["aws_endpoint_url"]);
        assert_eq!(
            settings(|s| s.aws_endpoint_url = Some("10.0.0.5:9000")),
            ["aws_endpoint_url"]
        );
        assert_eq!(
            settings(|s| s.aws_secret_access_key = None),
            ["aws_access_key_id"]
        );
        assert_eq!(
            settings(|s| {
                s.aws_access_key_id = None;
                s.aws_session_token = None
            }),
            ["aws_secret_access_key"]
        );
        assert_eq!(settings(|s| s.aws_profile = Some("p")), ["aws_profile"]);
        assert!(snapshot_prefix_names_cluster("s3://b/prod/snapshots", "prod").is_none());
        let shared = snapshot_prefix_names_cluster("s3://b/snapshots/", "prod");
        assert!(
            matches!(shared, Some(Advice::SharedSnapshotPrefix { ref suggested, .. }) if suggested == "s3://b/snapshots/prod"),
            "{shared:?}"
        );
        assert!(snapshot_prefix_names_cluster("s3://b", "prod").is_some());
    }

    #[test]
    fn a_base_config_key_with_an_underscore_is_advised_with_its_dashed_spelling() {
        let path = |p: &[&str]| p.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(base_config_key(&path(&["worker", "num-timers"])), None);
        assert_eq!(base_config_key(&path(&[])), None);
        assert_eq!(
            base_config_key(&path(&["worker", "Snap_Shots"])),
            Some(Advice::UnderscoredKey {
                key: "worker.Snap_Shots".into(),
                dashed: "worker.snap-shots".into(),
            })
        );
    }

    #[test]
    fn trims_never_past_a_replica_behind() {
        assert_eq!(trim_point(10, &[Some(12), Some(10)]), Some(10));
        assert_eq!(trim_point(10, &[Some(12), Some(7)]), Some(7));
        assert_eq!(trim_point(10, &[Some(12), None]), None);
        assert_eq!(trim_point(10, &[]), Some(10));
        assert_eq!(trim_point(0, &[Some(3)]), None);
    }

    #[test]
    fn a_snapshot_is_lost_only_by_a_status_of_its_taker_newer_than_it() {
        let p = |node_id: u32, leader: bool, archived: Option<u64>, at: u64| Processor {
            node_id,
            partition_id: 0,
            leader,
            applied_lsn: Some(20),
            archived_lsn: archived,
            updated_at_ms: Some(at),
        };
        let later = 1000 + CLOCK_SKEW_MS + 1;
        let covers = |taker, ps: &[Processor]| {
            snapshot_still_covers(10, 1000, taker, &ps.iter().collect::<Vec<_>>())
        };
        // The taker (node 1), leading: a status no newer than the snapshot, or nothing archived
        // (as after a restart), cannot tell.
        assert_eq!(covers(Some(1), &[p(1, true, None, 900)]), None);
        assert_eq!(covers(Some(1), &[p(1, true, Some(8), 1100)]), None);
        assert_eq!(covers(Some(1), &[p(1, true, None, later)]), None);
        // It read the repository again and found an older snapshot: lost.
        assert_eq!(covers(Some(1), &[p(1, true, Some(8), later)]), Some(false));
        assert_eq!(covers(Some(1), &[p(1, true, Some(12), later)]), Some(true));
        // As a follower too.
        assert_eq!(
            covers(
                Some(1),
                &[p(2, true, Some(12), later), p(1, false, Some(8), later)]
            ),
            Some(true)
        );
        assert_eq!(
            covers(
                Some(1),
                &[p(2, true, Some(9), later), p(1, false, Some(8), later)]
            ),
            Some(false)
        );
        // Another leader knows only its own older snapshot; the taker runs the partition no more,
        // or is not known (state from before takers were recorded): cannot tell.
        assert_eq!(covers(Some(1), &[p(2, true, Some(8), later)]), None);
        assert_eq!(covers(None, &[p(2, true, Some(8), later)]), None);
        assert_eq!(covers(None, &[p(2, true, Some(10), later)]), Some(true));
        assert_eq!(
            snapshot_still_covers(10, u64::MAX, Some(1), &[&p(1, true, Some(8), later)]),
            None
        );
    }

    #[test]
    fn the_taker_of_a_snapshot_is_a_replica_that_archived_it() {
        let p = |partition_id: u32, node_id: u32, leader: bool, archived: Option<u64>| Processor {
            node_id,
            partition_id,
            leader,
            applied_lsn: Some(20),
            archived_lsn: archived,
            updated_at_ms: Some(0),
        };
        let processors = [
            p(0, 1, true, Some(10)),
            p(0, 2, false, Some(10)),
            p(1, 1, false, Some(7)),
            p(1, 3, true, Some(5)),
            p(2, 2, false, Some(30)),
            p(2, 3, true, Some(3)),
        ];
        assert_eq!(
            snapshot_takers(&[(0, 10), (1, 7), (2, 25), (3, 1)], &processors),
            BTreeMap::from([(0, 1), (1, 1), (2, 2)])
        );
    }

    #[test]
    fn bind_addresses() {
        assert!(bind_address("0.0.0.0:5122").is_ok());
        assert!(bind_address("[::]:5122").is_ok());
        assert!(bind_address("localhost:5122")
            .unwrap_err()
            .to_string()
            .contains("\"0.0.0.0:5122\""));
        assert!(bind_address("0.0.0.0").is_err());
    }
}
