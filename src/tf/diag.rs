//! The one mapping from every error to a diagnostic: which attribute it is about, a summary, and
//! a detail that says what is wrong and what to change.

use tf_provider::{AttributePath, Diagnostics};

use super::context::SettingsError;
use crate::client;
use crate::domain::error::Holder;
use crate::domain::rules::Advice;
use crate::domain::ClusterConfig;
use crate::domain::Error as Domain;
use crate::ops;
use crate::ops::snapshots::{SnapshotOutcome, Trimmed};

/// An input value at `path` (the attribute `attribute`) that the domain refused.
pub fn input(diags: &mut Diagnostics, path: AttributePath, attribute: &str, e: &Domain) {
    let (_, summary, detail) = describe(attribute, e);
    diags.error(summary, detail, path);
}

/// A change Restate cannot make, or must not be asked to make; reported at the attribute the rule
/// is about.
pub fn refused(diags: &mut Diagnostics, e: &Domain) {
    let (attribute, summary, detail) = describe("value", e);
    let path = attribute.map_or_else(AttributePath::root, AttributePath::new);
    diags.error(summary, detail, path);
}

/// (the attribute a rule is about, summary, detail). `attribute` names the input for errors about
/// one value. Exhaustive, so a new kind of error cannot go without its wording.
fn describe(attribute: &str, e: &Domain) -> (Option<&'static str>, String, String) {
    let plain = |summary: String| (None, summary, format!("{e}."));
    match e {
        Domain::Replication { .. } => (
            None,
            format!("Invalid {attribute}"),
            format!("{attribute} = {e}."),
        ),
        Domain::InvalidVersion(_) => plain(format!("Invalid {attribute}")),
        Domain::UnknownLogProvider(_) => plain("Unknown log provider".into()),
        Domain::NoRoles => plain("No roles".into()),
        Domain::UnknownRole(_) => plain("Unknown role".into()),
        Domain::InvalidEndpoint { .. } if attribute == "endpoints" => {
            plain("Invalid endpoint".into())
        }
        Domain::InvalidEndpoint { .. } => plain("Invalid address".into()),
        Domain::InvalidBindAddress(_) => plain("Invalid bind address".into()),
        Domain::InvalidLocation(_) => plain("Invalid location".into()),
        Domain::UnsupportedVersion(_) => plain(format!("Unsupported {attribute}")),
        Domain::SnapshotNoBucket { .. } | Domain::SnapshotScheme { .. } => {
            plain("Invalid snapshot destination".into())
        }
        Domain::SnapshotFileScheme { .. } => {
            plain("Snapshot destination not supported by this Restate version".into())
        }
        Domain::NumPartitionsOutOfRange(_) | Domain::NodesetSizeOutOfRange(_) => (
            None,
            format!("{attribute} out of range"),
            format!("{attribute} = {e}."),
        ),
        Domain::PartitionIdOutOfRange(_) => plain("Invalid partition id".into()),
        Domain::NoPartitions => (
            None,
            format!("Empty {attribute}"),
            format!("{e}: list partitions, or remove {attribute} to snapshot every partition."),
        ),
        Domain::InvalidToml { .. } => plain(format!("Invalid TOML in {attribute}")),
        Domain::ReplicatedOnly(_) => (
            None,
            format!("{attribute} needs the replicated log provider"),
            format!(
                "The local log provider keeps one copy on one node; remove {attribute} or set log_provider = \"replicated\"."
            ),
        ),
        Domain::NotProvisioned { .. } => (
            Some("provision"),
            "The cluster is not provisioned".into(),
            format!(
                "{e}. Set provision = true to provision it with this resource's values, or provision it with `restatectl provision`."
            ),
        ),
        Domain::ProviderDowngrade { .. } => (
            Some("log_provider"),
            "Restate cannot move logs back from the replicated provider".into(),
            format!("{e}. Keep log_provider = \"replicated\"."),
        ),
        Domain::NumPartitionsFixed { current, .. } => (
            Some("num_partitions"),
            "num_partitions cannot change".into(),
            format!("{e}. Set num_partitions = {current} or remove it."),
        ),
        Domain::Capacity {
            holder,
            replication,
            ..
        } => {
            let attribute = match holder {
                Holder::LogServer => "log_replication",
                Holder::Worker => "partition_replication",
            };
            (
                Some(attribute),
                format!("{attribute} {replication} cannot be satisfied by this cluster"),
                format!(
                    "{attribute} = {e}. Restate would accept it without checking, and the new configuration \
                     would never take effect (or, on older servers, make the cluster unavailable). Add nodes with \
                     the needed role first, or lower {attribute}. Nothing was changed. To apply anyway, set \
                     skip_safety_checks = true."
                ),
            )
        }
        Domain::UpgradeSkipsMinor { .. } | Domain::DowngradeTooFar { .. } => (
            Some("expected_version"),
            "Unsupported version change".into(),
            e.to_string(),
        ),
        Domain::UnknownPartitions { .. } => (
            Some("partition_ids"),
            "Unknown partition ids".into(),
            e.to_string(),
        ),
        Domain::WrongCluster { tracked, .. } => (
            None,
            "Wrong cluster".into(),
            format!("{e}. Point the provider's endpoints at a node of \"{tracked}\"."),
        ),
        Domain::OtherCluster { .. } => (
            None,
            "Another cluster".into(),
            format!(
                "{e}. Nothing was changed, and the state keeps what it had. Point the provider's endpoints \
                 at the cluster this state tracks; if that cluster was rebuilt on purpose, remove the \
                 resource from the state (terraform state rm) and import it again."
            ),
        ),
        Domain::SplitBrain(_) => (
            None,
            "The endpoints belong to different clusters".into(),
            format!(
                "{e}. A node that started with auto-provision = true while joining, or was provisioned \
                 on its own, runs a cluster of its own under the same name. Stop it, wipe its base dir and \
                 start it again with auto-provision = false; then apply again."
            ),
        ),
        Domain::ConfigChangedDuringApply { .. } => (
            None,
            "The cluster configuration changed since it was checked".into(),
            format!(
                "{e}. Nothing was written, so the other change stands. Run terraform plan again to see \
                 the cluster as it is now, and apply then."
            ),
        ),
        Domain::LowersOnCreate { setting, .. } => (
            Some(setting),
            format!("{setting} would go down on a running cluster"),
            format!(
                "{e}. Import the cluster's configuration first (terraform import restate_cluster_config.NAME \
                 <cluster name>) to see and change it as a diff, or set allow_lower_replication = true to \
                 lower it on create."
            ),
        ),
        Domain::JoiningNodeAutoProvision { .. } => (
            Some("auto_provision"),
            "A joining node must not auto-provision".into(),
            format!(
                "{e}. Set auto_provision = false on every node that lists other nodes, and provision the \
                 cluster once, through one node, with restate_cluster_config (provision = true)."
            ),
        ),
        Domain::SnapshotStore(_) => plain("Invalid snapshot store settings".into()),
        Domain::FabricTls(_) => plain("Invalid TLS settings".into()),
        Domain::UnknownState { .. } => plain(format!("Invalid {attribute}")),
        Domain::NoSuchNode(_) => plain("No such node".into()),
        Domain::Blocked { change, reason, fix } => (
            None,
            format!("{} is not safe", capitalized(change)),
            format!("{reason}. To go ahead, {fix}."),
        ),
        Domain::VersionUnknown { .. } => (
            Some("expected_version"),
            "expected_version needs Restate >= 1.6 to verify versions".into(),
            format!(
                "{e}. Remove expected_version (and check versions by hand), or upgrade the cluster to \
                 Restate 1.6 or later first."
            ),
        ),
    }
}

/// Something the user should know before applying; a warning at the setting it is about.
pub fn advice(diags: &mut Diagnostics, a: &Advice) {
    let setting = match a {
        Advice::LiveValueChanges { setting, .. }
        | Advice::Lowers { setting, .. }
        | Advice::NoFailureTolerance { setting, .. } => *setting,
        Advice::SharedSnapshotPrefix { .. } => "destination",
        Advice::UnderscoredKey { .. } => "base_config",
    };
    advice_at(diags, AttributePath::new(setting), a);
}

/// Like [`advice`], at `path` (a setting in a block).
pub fn advice_at(diags: &mut Diagnostics, path: AttributePath, a: &Advice) {
    let summary = match a {
        Advice::LiveValueChanges { setting, .. } => {
            format!("{setting} changes a value the cluster already has")
        }
        Advice::Lowers { setting, .. } => format!("{setting} goes down"),
        Advice::NoFailureTolerance { setting, .. } => {
            format!("{setting} leaves no failure tolerance")
        }
        Advice::SharedSnapshotPrefix { .. } => {
            "The snapshot destination does not name the cluster".to_string()
        }
        Advice::UnderscoredKey { key, .. } => format!("base_config key `{key}` has an underscore"),
    };
    let detail = match a {
        Advice::LiveValueChanges { .. } => format!(
            "{a}. This resource is new, so the plan cannot show it as a diff; import the configuration \
             first (terraform import) to see every change as one."
        ),
        Advice::SharedSnapshotPrefix { suggested, .. } => {
            format!("{a}. Use a prefix per cluster, such as {suggested}.")
        }
        Advice::UnderscoredKey { dashed, .. } => {
            format!("{a}. Write it as `{dashed}`.")
        }
        _ => format!("{a}."),
    };
    diags.warning(summary, detail, path);
}

/// A failed call to the cluster; the text names the endpoint and the gRPC status.
pub fn client(diags: &mut Diagnostics, summary: &str, err: &client::Error) {
    if let client::Error::Interrupted { .. } = err {
        diags.root_error(
            "Interrupted",
            format!(
                "{err}: the provider stopped retrying the call. What was written to the cluster stays \
                 written; apply again to go on."
            ),
        );
        return;
    }
    let hint = match err {
        client::Error::ClusterMismatch { expected, .. } => format!(
            "\n\nPoint the provider's endpoints at a node of \"{expected}\", or fix its cluster_name. A node \
             that started with auto-provision = true while joining may have provisioned a second cluster: \
             restart it with auto-provision = false and a fresh base dir."
        ),
        client::Error::NotProvisioned { .. } => "\n\nProvision the cluster first: set provision = true on \
             restate_cluster_config, or run `restatectl provision`."
            .into(),
        client::Error::Timeout { .. } => "\n\nEach request is bounded by the provider's request_timeout. \
             Check that the node is running and that the provider's endpoints (or RESTATE_ENDPOINTS) point \
             at its fabric port (default 5122)."
            .into(),
        client::Error::RepositoryNotConfigured { .. } => format!("\n\n{REPOSITORY_HELP}"),
        client::Error::Tls { problem, .. } => format!("\n\n{}", tls_help(problem)),
        e if e.is_transient() => "\n\nCheck that the node is running and that the provider's endpoints \
             (or RESTATE_ENDPOINTS) point at its fabric port (default 5122)."
            .into(),
        _ => String::new(),
    };
    // A cluster that cannot be reached is one fact, said the same way by every resource (a plan
    // of many resources against a cluster that is down shows one error, repeated).
    let summary = if err.is_transient() || matches!(err, client::Error::Timeout { .. }) {
        UNREACHABLE
    } else {
        summary
    };
    diags.root_error(summary.to_string(), format!("{err}{hint}"));
}

/// The summary of every error that says the cluster did not answer.
pub const UNREACHABLE: &str = "Cannot reach the Restate cluster";

/// Provider settings that cannot be used, at the attribute when the configuration holds it.
/// False for settings that are only not known yet (normal at plan time: the operations that need
/// the cluster say so).
pub fn settings(
    diags: &mut Diagnostics,
    e: &crate::tf::context::SettingsError,
    tls_block_in_config: bool,
) -> bool {
    use crate::tf::context::SettingsError as S;
    match e {
        S::Unknown(_) => return false,
        S::Tls(t) => {
            // A value from the environment has no place in the configuration to point at.
            match t.attribute().filter(|_| tls_block_in_config) {
                Some(a) => diags.error(
                    "Invalid provider TLS settings",
                    t.to_string(),
                    AttributePath::new("tls").index(0).attribute(a),
                ),
                None => diags.root_error("Invalid provider TLS settings", t.to_string()),
            }
        }
        S::Duration(d) => diags.error(
            "Invalid duration",
            d.to_string(),
            AttributePath::new("request_timeout"),
        ),
        S::Invalid(_) | S::NotConfigured => {
            diags.root_error("Invalid provider settings", e.to_string())
        }
    }
    true
}

/// What to change for each TLS failure.
fn tls_help(problem: &client::tls::TlsProblem) -> &'static str {
    use client::tls::TlsProblem as P;
    match problem {
        P::UntrustedCertificate(_) => {
            "Set the provider's tls.ca_cert (or ca_cert_file, RESTATE_TLS_CA_CERT) to the CA that signs \
             the nodes' certificates (the CA in their [tls] ca-files)."
        }
        P::NameMismatch(_) => {
            "Use endpoints whose host the nodes' certificates carry (a DNS name or IP address in their \
             subject alternative names), or set the provider's tls.server_name to a name they carry."
        }
        P::InvalidCertificate(_) => {
            "Renew the node's certificate (its [tls] cert-file): the node reloads it from disk."
        }
        P::ClientCertificateRequired => {
            "The nodes have require-client-auth = true: set the provider's tls.client_cert and \
             tls.client_key (or their _file forms, RESTATE_TLS_CLIENT_CERT/KEY) to a certificate signed \
             by a CA in the nodes' ca-files."
        }
        P::ClientCertificateRejected(_) => {
            "Use a client certificate signed by a CA in the nodes' [tls] ca-files, whose subject (CN or \
             a DNS/URI name) matches their allowed-subject-names."
        }
        P::NotTls => "The node's fabric port is plaintext ([tls] mode off or allow): use an http:// endpoint.",
        P::TlsOnly => {
            "Use an https:// endpoint (the node advertises one: its [tls] mode is require), and set the \
             provider's tls block (ca_cert, and client_cert/client_key if the nodes require client \
             certificates)."
        }
        P::Handshake(_) => {
            "Check the provider's tls block against the nodes' [tls] sections (CA, client certificate, \
             TLS versions)."
        }
    }
}

/// The value, or None after reporting the client error.
pub fn client_ok<T>(
    diags: &mut Diagnostics,
    summary: &str,
    result: Result<T, client::Error>,
) -> Option<T> {
    result.map_err(|e| client(diags, summary, &e)).ok()
}

/// An orchestration failure.
pub fn ops(diags: &mut Diagnostics, e: &ops::Error) {
    match e {
        ops::Error::Refused(d) => refused(diags, d),
        ops::Error::LogsPending { waited, pending } => diags.root_error(
            "Logs did not reach the requested configuration in time",
            format!(
                "The cluster configuration was written, but after {} these logs still had their old tail \
                 segment:\n  - {}\nRestate moves logs in the background, each on its node's next round or \
                 its next write (an idle log may keep its old segment until it is written to); check that \
                 enough log servers are alive (restatectl logs list), raise timeouts, or set wait_for_logs \
                 = false. The logs still pending show in the next plan (pending_logs).",
                humantime::format_duration(*waited),
                pending
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n  - ")
            ),
        ),
        ops::Error::NodeNotReady { name, .. } => diags.error(
            format!("Node {name} did not join as intended"),
            format!(
                "{}. Check that the node runs with the rendered configuration (same cluster-name, \
                 metadata-client addresses reachable, auto-provision = false), or raise timeouts.",
                capitalized(&e.to_string())
            ),
            AttributePath::new("name"),
        ),
        ops::Error::Interrupted { .. } => diags.root_error(
            "Interrupted",
            format!(
                "{}. What was written to the cluster stays written, and the state records what was \
                 done; apply again to go on.",
                capitalized(&e.to_string())
            ),
        ),
        ops::Error::Client(c) => client(diags, "Restate admin API call failed", c),
    }
}

/// Snapshots that failed: none taken because no node has a repository, or some partitions failed
/// (the others are kept in state, and the resource is tainted).
pub fn snapshots(diags: &mut Diagnostics, outcome: &SnapshotOutcome, requested: usize) {
    if outcome.failed.is_empty() {
        return;
    }
    if outcome.taken.is_empty() && outcome.failed.iter().all(|f| f.not_configured) {
        diags.root_error("No snapshot repository is configured", REPOSITORY_HELP);
        return;
    }
    let lines: Vec<String> = outcome
        .failed
        .iter()
        .map(|f| format!("  - partition {}: {}", f.partition_id, f.reason))
        .collect();
    let help = if outcome.failed.iter().any(|f| f.not_configured) {
        format!("\n\n{REPOSITORY_HELP}")
    } else {
        String::new()
    };
    diags.root_error(
        format!(
            "Snapshots failed for {} of {requested} partitions",
            outcome.failed.len()
        ),
        format!(
            "{}\nThe snapshots that succeeded are kept in state and the resource is tainted: the next \
             apply takes them again, for every partition.{help}",
            lines.join("\n")
        ),
    );
}

/// Logs trimmed short of their snapshot (or not at all) because a replica is behind it.
pub fn trimmed_less(diags: &mut Diagnostics, trimmed: &[Trimmed]) {
    let lines: Vec<String> = trimmed
        .iter()
        .filter(|t| t.trimmed_to != Some(t.snapshot_lsn))
        .map(|t| match t.trimmed_to {
            Some(point) => format!(
                "  - partition {} (log {}): trimmed to LSN {point}, short of the snapshot's {}",
                t.partition_id, t.log_id, t.snapshot_lsn
            ),
            None => format!(
                "  - partition {} (log {}): not trimmed (a replica's applied LSN is unknown or 0)",
                t.partition_id, t.log_id
            ),
        })
        .collect();
    if lines.is_empty() {
        return;
    }
    diags.root_warning(
        "Some logs were trimmed less than their snapshot",
        format!(
            "A log is never trimmed past what a running replica of its partition has applied, so the \
             replica can still catch up from the log:\n{}\nThe snapshots were taken; the rest of the \
             log stays until Restate trims it.",
            lines.join("\n")
        ),
    );
}

/// What provisioning through `target` will set up, from that node's dry run.
pub fn provisioning_preview(diags: &mut Diagnostics, target: &str, c: &ClusterConfig) {
    let show = |r: &Option<crate::domain::Replication>| {
        r.as_ref().map_or("-".to_string(), |r| r.canonical())
    };
    diags.warning(
        "The cluster will be provisioned",
        format!(
            "No endpoint reports a provisioned cluster, so apply provisions it through {target} only, \
             with: {} partitions, log provider {}, log replication {}, partition replication {}, nodeset \
             size {} (that node's dry run; values not configured come from its own configuration).",
            c.num_partitions,
            c.log_provider,
            show(&c.log_replication),
            show(&c.partition_replication),
            c.log_nodeset_size
        ),
        AttributePath::new("provision"),
    );
}

/// Provisioning through `target` failed: it is never retried on another node, so say which one
/// it goes to and how to choose another.
pub fn provisioning_failed(diags: &mut Diagnostics, target: &str, e: &ops::Error) {
    match e {
        ops::Error::Client(c) => diags.error(
            "Provisioning the cluster failed",
            format!(
                "{c}\n\nProvisioning is sent to one node only, {target} (provision_endpoint, else the \
                 provider's first endpoint), and never retried on another: Restate provisions the node \
                 that receives the request, so that exactly one cluster is created. Start that node, or \
                 set provision_endpoint to another node of the cluster."
            ),
            AttributePath::new("provision_endpoint"),
        ),
        other => ops(diags, other),
    }
}

/// The value, or None after reporting the orchestration error.
pub fn ops_ok<T>(diags: &mut Diagnostics, result: Result<T, ops::Error>) -> Option<T> {
    result.map_err(|e| ops(diags, &e)).ok()
}

/// The provider has no usable client.
pub fn not_configured(diags: &mut Diagnostics, e: &SettingsError) {
    diags.root_error("Provider restate is not configured", e.to_string());
}

/// A removal refused at plan time: how to take the whole cluster down instead.
pub fn whole_cluster_teardown(diags: &mut Diagnostics) {
    diags.root_error(
        "To take the whole cluster down instead",
        "set on_destroy = \"forget\" on its restate_node resources and apply that first: \
         destroying them then only stops tracking the nodes.",
    );
}

/// What a destroy leaves as it is: the resource only stops tracking it.
pub enum Left<'a> {
    /// The cluster's configuration (Restate cannot unprovision).
    ClusterConfig { cluster: &'a str },
    /// A node that stays a cluster member (`on_destroy = "forget"`).
    Node { name: &'a str },
    /// Snapshots that stay in the repository.
    Snapshots { count: usize },
}

/// A warning saying what a destroy left as it is.
pub fn left_as_is(diags: &mut Diagnostics, left: &Left) {
    let (summary, detail) = match left {
        Left::ClusterConfig { cluster } => (
            "The cluster configuration was left as it is".to_string(),
            format!(
                "restate_cluster_config only stops tracking cluster \"{cluster}\": Restate has no way to \
                 unprovision a cluster or to move logs back to the local provider, so its configuration \
                 stays as it is now."
            ),
        ),
        Left::Node { name } => (
            format!("Node {name} is still a cluster member"),
            format!(
                "restate_node only stopped tracking node {name}. It stays in the cluster's nodes configuration, \
                 and its log-server and metadata-server state are unchanged; stopping its VM makes it a dead \
                 member. Remove it from the cluster with restatectl (nodes set-storage-state, metadata-server \
                 remove-node, nodes remove) before you stop it."
            ),
        ),
        Left::Snapshots { count } => (
            "The snapshots stay in the repository".to_string(),
            format!(
                "restate_partition_snapshot only stopped tracking {count} snapshots: Restate keeps them (and \
                 prunes old ones by [worker.snapshots] num-retained); nothing was deleted."
            ),
        ),
    };
    diags.root_warning(summary, detail);
}

/// Snapshots a refresh found gone (`lost` says which): the resource leaves the state.
pub fn snapshots_lost(diags: &mut Diagnostics, lost: &str) {
    diags.root_warning(
        "The snapshots are gone from the repository",
        format!(
            "{lost}\nrestate_partition_snapshot is removed from the state, so the next apply takes new \
             snapshots."
        ),
    );
}

/// A snapshot apply that found no partition to snapshot.
pub fn no_partitions(diags: &mut Diagnostics) {
    diags.root_error_short("The cluster has no partitions to snapshot");
}

/// An import without an id: `what` the id is (`cluster name`, `node name`).
pub fn import_needs_id(diags: &mut Diagnostics, resource: &str, what: &str) {
    diags.root_error_short(format!(
        "Import needs the {what}: terraform import {resource}.NAME <{what}>"
    ));
}

/// A resource that cannot be imported, and why.
pub fn not_importable(diags: &mut Diagnostics, resource: &str, why: &str) {
    diags.root_error(format!("{resource} cannot be imported"), why.to_string());
}

/// A value the apply needs that is still unknown (Terraform normally resolves it before).
pub fn unknown_at_apply(diags: &mut Diagnostics, resource: &str, attribute: &str) {
    diags.root_error_short(format!("{resource}: {attribute} is not known at apply"));
}

/// Values a data source's read needs that are still unknown.
pub fn unknown_at_read(diags: &mut Diagnostics, data_source: &str, attributes: &str) {
    diags.root_error_short(format!("{data_source} needs {attributes} to be known"));
}

const REPOSITORY_HELP: &str = "Configure a snapshot repository on the nodes running these partitions: \
     `[worker.snapshots] destination` (s3://bucket/prefix, gs://… or az://…), plus `aws-region`, \
     `aws-endpoint-url`, `aws-allow-http`, `aws-access-key-id` / `aws-secret-access-key` or `aws-profile` \
     as the store needs — the `snapshots` block of restate_node_config renders them — and restart the nodes.";

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
