//! Everything the domain refuses: bad input values and changes Restate cannot make. The text says
//! what is wrong in Restate's terms; the Terraform layer (`tf::diag`) adds which attribute it is
//! about and what to change in the configuration.

use super::replication::Scope;
use super::version::Version;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // --- input values ---------------------------------------------------------------------
    #[error("\"{input}\": {source}")]
    Replication {
        input: String,
        source: ReplicationError,
    },

    #[error("\"{0}\" is not a Restate log provider; use \"local\" or \"replicated\"")]
    UnknownLogProvider(String),

    #[error("a node needs at least one role; choose from {}", super::role::names())]
    NoRoles,

    #[error("\"{0}\" is not a Restate role{hint}; choose from {names}", hint = role_hint(.0), names = super::role::names())]
    UnknownRole(String),

    #[error("\"{value}\": {problem}")]
    InvalidEndpoint { value: String, problem: String },

    #[error("\"{0}\" is not an IP address and port; write it like \"0.0.0.0:5122\"")]
    InvalidBindAddress(String),

    #[error("\"{0}\" is not \"region\" or \"region.zone\" (for example \"us-east-1.us-east-1a\")")]
    InvalidLocation(String),

    #[error("\"{0}\" is not a version; write it like \"1.7.12\" (or \"1.7\" for any 1.7 release)")]
    InvalidVersion(String),

    #[error("Restate {0} is not supported: this provider renders configuration for 1.{min} to 1.{max}", min = super::version::OLDEST_RENDERED_MINOR, max = super::version::NEWEST_RENDERED_MINOR)]
    UnsupportedVersion(String),

    #[error("\"{value}\" names no bucket; write it like \"{scheme}://bucket/prefix\"")]
    SnapshotNoBucket { value: String, scheme: String },

    #[error("Restate {version} rejects file:// snapshot destinations (since 1.6 a node with one exits at start-up); use an object store: {allowed}")]
    SnapshotFileScheme { version: Version, allowed: String },

    #[error("\"{value}\": Restate {version} accepts {allowed} destinations, like \"s3://bucket/prefix\"")]
    SnapshotScheme {
        value: String,
        version: Version,
        allowed: String,
    },

    #[error("{0} is out of range: use 1 to 65535")]
    NumPartitionsOutOfRange(i64),

    #[error("{0} is out of range: use 0 (automatic) up to 128")]
    NodesetSizeOutOfRange(i64),

    #[error("{0} is not a partition id (0 to 65535)")]
    PartitionIdOutOfRange(i64),

    #[error("no partition is listed, so nothing would be snapshotted")]
    NoPartitions,

    #[error("line {line}, column {column}: {message}")]
    InvalidToml {
        line: usize,
        column: usize,
        message: String,
    },

    #[error("the local log provider keeps one copy on one node: it has no {0}")]
    ReplicatedOnly(&'static str),

    // --- rules of the cluster -------------------------------------------------------------
    #[error("{endpoint} reports that cluster \"{cluster_name}\" is not provisioned yet")]
    NotProvisioned {
        endpoint: String,
        cluster_name: String,
    },

    #[error("cluster \"{cluster_name}\" uses the replicated log provider; moving to {requested} is not supported by Restate")]
    ProviderDowngrade {
        cluster_name: String,
        requested: String,
    },

    #[error("cluster \"{cluster_name}\" was provisioned with {current} partitions; Restate cannot repartition a cluster")]
    NumPartitionsFixed {
        cluster_name: String,
        current: u32,
        requested: u32,
    },

    #[error("{replication} needs {required} {place} among the {holders}, but the cluster has {available} (qualifying nodes: {who})", place = scope_place(.scope), holders = .holder.describe(), who = names_or_none(.qualifying))]
    Capacity {
        holder: Holder,
        replication: String,
        scope: Scope,
        required: u8,
        available: usize,
        qualifying: Vec<String>,
    },

    #[error("{target} would skip a minor version: the lowest version running in the cluster is {lowest}, and Restate must not skip minor versions. Upgrade every node to {next} first.")]
    UpgradeSkipsMinor {
        target: Version,
        lowest: Version,
        next: String,
    },

    #[error("{target} would downgrade by more than one minor version: the cluster runs {highest}, and Restate supports rolling back only to the previous minor version.")]
    DowngradeTooFar { target: Version, highest: Version },

    #[error("{} not in the cluster's partition table (it has partitions {}). Remove {} from the requested partitions, or request every partition.", missing_subject(.missing), describe_ids(.table), if .missing.len() == 1 { "it" } else { "them" })]
    UnknownPartitions { missing: Vec<u32>, table: Vec<u32> },

    #[error("this resource tracks cluster \"{tracked}\", but {endpoint} belongs to \"{actual}\"")]
    WrongCluster {
        tracked: String,
        endpoint: String,
        actual: String,
    },

    #[error("{endpoint} answers for cluster \"{cluster_name}\" with fingerprint {actual}, but this resource tracks the cluster with fingerprint {expected}: the provider reaches another cluster (one of the same name, or a node that provisioned a cluster of its own)")]
    OtherCluster {
        endpoint: String,
        cluster_name: String,
        expected: String,
        actual: String,
    },

    #[error("the endpoints belong to different clusters: {}", .0.join("; "))]
    SplitBrain(Vec<String>),

    #[error("the cluster configuration changed after this plan or apply checked it ({what}): someone else changed it meanwhile")]
    ConfigChangedDuringApply { what: String },

    #[error("cluster \"{cluster_name}\" runs {setting} {current}; {desired} would lower it, and this resource did not create the cluster's configuration")]
    LowersOnCreate {
        cluster_name: String,
        setting: &'static str,
        current: String,
        desired: String,
    },

    #[error("this node's metadata client addresses name other nodes ({addresses}): with auto-provision it provisions a cluster of its own when it starts before it sees theirs, so nodes started together can provision one cluster each, all of the same name")]
    JoiningNodeAutoProvision { addresses: String },

    #[error("{0}")]
    SnapshotStore(String),

    #[error("{0}")]
    FabricTls(String),

    #[error("node {node} does not report its version (Restate before 1.6 does not): {why}")]
    VersionUnknown { node: String, why: &'static str },

    // --- a node's lifecycle -----------------------------------------------------------------
    #[error("\"{value}\" is not a {what} this provider sets; use one of {allowed}")]
    UnknownState {
        what: &'static str,
        value: String,
        allowed: String,
    },

    /// `N3` or a node name.
    #[error("node {0} is not part of the cluster")]
    NoSuchNode(String),

    #[error("{change} is not safe: {reason}. To go ahead, {fix}")]
    Blocked {
        change: String,
        reason: String,
        fix: String,
    },
}

/// Why a replication string was rejected: the source of [`Error::Replication`], which adds the
/// input. The text is shown to the user as is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplicationError {
    #[error("surrounding spaces are not allowed; write \"{trimmed}\"")]
    SurroundingSpaces { trimmed: String },

    #[error("replication must not be empty; {REPLICATION_SYNTAX}")]
    Empty,

    #[error("{}: \"{text}\" is not a whole number; {REPLICATION_SYNTAX}", factor_of(.scope))]
    NotANumber { scope: Option<Scope>, text: String },

    #[error("{}: the number of copies must be at least 1", factor_of(.scope))]
    NoCopies { scope: Option<Scope> },

    #[error("{}: {copies} copies is more than the maximum of 255", factor_of(.scope))]
    TooManyCopies { scope: Option<Scope>, copies: u64 },

    #[error("\"{text}\" is missing its closing brace; {REPLICATION_SYNTAX}")]
    MissingBrace { text: String },

    #[error("\"{part}\" is not \"scope: copies\"; {REPLICATION_SYNTAX}")]
    NotScopeAndCopies { part: String },

    #[error("unknown scope \"{0}\"; scopes are node, zone and region")]
    UnknownScope(String),

    #[error("scope {} is given twice", .0.as_str())]
    ScopeTwice(Scope),

    #[error("{copies} copies across {}s is more than the {required} copies required at scope {}", .wide.as_str(), .narrow.as_str())]
    WiderScopeNeedsMore {
        wide: Scope,
        copies: u8,
        narrow: Scope,
        required: u8,
    },
}

const REPLICATION_SYNTAX: &str =
    "write a number of copies (\"2\") or scopes with copies (\"{node: 3}\", \"{zone: 2, node: 3}\"); scopes are node, zone and region";

/// What a number of copies is given for: the whole replication, or one scope of it.
fn factor_of(scope: &Option<Scope>) -> String {
    scope.map_or("replication".to_string(), |s| {
        format!("scope {}", s.as_str())
    })
}

/// Which nodes can hold a copy of what a replication property describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// Alive log servers in `read-write` storage state (log replication).
    LogServer,
    /// Alive workers that are not draining or disabled (partition replication).
    Worker,
}

impl Holder {
    pub fn describe(self) -> &'static str {
        match self {
            Holder::LogServer => "alive nodes with the log-server role in read-write storage state",
            Holder::Worker => "alive nodes with the worker role",
        }
    }
}

fn role_hint(role: &str) -> &'static str {
    if role == "metadata-store" {
        " (write metadata-server; configuration for Restate 1.2 spells it metadata-store)"
    } else {
        ""
    }
}

fn scope_place(scope: &Scope) -> String {
    match scope {
        Scope::Node => "nodes".to_string(),
        other => format!("distinct {}s", other.as_str()),
    }
}

fn names_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn missing_subject(missing: &[u32]) -> String {
    match missing {
        [one] => format!("Partition {one} is"),
        many => format!(
            "Partitions {} are",
            many.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `0 to 3` for a contiguous range of more than two ids, else the list.
pub fn describe_ids(ids: &[u32]) -> String {
    match (ids.first(), ids.last()) {
        (Some(a), Some(b)) if ids.len() > 2 && b.checked_sub(*a) == Some(ids.len() as u32 - 1) => {
            format!("{a} to {b}")
        }
        _ => ids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}
