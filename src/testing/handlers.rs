//! Handler tests: every resource's plan and apply paths, driven as Terraform drives them, against
//! the in-process fake. Milliseconds each, no root, no network namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tf_provider::value::Value;

use super::fake::{self, FakeCluster, FakeState};
use super::scenarios::{self, Handlers};
use super::terraform::Diag;
use crate::domain::{LogProvider, Replication, Role};
use crate::ops::AdminApi;
use crate::resources::{cluster_config, node, partition_snapshot, restart_gate};
use crate::tf::value::string_list;
use crate::tf::Timeouts;

pub(super) fn s(v: &str) -> Value<String> {
    Value::Value(v.to_string())
}

/// A `timeouts` block as Terraform sends it (every declared operation, null when unset).
pub(super) fn timeouts(block: serde_json::Value) -> Value<Timeouts> {
    Value::Value(serde_json::from_value(block).expect("a timeouts block"))
}

pub(super) fn cluster(state: FakeState) -> (Arc<FakeCluster>, Handlers) {
    let fake = Arc::new(FakeCluster::new(state));
    let handlers = Handlers::new(fake.clone());
    (fake, handlers)
}

pub(super) fn errors(diags: &[Diag]) -> Vec<(String, String)> {
    diags
        .iter()
        .filter(|d| d.error)
        .map(|d| (d.summary.clone(), d.attribute.clone()))
        .collect()
}

/// The first error whose summary contains `summary`.
#[track_caller]
pub(super) fn error<'d>(diags: &'d [Diag], summary: &str) -> &'d Diag {
    diags
        .iter()
        .find(|d| d.error && d.summary.contains(summary))
        .unwrap_or_else(|| panic!("no error {summary:?} in {diags:#?}"))
}

#[track_caller]
pub(super) fn assert_error(diags: &[Diag], summary: &str, attribute: &str) {
    assert!(
        diags
            .iter()
            .any(|d| d.error && d.summary.contains(summary) && d.attribute == attribute),
        "expected an error {summary:?} at {attribute:?}, got {diags:#?}"
    );
}

pub(super) fn replicated(extra: impl FnOnce(&mut cluster_config::State)) -> cluster_config::State {
    let mut c = cluster_config::State {
        log_provider: s("replicated"),
        ..Default::default()
    };
    extra(&mut c);
    c
}

// --- the scenario shared with the end-to-end suite ---------------------------------------------

#[tokio::test]
async fn the_shared_scenario_on_the_fake() {
    let fake = Arc::new(FakeCluster::new(FakeState::fresh("scenario")));
    let transcript = scenarios::provision_configure_refuse(fake).await;
    let text = transcript.join("\n");
    for line in [
        "apply provision",
        "read cluster_name=\"scenario\" log_provider=\"replicated\" log_replication=\"1\"",
        "plan again: no changes = true",
        "apply log_replication 3: applied = false",
        "error: log_replication 3 cannot be satisfied by this cluster @log_replication",
        "imported cluster_name=\"scenario\"",
        "apply restate_node n1",
        "apply snapshot: taken = true",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
}

// --- restate_cluster_config ----------------------------------------------------------------------

#[tokio::test]
async fn provisions_configures_and_waits_for_the_logs() {
    let (fake, h) = cluster(FakeState::fresh("c"));
    fake.with(|s| s.logs_lag = 3);
    let config = replicated(|c| {
        c.provision = Value::Value(true);
        c.num_partitions = Value::Value(4);
        c.partition_replication = s("{node: 1}");
    });
    let planned = h.cluster_config.plan(None, &config).await;
    let p = planned.state.as_ref().expect("plan");
    assert_eq!(p.id, Value::Unknown);
    assert_eq!(p.num_partitions, Value::Value(4));
    // The provisioning node's dry run says what it will use for what is not configured.
    assert_eq!(p.log_replication, Value::Unknown);
    let preview = planned
        .diags
        .iter()
        .find(|d| d.summary == "The cluster will be provisioned")
        .unwrap_or_else(|| panic!("{:#?}", planned.diags));
    assert!(
        preview
            .detail
            .contains(&format!("through {} only", fake::ENDPOINT))
            && preview.detail.contains("4 partitions")
            && preview.detail.contains("log replication 1"),
        "{preview:#?}"
    );
    assert_eq!(
        (&p.provision, &p.wait_for_logs, &p.skip_safety_checks),
        (
            &Value::Value(true),
            &Value::Value(true),
            &Value::Value(false)
        )
    );
    let (state, d) = h.cluster_config.apply(None, &planned, &config).await;
    assert!(errors(&d).is_empty(), "{d:#?}");
    let (state, _) = state.unwrap();
    assert_eq!(state.cluster_name, s("c"));
    assert_eq!(state.num_partitions, Value::Value(4));
    assert_eq!(state.log_replication, s("1"));
    // The user's spelling is kept when it means what the server reports.
    assert_eq!(state.partition_replication, s("{node: 1}"));
    // Apply returned only once every log moved (the fake moves them after 3 reads).
    let logs = fake.with(|s| s.logs.clone());
    assert_eq!(logs.len(), 4);
    assert!(logs.iter().all(|l| l.provider == LogProvider::Replicated));
}

#[tokio::test]
async fn an_unprovisioned_cluster_is_refused_unless_provision_is_true() {
    let (fake, h) = cluster(FakeState::fresh("c"));
    let planned = h.cluster_config.plan(None, &replicated(|_| {})).await;
    assert!(planned.state.is_none());
    assert_error(
        &planned.diags,
        "The cluster is not provisioned",
        "provision",
    );
    assert!(!fake.with(|s| s.provisioned));
}

#[tokio::test]
async fn transitions_restate_cannot_make_are_refused_at_plan_and_apply() {
    let (fake, h) = cluster(FakeState::provisioned("c", 4));
    let (state, _) = h
        .cluster_config
        .plan_and_apply(None, &replicated(|_| {}))
        .await;
    let (state, private) = state.unwrap();
    let before = fake.with(|s| s.config.clone());

    // Against the prior state (plan_update) and against the live cluster (plan_create).
    for prior in [Some((&state, &private)), None] {
        let local = cluster_config::State {
            log_provider: s("local"),
            ..Default::default()
        };
        let planned = h.cluster_config.plan(prior, &local).await;
        assert_error(
            &planned.diags,
            "Restate cannot move logs back from the replicated provider",
            "log_provider",
        );
        let eight = replicated(|c| c.num_partitions = Value::Value(8));
        let planned = h.cluster_config.plan(prior, &eight).await;
        assert_error(
            &planned.diags,
            "num_partitions cannot change",
            "num_partitions",
        );
        assert!(error(&planned.diags, "num_partitions cannot change")
            .detail
            .contains("Set num_partitions = 4"));
    }
    assert_eq!(fake.with(|s| s.config.clone()), before);
}

#[tokio::test]
async fn a_replication_the_nodes_cannot_hold_is_refused_unless_checks_are_skipped() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let (state, _) = h
        .cluster_config
        .plan_and_apply(None, &replicated(|_| {}))
        .await;
    let (state, private) = state.unwrap();
    let two = replicated(|c| c.log_replication = s("2"));
    let (out, d) = h
        .cluster_config
        .plan_and_apply(Some((&state, &private)), &two)
        .await;
    assert!(out.is_none());
    assert_error(
        &d,
        "log_replication 2 cannot be satisfied",
        "log_replication",
    );
    let detail = &error(&d, "log_replication 2 cannot be satisfied").detail;
    assert!(
        detail.contains("but the cluster has 1 (qualifying nodes: n1 (N1))")
            && detail.contains("Nothing was changed")
            && detail.contains("skip_safety_checks = true"),
        "{detail}"
    );
    assert_eq!(
        fake.with(|s| s.config.log_replication.clone()),
        Some(Replication::nodes(1))
    );
    let partitions = replicated(|c| c.partition_replication = s("3"));
    let (_, d) = h
        .cluster_config
        .plan_and_apply(Some((&state, &private)), &partitions)
        .await;
    assert_error(
        &d,
        "partition_replication 3 cannot be satisfied",
        "partition_replication",
    );

    // Skipping the check writes it; the logs never move (one log server), so the wait times out.
    // The state says what was written, and which logs are still pending.
    let skip = replicated(|c| {
        c.log_replication = s("2");
        c.skip_safety_checks = Value::Value(true);
        c.timeouts = timeouts(serde_json::json!({"create": null, "update": "1s"}));
    });
    let (out, d) = h
        .cluster_config
        .plan_and_apply(Some((&state, &private)), &skip)
        .await;
    let (out, _) = out.expect("the written configuration is kept in state");
    assert_eq!(out.log_replication, s("2"));
    assert!(
        matches!(&out.pending_logs, Value::Value(p) if !p.is_empty()),
        "{out:?}"
    );
    assert_error(
        &d,
        "Logs did not reach the requested configuration in time",
        "",
    );
    assert!(
        error(&d, "Logs did not reach")
            .detail
            .contains("log 0 is on replicated {node: 1}"),
        "{d:#?}"
    );
    assert_eq!(
        fake.with(|s| s.config.log_replication.clone()),
        Some(Replication::nodes(2))
    );
}

#[tokio::test]
async fn logs_pending_then_converging() {
    let (fake, h) = cluster(FakeState::provisioned("c", 3));
    fake.with(|s| {
        s.nodes
            .push(fake::node(2, "n2", &[Role::LogServer, Role::Worker]));
        s.logs_lag = 5;
    });
    let (state, _) = h
        .cluster_config
        .plan_and_apply(None, &replicated(|c| c.log_replication = s("2")))
        .await;
    let (state, _) = state.expect("applied after the logs moved");
    assert_eq!(state.log_replication, s("2"));
    assert!(fake
        .with(|s| s.logs.clone())
        .iter()
        .all(|l| l.replication == Some(Replication::nodes(2))));
}

#[tokio::test]
async fn bad_values_are_refused_at_the_attribute_before_the_cluster_is_asked() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let cases: Vec<(cluster_config::State, &str, &str)> = vec![
        (
            cluster_config::State {
                log_provider: s("kafka"),
                ..Default::default()
            },
            "Unknown log provider",
            "log_provider",
        ),
        (
            replicated(|c| c.log_replication = s("{rack: 2}")),
            "Invalid log_replication",
            "log_replication",
        ),
        (
            replicated(|c| c.partition_replication = s("0")),
            "Invalid partition_replication",
            "partition_replication",
        ),
        (
            replicated(|c| c.log_nodeset_size = Value::Value(129)),
            "log_nodeset_size out of range",
            "log_nodeset_size",
        ),
        (
            replicated(|c| c.num_partitions = Value::Value(0)),
            "num_partitions out of range",
            "num_partitions",
        ),
        (
            cluster_config::State {
                log_provider: s("local"),
                log_replication: s("1"),
                ..Default::default()
            },
            "log_replication needs the replicated log provider",
            "log_replication",
        ),
        (
            replicated(|c| {
                c.timeouts = timeouts(serde_json::json!({"create": "soon", "update": null}))
            }),
            "Invalid duration",
            "timeouts[0].create",
        ),
    ];
    let rpcs = fake.rpc_count();
    for (config, summary, attribute) in cases {
        let planned = h.cluster_config.plan(None, &config).await;
        assert!(planned.state.is_none(), "{summary}");
        assert_eq!(errors(&planned.diags).len(), 1, "{:#?}", planned.diags);
        assert_error(&planned.diags, summary, attribute);
    }
    assert_eq!(fake.rpc_count(), rpcs, "no call for a refused value");
}

#[tokio::test]
async fn refresh_follows_the_cluster_and_refuses_another_one() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let (state, _) = h
        .cluster_config
        .plan_and_apply(None, &replicated(|c| c.log_replication = s("1")))
        .await;
    let (state, private) = state.unwrap();
    fake.with(|s| s.config.partition_replication = Some(Replication::nodes(2)));
    let (read, _) = h.cluster_config.read(&state, &private).await;
    assert_eq!(read.unwrap().0.partition_replication, s("2"));
    fake.with(|s| s.cluster_name = "other".into());
    let (read, d) = h.cluster_config.read(&state, &private).await;
    assert!(read.is_none());
    assert_error(&d, "Wrong cluster", "");
}

// --- restate_node --------------------------------------------------------------------------------

pub(super) fn node_config(name: &str, roles: &[Role]) -> node::State {
    node::State {
        name: s(name),
        roles: string_list(roles.iter().map(|r| r.as_str())),
        timeouts: timeouts(serde_json::json!({"create": "3s", "update": "3s"})),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_node_that_joins_late_is_waited_for() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let roles = [Role::Worker, Role::LogServer];
    fake.with(|s| s.joining.push((3, fake::node(2, "n2", &roles))));
    let (state, d) = h
        .node
        .plan_and_apply(None, &node_config("n2", &roles))
        .await;
    let (state, _) = state.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(state.node_id, Value::Value(2));
    assert_eq!(state.roles, string_list(["log-server", "worker"]));
    assert_eq!(state.alive, Value::Value(true));
}

#[tokio::test]
async fn a_node_that_never_joins_times_out_saying_what_the_cluster_reports() {
    let (_fake, h) = cluster(FakeState::provisioned("c", 2));
    let (state, d) = h
        .node
        .plan_and_apply(None, &node_config("ghost", &[Role::Worker]))
        .await;
    assert!(state.is_none());
    assert_error(&d, "Node ghost did not join as intended", "name");
    assert!(
        error(&d, "Node ghost")
            .detail
            .contains("no node named ghost is part of cluster \"c\" (its nodes: n1)"),
        "{d:#?}"
    );
}

#[tokio::test]
async fn node_drift_replacement_version_rule_and_removal() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let (state, _) = h
        .node
        .plan_and_apply(None, &node_config("n1", &Role::ALL))
        .await;
    let (state, private) = state.unwrap();
    // Roles changed behind Terraform's back show in the state.
    fake.with(|s| s.nodes[0].record.roles = vec![Role::Worker]);
    let (read, _) = h.node.read(&state, &private).await;
    let (read, _) = read.unwrap();
    assert_eq!(read.roles, string_list(["worker"]));
    // A new name replaces the resource.
    let planned = h
        .node
        .plan(Some((&read, &private)), &node_config("n9", &[Role::Worker]))
        .await;
    assert_eq!(planned.replace, ["name"]);
    // Skipping a minor version is refused at plan time.
    let mut v19 = node_config("n1", &[Role::Worker]);
    v19.expected_version = s("1.9.0");
    let planned = h.node.plan(Some((&read, &private)), &v19).await;
    assert_error(
        &planned.diags,
        "Unsupported version change",
        "expected_version",
    );
    // A node removed from the cluster is gone from state.
    fake.with(|s| s.nodes.clear());
    h.ctx.invalidate().await;
    let (read, _) = h.node.read(&state, &private).await;
    assert!(read.is_none());
}

/// A plan refreshes every `restate_node` in one provider process: they share the cluster view
/// and the metadata servers' group, so 30 reads send the calls of one.
#[tokio::test]
async fn node_reads_send_the_same_calls_however_many_resources_read() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let (state, _) = h
        .node
        .plan_and_apply(None, &node_config("n1", &Role::ALL))
        .await;
    let (state, private) = state.unwrap();
    let mut sent = Vec::new();
    for n in [1usize, 30] {
        h.ctx.invalidate().await;
        let before = fake.rpc_count();
        for _ in 0..n {
            let (read, d) = h.node.read(&state, &private).await;
            let (read, _) = read.unwrap_or_else(|| panic!("{d:#?}"));
            assert_eq!(read.metadata_server_member, Value::Value(true));
        }
        sent.push(fake.rpc_count() - before);
    }
    assert_eq!(sent[0], sent[1], "calls for 1 read, for 30 reads");
    // A write forgets the group with the view: the next read asks again.
    fake.with(|s| s.metadata_left.insert(1));
    h.ctx.invalidate().await;
    let (read, _) = h.node.read(&state, &private).await;
    assert_eq!(read.unwrap().0.metadata_server_member, Value::Value(false));
}

#[tokio::test]
async fn a_version_the_cluster_cannot_report_is_refused_at_plan_and_apply() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let mut config = node_config("n1", &Role::ALL);
    config.expected_version = s("1.7.12");
    config.timeouts = timeouts(serde_json::json!({"create": "60s", "update": null}));
    // Planned while the node reported its version; then it turns out not to (a node before 1.6,
    // or a plan-time read that gave up): apply refuses at once instead of waiting out 60 s.
    let planned = h.node.plan(None, &config).await;
    assert!(planned.state.is_some(), "{:#?}", planned.diags);
    fake.with(|s| s.nodes[0].record.binary_version = String::new());
    h.ctx.invalidate().await;
    let started = std::time::Instant::now();
    let (state, d) = h.node.apply(None, &planned, &config).await;
    assert!(state.is_none());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "waited {:?}",
        started.elapsed()
    );
    let summary = "expected_version needs Restate >= 1.6 to verify versions";
    assert_error(&d, summary, "expected_version");
    assert!(
        error(&d, summary)
            .detail
            .contains("node n1 does not report its version"),
        "{d:#?}"
    );
    // At plan time too.
    let planned = h.node.plan(None, &config).await;
    assert_error(&planned.diags, summary, "expected_version");
    // Another node of unknown version blocks the upgrade rule for this one.
    fake.with(|s| {
        s.nodes[0].record.binary_version = "1.7.12".into();
        s.nodes.push(fake::node(2, "n2", &[Role::Worker]));
        s.nodes[1].record.binary_version = String::new();
    });
    h.ctx.invalidate().await;
    let planned = h.node.plan(None, &config).await;
    assert_error(&planned.diags, summary, "expected_version");
    assert!(
        error(&planned.diags, summary).detail.contains("node n2"),
        "{:#?}",
        planned.diags
    );
    // Without expected_version, versions are not checked.
    config.expected_version = Value::Null;
    let (state, d) = h.node.plan_and_apply(None, &config).await;
    assert!(state.is_some(), "{d:#?}");
}

#[tokio::test]
async fn node_inputs_are_refused_at_their_attribute() {
    let (_fake, h) = cluster(FakeState::provisioned("c", 2));
    let mut bad_role = node_config("n1", &[]);
    bad_role.roles = string_list(["wroker"]);
    let mut bad_version = node_config("n1", &[Role::Worker]);
    bad_version.expected_version = s("latest");
    for (config, summary, attribute) in [
        (bad_role, "Unknown role", "roles"),
        (node_config("n1", &[]), "No roles", "roles"),
        (bad_version, "Invalid expected_version", "expected_version"),
        (node_config(" ", &[Role::Worker]), "Empty name", "name"),
        (
            node_config(" n1", &[Role::Worker]),
            "name has surrounding spaces",
            "name",
        ),
    ] {
        let planned = h.node.plan(None, &config).await;
        assert_error(&planned.diags, summary, attribute);
    }
}

// --- restate_partition_snapshot ------------------------------------------------------------------

pub(super) fn snapshot_config(
    ids: Option<&[i64]>,
    trim: Option<bool>,
) -> partition_snapshot::State {
    partition_snapshot::State {
        partition_ids: ids.map_or(Value::Null, |ids| {
            Value::Value(ids.iter().map(|i| Value::Value(*i)).collect())
        }),
        trim_log: trim.map_or(Value::Null, Value::Value),
        ..Default::default()
    }
}

fn snapshot_ids(st: &partition_snapshot::State) -> Vec<i64> {
    st.snapshots
        .as_ref_option()
        .map(|s| s.iter().map(|x| x.partition_id).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn snapshots_every_partition_by_default_and_a_subset_on_request() {
    let (_fake, h) = cluster(FakeState::provisioned("c", 4));
    let (all, _) = h
        .snapshot
        .plan_and_apply(None, &snapshot_config(None, None))
        .await;
    let (all, private) = all.unwrap();
    assert_eq!(snapshot_ids(&all), [0, 1, 2, 3]);
    assert_eq!(all.trim_log, Value::Value(false));
    // The default stays: no changes.
    let again = h
        .snapshot
        .plan(Some((&all, &private)), &snapshot_config(None, None))
        .await;
    assert!(again.replace.is_empty());
    // A subset, then back to every partition: replaced, and every partition again.
    let subset = snapshot_config(Some(&[1, 3]), None);
    let planned = h.snapshot.plan(Some((&all, &private)), &subset).await;
    assert_eq!(planned.replace, ["partition_ids"]);
    let (sub, _) = h.snapshot.apply(Some(&all), &planned, &subset).await;
    let (sub, private) = sub.unwrap();
    assert_eq!(snapshot_ids(&sub), [1, 3]);
    let back = h
        .snapshot
        .plan(Some((&sub, &private)), &snapshot_config(None, None))
        .await;
    assert_eq!(back.replace, ["partition_ids"]);
    let (every, _) = h
        .snapshot
        .apply(Some(&sub), &back, &snapshot_config(None, None))
        .await;
    assert_eq!(snapshot_ids(&every.unwrap().0), [0, 1, 2, 3]);
    // trim_log true, then removed: the default false comes back, as a replacement.
    let (trimmed, _) = h
        .snapshot
        .plan_and_apply(None, &snapshot_config(None, Some(true)))
        .await;
    let (trimmed, private) = trimmed.unwrap();
    let back = h
        .snapshot
        .plan(Some((&trimmed, &private)), &snapshot_config(None, None))
        .await;
    assert_eq!(back.replace, ["trim_log"]);
    assert_eq!(back.state.unwrap().trim_log, Value::Value(false));
}

#[tokio::test]
async fn a_snapshot_that_fails_for_one_partition_keeps_the_others_and_says_which() {
    let (fake, h) = cluster(FakeState::provisioned("c", 4));
    fake.with(|s| {
        s.snapshot_failures
            .insert(2, fake::repository_not_configured(2));
    });
    let (state, d) = h
        .snapshot
        .plan_and_apply(None, &snapshot_config(None, None))
        .await;
    assert_eq!(snapshot_ids(&state.unwrap().0), [0, 1, 3]);
    assert_error(&d, "Snapshots failed for 1 of 4 partitions", "");
    assert!(
        error(&d, "Snapshots failed")
            .detail
            .contains("- partition 2:"),
        "{d:#?}"
    );

    fake.with(|s| {
        s.snapshot_failures = (0..4)
            .map(|p| (p, fake::repository_not_configured(p)))
            .collect::<BTreeMap<_, _>>();
    });
    let (state, d) = h
        .snapshot
        .plan_and_apply(None, &snapshot_config(None, None))
        .await;
    assert!(state.is_none());
    assert_error(&d, "No snapshot repository is configured", "");
}

#[tokio::test]
async fn unknown_partitions_are_refused_and_never_sent() {
    let (fake, h) = cluster(FakeState::provisioned("c", 4));
    let planned = h
        .snapshot
        .plan(None, &snapshot_config(Some(&[2, 9]), None))
        .await;
    assert_error(&planned.diags, "Unknown partition ids", "partition_ids");
    assert!(error(&planned.diags, "Unknown partition ids")
        .detail
        .contains(
            "Partition 9 is not in the cluster's partition table (it has partitions 0 to 3)"
        ));
    let planned = h
        .snapshot
        .plan(None, &snapshot_config(Some(&[-1]), None))
        .await;
    assert_error(&planned.diags, "Invalid partition id", "partition_ids[0]");
    let planned = h
        .snapshot
        .plan(None, &snapshot_config(Some(&[]), None))
        .await;
    assert_error(&planned.diags, "Empty partition_ids", "partition_ids");
    assert!(fake.with(|s| s.exports.is_empty()), "nothing was exported");
    let (imported, d) = h.snapshot.import("x").await;
    assert!(imported.is_none());
    assert_error(&d, "restate_partition_snapshot cannot be imported", "");
}

#[tokio::test]
async fn a_log_is_never_trimmed_past_a_replica_behind_its_snapshot() {
    let (fake, h) = cluster(FakeState::provisioned("c", 4));
    fake.with(|s| {
        s.applied_lsn = 10;
        s.followers = BTreeMap::from([(1, Some(7)), (2, None), (3, Some(12))]);
    });
    let (state, d) = h
        .snapshot
        .plan_and_apply(None, &snapshot_config(None, Some(true)))
        .await;
    assert!(state.is_some(), "{d:#?}");
    assert_eq!(
        fake.with(|s| s.trims.clone()),
        [(0, 10), (1, 7), (3, 10)],
        "partition 1 trimmed to its follower, 2 not at all"
    );
    let warning = d
        .iter()
        .find(|x| !x.error && x.summary == "Some logs were trimmed less than their snapshot")
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert!(
        warning
            .detail
            .contains("partition 1 (log 1): trimmed to LSN 7, short of the snapshot's 10")
            && warning.detail.contains("partition 2 (log 2): not trimmed")
            && !warning.detail.contains("partition 0")
            && !warning.detail.contains("partition 3"),
        "{d:#?}"
    );
    // Without trim_log, nothing is trimmed.
    fake.with(|s| s.trims.clear());
    h.snapshot
        .plan_and_apply(None, &snapshot_config(None, None))
        .await;
    assert!(fake.with(|s| s.trims.is_empty()));
}

#[tokio::test]
async fn a_snapshot_the_cluster_lost_is_planned_again() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let (state, _) = h
        .snapshot
        .plan_and_apply(None, &snapshot_config(None, None))
        .await;
    let (state, private) = state.unwrap();
    // Right after the snapshot, a status no newer than it cannot tell: kept.
    fake.with(|s| s.archived.clear());
    let (read, d) = h.snapshot.read(&state, &private).await;
    assert!(read.is_some(), "{d:#?}");
    // The same state a minute later: the leaders' status is newer, but reports nothing archived,
    // as after any restart (Restate reads the repository only when it snapshots): kept.
    let mut older = state.clone();
    let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    older.created_at = s(&humantime::format_rfc3339_seconds(minute_ago).to_string());
    h.ctx.invalidate().await;
    let (read, d) = h.snapshot.read(&older, &private).await;
    assert!(read.is_some(), "{d:#?}");
    // The node that took it recorded, from the controller's status right after.
    match &private {
        Value::Value(p) => assert_eq!(p.takers, BTreeMap::from([(0, 1), (1, 1)])),
        other => panic!("{other:?}"),
    }
    // Partition 1 failed over to a node that reports its own older snapshot (N1, which took the
    // recorded one, runs it no more): that says nothing of the repository, kept.
    fake.with(|s| {
        s.archived = BTreeMap::from([(0, 2), (1, 2)]);
        s.moved_leaders.insert(1, (7, Some(1)));
    });
    h.ctx.invalidate().await;
    let (read, d) = h.snapshot.read(&older, &private).await;
    assert!(read.is_some(), "{d:#?}");
    fake.with(|s| s.moved_leaders.clear());
    // Still archived at (or past) the recorded LSN: kept.
    fake.with(|s| s.archived = BTreeMap::from([(0, 2), (1, 5)]));
    h.ctx.invalidate().await;
    let (read, d) = h.snapshot.read(&older, &private).await;
    assert!(read.is_some(), "{d:#?}");
    // Archived behind it (the repository holds an older snapshot): planned again.
    fake.with(|s| s.archived = BTreeMap::from([(0, 2), (1, 1)]));
    h.ctx.invalidate().await;
    let (read, d) = h.snapshot.read(&older, &private).await;
    assert!(read.is_none(), "{d:#?}");
    let w = d
        .iter()
        .find(|x| x.summary == "The snapshots are gone from the repository")
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert!(
        w.detail.contains(
            "partition 1: snapshot snap_fake2 covered LSN 2; N1, which took it, now reports archived LSN 1"
        ) && !w.detail.contains("partition 0:"),
        "{d:#?}"
    );
}

// --- every attribute's plan path, as a table ------------------------------------------------------

/// What changing one attribute of an applied resource plans.
#[derive(Debug, PartialEq, Eq)]
enum PlanPath {
    /// An update in place.
    Update,
    /// A replacement, because of these attributes.
    Replace(Vec<String>),
    /// Refused at plan time: the first error's summary (a prefix of it) and attribute.
    Refused(String, String),
}

/// The plan path of a plan.
fn plan_path<S, P>(planned: &scenarios::Planned<S, P>) -> PlanPath {
    if let Some(e) = planned.diags.iter().find(|d| d.error) {
        return PlanPath::Refused(e.summary.clone(), e.attribute.clone());
    }
    match planned.replace.as_slice() {
        [] => PlanPath::Update,
        attrs => PlanPath::Replace(attrs.to_vec()),
    }
}

fn replace(attribute: &str) -> PlanPath {
    PlanPath::Replace(vec![attribute.to_string()])
}

fn refused(summary: &str, attribute: &str) -> PlanPath {
    PlanPath::Refused(summary.to_string(), attribute.to_string())
}

/// Checks one row: the plan path, and (for a plan that succeeds) that it shows a diff.
#[track_caller]
fn assert_row<S: PartialEq + std::fmt::Debug, P>(
    resource: &str,
    attribute: &str,
    prior: &S,
    planned: &scenarios::Planned<S, P>,
    expected: &PlanPath,
) {
    assert_eq!(
        &plan_path(planned),
        expected,
        "{resource}.{attribute}: {:#?}",
        planned.diags
    );
    if !matches!(expected, PlanPath::Refused(..)) {
        assert_ne!(
            planned.state.as_ref(),
            Some(prior),
            "{resource}.{attribute} shows no diff"
        );
    }
}

/// Every argument of every resource, by resource: its configurable attributes and blocks.
fn every_argument() -> BTreeSet<(String, String)> {
    use tf_provider::schema::AttributeConstraint;
    use tf_provider::Provider;
    let mut d = tf_provider::Diagnostics::default();
    let resources = crate::RestateProvider::default()
        .get_resources(&mut d)
        .expect("the resources");
    let mut out = BTreeSet::new();
    for (resource, r) in &resources {
        let block = r.schema(&mut d).expect("a schema").block;
        let attributes = block
            .attributes
            .iter()
            .filter(|(_, a)| !matches!(a.constraint, AttributeConstraint::Computed))
            .map(|(name, _)| name.clone());
        for name in attributes.chain(block.blocks.keys().cloned()) {
            out.insert((resource.clone(), name));
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn every_attribute_change_plans_as_documented() {
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    let (fake, h) = cluster(FakeState::provisioned("c", 4));
    fake.with(|s| s.nodes.push(fake::node(2, "n2", &Role::ALL)));

    // restate_cluster_config: every argument updates in place, but what Restate cannot do.
    let base = replicated(|c| {
        c.log_replication = s("1");
        c.partition_replication = s("1");
    });
    let (state, _) = h.cluster_config.plan_and_apply(None, &base).await;
    let (state, private) = state.unwrap();
    type Change = fn(&mut cluster_config::State);
    let changes: [(&str, Change, PlanPath); 11] = [
        (
            "log_provider",
            |c| {
                c.log_provider = s("local");
                c.log_replication = Value::Null;
            },
            refused(
                "Restate cannot move logs back from the replicated provider",
                "log_provider",
            ),
        ),
        (
            "log_replication",
            |c| c.log_replication = s("2"),
            PlanPath::Update,
        ),
        (
            "partition_replication",
            |c| c.partition_replication = s("2"),
            PlanPath::Update,
        ),
        (
            "log_nodeset_size",
            |c| c.log_nodeset_size = Value::Value(2),
            PlanPath::Update,
        ),
        (
            "num_partitions",
            |c| c.num_partitions = Value::Value(8),
            refused("num_partitions cannot change", "num_partitions"),
        ),
        (
            "provision",
            |c| c.provision = Value::Value(true),
            PlanPath::Update,
        ),
        (
            "provision_endpoint",
            |c| c.provision_endpoint = s("http://fake-n2:5122"),
            PlanPath::Update,
        ),
        (
            "wait_for_logs",
            |c| c.wait_for_logs = Value::Value(false),
            PlanPath::Update,
        ),
        (
            "skip_safety_checks",
            |c| c.skip_safety_checks = Value::Value(true),
            PlanPath::Update,
        ),
        (
            "allow_lower_replication",
            |c| c.allow_lower_replication = Value::Value(true),
            PlanPath::Update,
        ),
        (
            "timeouts",
            |c| c.timeouts = timeouts(serde_json::json!({"create": "1m", "update": "1m"})),
            PlanPath::Update,
        ),
    ];
    for (attribute, change, expected) in changes {
        let mut config = base.clone();
        change(&mut config);
        let planned = h
            .cluster_config
            .plan(Some((&state, &private)), &config)
            .await;
        assert_row("cluster_config", attribute, &state, &planned, &expected);
        covered.insert(("cluster_config".into(), attribute.into()));
    }
    // From the local provider, replicated is an update in place.
    let (local_fake, local) = cluster(FakeState::provisioned("c", 4));
    local_fake.with(|s| s.change_config(|c| c.log_provider = LogProvider::Local));
    let local_config = cluster_config::State {
        log_provider: s("local"),
        ..Default::default()
    };
    let (on_local, _) = local
        .cluster_config
        .plan_and_apply(None, &local_config)
        .await;
    let (on_local, local_private) = on_local.unwrap();
    let planned = local
        .cluster_config
        .plan(Some((&on_local, &local_private)), &replicated(|_| {}))
        .await;
    assert_row(
        "cluster_config",
        "log_provider",
        &on_local,
        &planned,
        &PlanPath::Update,
    );

    // restate_node: a new name replaces; roles and the version update in place, and what the
    // node reports becomes unknown (it restarts); the lifecycle states, on_destroy and timeouts
    // update in place, and the node does not restart.
    let base = node_config("n1", &Role::ALL);
    let (state, _) = h.node.plan_and_apply(None, &base).await;
    let (state, private) = state.unwrap();
    type NodeChange = fn(&mut node::State);
    let cases: [(&str, NodeChange, PlanPath, bool); 8] = [
        ("name", |c| c.name = s("n2"), replace("name"), true),
        (
            "roles",
            |c| c.roles = string_list(["worker"]),
            PlanPath::Update,
            true,
        ),
        (
            "expected_version",
            |c| c.expected_version = s("1.7"),
            PlanPath::Update,
            true,
        ),
        (
            "worker_state",
            |c| c.worker_state = s("draining"),
            PlanPath::Update,
            false,
        ),
        (
            "log_server_storage_state",
            |c| c.log_server_storage_state = s("read-only"),
            PlanPath::Update,
            false,
        ),
        (
            "metadata_server_member",
            |c| c.metadata_server_member = Value::Value(false),
            PlanPath::Update,
            false,
        ),
        (
            "on_destroy",
            |c| c.on_destroy = s("forget"),
            PlanPath::Update,
            false,
        ),
        (
            "timeouts",
            |c| c.timeouts = timeouts(serde_json::json!({"create": "9s", "update": "9s"})),
            PlanPath::Update,
            false,
        ),
    ];
    for (attribute, change, expected, observed_unknown) in cases {
        let mut config = base.clone();
        change(&mut config);
        let planned = h.node.plan(Some((&state, &private)), &config).await;
        assert_row("node", attribute, &state, &planned, &expected);
        covered.insert(("node".into(), attribute.into()));
        let p = planned.state.unwrap();
        assert_eq!(
            p.generation == Value::Unknown,
            observed_unknown,
            "{attribute}"
        );
    }

    // restate_restart_gate: another node replaces it; everything else updates in place.
    let base = super::lifecycle_handlers::gate("n1", "1.7.12");
    let (state, _) = h.gate.plan_and_apply(None, &base).await;
    let (state, private) = state.unwrap();
    type GateChange = fn(&mut restart_gate::State);
    let cases: [(&str, GateChange, PlanPath); 5] = [
        ("node", |c| c.node = s("n2"), replace("node")),
        (
            "roles",
            |c| c.roles = string_list(["worker"]),
            PlanPath::Update,
        ),
        (
            "expected_version",
            |c| c.expected_version = s("1.7"),
            PlanPath::Update,
        ),
        (
            "allow_downtime",
            |c| c.allow_downtime = Value::Value(true),
            PlanPath::Update,
        ),
        (
            "timeouts",
            |c| c.timeouts = timeouts(serde_json::json!({"create": "9s", "delete": "9s"})),
            PlanPath::Update,
        ),
    ];
    for (attribute, change, expected) in cases {
        let mut config = base.clone();
        change(&mut config);
        let planned = h.gate.plan(Some((&state, &private)), &config).await;
        assert_row("restart_gate", attribute, &state, &planned, &expected);
        covered.insert(("restart_gate".into(), attribute.into()));
    }

    // restate_partition_snapshot: any change takes new snapshots, except timeouts.
    let base = snapshot_config(None, None);
    let (state, _) = h.snapshot.plan_and_apply(None, &base).await;
    let (state, private) = state.unwrap();
    type SnapChange = fn(&mut partition_snapshot::State);
    let cases: [(&str, SnapChange, PlanPath); 4] = [
        (
            "partition_ids",
            |c| c.partition_ids = Value::Value(vec![Value::Value(1)]),
            replace("partition_ids"),
        ),
        (
            "trim_log",
            |c| c.trim_log = Value::Value(true),
            replace("trim_log"),
        ),
        (
            "triggers",
            |c| c.triggers = Value::Value(BTreeMap::from([("a".into(), s("1"))])),
            replace("triggers"),
        ),
        (
            "timeouts",
            |c| c.timeouts = timeouts(serde_json::json!({"create": "9s"})),
            PlanPath::Update,
        ),
    ];
    for (attribute, change, expected) in cases {
        let mut config = base.clone();
        change(&mut config);
        let planned = h.snapshot.plan(Some((&state, &private)), &config).await;
        assert_row("partition_snapshot", attribute, &state, &planned, &expected);
        covered.insert(("partition_snapshot".into(), attribute.into()));
    }

    // The table has a row for every argument of every resource.
    let arguments = every_argument();
    let missing: Vec<_> = arguments.difference(&covered).collect();
    assert!(missing.is_empty(), "arguments without a row: {missing:?}");
    let stale: Vec<_> = covered.difference(&arguments).collect();
    assert!(stale.is_empty(), "rows for no argument: {stale:?}");
}

// --- exactly one cluster, no lost writes, honest convergence --------------------------------------

fn other(endpoint: &str, o: fake::OtherEndpoint) -> (String, fake::OtherEndpoint) {
    (endpoint.to_string(), o)
}

const N2: &str = "http://fake-n2:5122";

#[tokio::test]
async fn never_provisions_when_an_endpoint_reports_a_provisioned_cluster() {
    // The first endpoint is a node still waiting to join; the cluster runs behind the second.
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    fake.with(|s| {
        s.others = vec![other(
            N2,
            fake::OtherEndpoint::Unprovisioned {
                cluster_name: "c".into(),
            },
        )];
        s.others_first = true;
    });
    let config = replicated(|c| c.provision = Value::Value(true));
    let (state, d) = h.cluster_config.plan_and_apply(None, &config).await;
    assert!(state.is_some(), "{d:#?}");
    assert_eq!(
        fake.with(|s| s.others[0].1.clone()),
        fake::OtherEndpoint::Unprovisioned {
            cluster_name: "c".into()
        },
        "the waiting node was provisioned: a second cluster"
    );
}

#[tokio::test]
async fn provisions_through_the_first_endpoint_only() {
    let (fake, h) = cluster(FakeState::fresh("c"));
    let waiting = fake::OtherEndpoint::Unprovisioned {
        cluster_name: "c".into(),
    };
    fake.with(|s| s.others = vec![other(N2, waiting.clone())]);
    let config = replicated(|c| c.provision = Value::Value(true));
    let (state, d) = h.cluster_config.plan_and_apply(None, &config).await;
    assert!(state.is_some(), "{d:#?}");
    assert!(fake.with(|s| s.provisioned));
    assert_eq!(fake.with(|s| s.others[0].1.clone()), waiting);
}

#[tokio::test]
async fn a_provisioning_node_that_does_not_answer_is_not_replaced_by_another() {
    let (fake, h) = cluster(FakeState::fresh("c"));
    fake.with(|s| {
        s.others = vec![other(N2, fake::OtherEndpoint::Down)];
        s.others_first = true;
    });
    let config = replicated(|c| c.provision = Value::Value(true));
    let (state, d) = h.cluster_config.plan_and_apply(None, &config).await;
    assert!(state.is_none());
    let e = error(&d, "Provisioning the cluster failed");
    assert_eq!(e.attribute, "provision_endpoint");
    assert!(
        e.detail.contains(&format!("one node only, {N2}")) && e.detail.contains("never retried"),
        "{e:#?}"
    );
    assert!(
        !fake.with(|s| s.provisioned),
        "provisioned through another node"
    );
}

#[tokio::test]
async fn endpoints_of_two_clusters_are_refused_before_anything_is_written() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    fake.with(|s| {
        s.others = vec![other(
            N2,
            fake::OtherEndpoint::OwnCluster {
                cluster_name: "c".into(),
                fingerprint: 7,
            },
        )]
    });
    let before = fake.with(|s| s.versions);
    let config = replicated(|c| {
        c.provision = Value::Value(true);
        c.log_nodeset_size = Value::Value(3);
    });
    let (state, d) = h.cluster_config.plan_and_apply(None, &config).await;
    assert!(state.is_none());
    let e = error(&d, "The endpoints belong to different clusters");
    assert!(
        e.detail.contains(&format!("{N2} has fingerprint 7")),
        "{e:#?}"
    );
    assert_eq!(fake.with(|s| s.versions), before, "something was written");
}

#[tokio::test]
async fn another_cluster_behind_the_endpoints_is_an_error_and_keeps_the_state() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let (cfg, _) = h
        .cluster_config
        .plan_and_apply(None, &replicated(|_| {}))
        .await;
    let (cfg, cfg_private) = cfg.unwrap();
    let (n1, _) = h
        .node
        .plan_and_apply(None, &node_config("n1", &Role::ALL))
        .await;
    let (n1, n1_private) = n1.unwrap();
    let (snap, _) = h
        .snapshot
        .plan_and_apply(None, &snapshot_config(None, None))
        .await;
    let (snap, snap_private) = snap.unwrap();
    let recorded = fake.with(|s| s.fingerprint.to_string());
    assert_eq!(cfg.cluster_fingerprint, s(&recorded));
    assert_eq!(n1.cluster_fingerprint, s(&recorded));
    assert_eq!(snap.cluster_fingerprint, s(&recorded));

    // The same name, another cluster (rebuilt, or the provider pointed at a twin).
    fake.with(|s| s.fingerprint = 99);
    h.ctx.invalidate().await;
    let (read, d) = h.cluster_config.read(&cfg, &cfg_private).await;
    assert!(read.is_none());
    let e = error(&d, "Another cluster");
    assert!(
        e.detail.contains("fingerprint 99") && e.detail.contains(&recorded),
        "{e:#?}"
    );
    let (read, d) = h.node.read(&n1, &n1_private).await;
    assert!(read.is_none());
    error(&d, "Another cluster");
    let (read, d) = h.snapshot.read(&snap, &snap_private).await;
    assert!(read.is_none());
    error(&d, "Another cluster");
    // A node missing from its own cluster is gone; from another cluster, it is an error (above).
    fake.with(|s| {
        s.fingerprint = recorded.parse().unwrap();
        s.nodes.clear();
    });
    h.ctx.invalidate().await;
    let (read, d) = h.node.read(&n1, &n1_private).await;
    assert!(read.is_none() && errors(&d).is_empty(), "{d:#?}");
    // An update is refused too.
    fake.with(|s| s.fingerprint = 99);
    let planned = h
        .cluster_config
        .plan(
            Some((&cfg, &cfg_private)),
            &replicated(|c| c.log_nodeset_size = Value::Value(2)),
        )
        .await;
    let (applied, d) = h
        .cluster_config
        .apply(
            Some(&cfg),
            &planned,
            &replicated(|c| c.log_nodeset_size = Value::Value(2)),
        )
        .await;
    assert!(applied.is_none());
    error(&d, "Another cluster");
    assert_eq!(fake.with(|s| s.config.log_nodeset_size), 0);
}

#[tokio::test]
async fn a_change_made_during_the_apply_is_not_overwritten() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    fake.with(|s| s.nodes.push(fake::node(2, "n2", &Role::ALL)));
    let (state, _) = h
        .cluster_config
        .plan_and_apply(None, &replicated(|_| {}))
        .await;
    let (state, private) = state.unwrap();
    // Someone runs `restatectl config set --partition-replication 2` between the check and the
    // write of this apply.
    let theirs = fake.with(|s| {
        let mut c = s.config.clone();
        c.partition_replication = Some(Replication::nodes(2));
        s.interference = Some((1, c.clone()));
        c
    });
    let mine = replicated(|c| c.log_replication = s("2"));
    let (applied, d) = h
        .cluster_config
        .plan_and_apply(Some((&state, &private)), &mine)
        .await;
    assert!(applied.is_none());
    let e = error(&d, "The cluster configuration changed since it was checked");
    assert!(e.detail.contains("Nothing was written"), "{e:#?}");
    assert_eq!(fake.with(|s| s.config.clone()), theirs);

    // Restate moving logs meanwhile (their metadata version moves, the configuration does not)
    // is no reason to refuse.
    let (state, _) = h.cluster_config.read(&state, &private).await;
    let (state, private) = state.unwrap();
    fake.with(|s| s.logs_churn = true);
    let (applied, d) = h
        .cluster_config
        .plan_and_apply(Some((&state, &private)), &mine)
        .await;
    assert!(applied.is_some(), "{d:#?}");
    assert_eq!(
        fake.with(|s| s.config.log_replication.clone()),
        Some(Replication::nodes(2))
    );
}

#[tokio::test]
async fn a_change_made_between_plan_and_apply_is_not_overwritten() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    fake.with(|s| s.nodes.push(fake::node(2, "n2", &Role::ALL)));
    let base = replicated(|c| c.log_replication = s("1"));
    let (state, _) = h.cluster_config.plan_and_apply(None, &base).await;
    let (state, private) = state.unwrap();
    // The plan changes the nodeset size, and keeps log_replication at 1 as the cluster has it.
    let mine = replicated(|c| {
        c.log_replication = s("1");
        c.log_nodeset_size = Value::Value(2);
    });
    let planned = h.cluster_config.plan(Some((&state, &private)), &mine).await;
    assert!(planned.state.is_some(), "{:#?}", planned.diags);
    // Between plan and apply, someone runs `restatectl config set --log-replication 2`.
    fake.with(|s| s.change_config(|c| c.log_replication = Some(Replication::nodes(2))));
    let theirs = fake.with(|s| s.config.clone());
    let (applied, d) = h.cluster_config.apply(Some(&state), &planned, &mine).await;
    assert!(applied.is_none(), "{d:#?}");
    let e = error(&d, "The cluster configuration changed since it was checked");
    assert!(
        e.detail
            .contains("log_replication was 1 when checked and is 2 now")
            && e.detail.contains("Nothing was written"),
        "{e:#?}"
    );
    assert_eq!(
        fake.with(|s| s.config.clone()),
        theirs,
        "their change was undone"
    );

    // A change to a setting this configuration leaves to the cluster (partition_replication) is
    // not undone by the write, so it is no reason to refuse; neither is one to the value the
    // write sets anyway.
    let (state, _) = h.cluster_config.read(&state, &private).await;
    let (state, private) = state.unwrap();
    let mine = replicated(|c| {
        c.log_replication = s("2");
        c.log_nodeset_size = Value::Value(2);
    });
    let planned = h.cluster_config.plan(Some((&state, &private)), &mine).await;
    fake.with(|s| {
        s.change_config(|c| {
            c.partition_replication = Some(Replication::nodes(2));
            c.log_nodeset_size = 2;
        })
    });
    let (applied, d) = h.cluster_config.apply(Some(&state), &planned, &mine).await;
    assert!(applied.is_some(), "{d:#?}");
    assert_eq!(
        fake.with(|s| s.config.partition_replication.clone()),
        Some(Replication::nodes(2))
    );

    // On create, the configuration checked against the running cluster is what the write
    // assumes: a change right after that check is not overwritten either.
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    fake.with(|s| s.nodes.push(fake::node(2, "n2", &Role::ALL)));
    let create = replicated(|c| c.log_nodeset_size = Value::Value(2));
    let planned = h.cluster_config.plan(None, &create).await;
    assert!(planned.state.is_some(), "{:#?}", planned.diags);
    let theirs = fake.with(|s| {
        let mut c = s.config.clone();
        c.log_nodeset_size = 3;
        s.interference = Some((1, c.clone()));
        c
    });
    let (applied, d) = h.cluster_config.apply(None, &planned, &create).await;
    assert!(applied.is_none(), "{d:#?}");
    assert!(
        error(&d, "The cluster configuration changed since it was checked")
            .detail
            .contains("log_nodeset_size was 0 when checked and is 3 now"),
        "{d:#?}"
    );
    assert_eq!(fake.with(|s| s.config.clone()), theirs);
}

#[tokio::test]
async fn an_unset_partition_replication_is_left_as_the_cluster_has_it() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let (state, _) = h
        .cluster_config
        .plan_and_apply(None, &replicated(|_| {}))
        .await;
    let (state, private) = state.unwrap();
    fake.with(|s| s.change_config(|c| c.partition_replication = Some(Replication::nodes(3))));
    let (state, _) = h.cluster_config.read(&state, &private).await.0.unwrap();
    let (_, d) = h
        .cluster_config
        .plan_and_apply(
            Some((&state, &private)),
            &replicated(|c| c.log_nodeset_size = Value::Value(2)),
        )
        .await;
    assert!(errors(&d).is_empty(), "{d:#?}");
    assert_eq!(
        fake.with(|s| s.config.partition_replication.clone()),
        Some(Replication::nodes(3))
    );
}

#[tokio::test]
async fn creating_on_a_running_cluster_shows_what_changes_and_refuses_to_lower_replication() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    fake.with(|s| {
        s.nodes.push(fake::node(2, "n2", &Role::ALL));
        s.nodes.push(fake::node(3, "n3", &Role::ALL));
        s.config.log_replication = Some(Replication::nodes(2));
        s.config.partition_replication = Some(Replication::nodes(2));
    });
    let lower = replicated(|c| {
        c.log_replication = s("1");
        c.log_nodeset_size = Value::Value(3);
    });
    let planned = h.cluster_config.plan(None, &lower).await;
    assert!(planned.state.is_none());
    assert_error(
        &planned.diags,
        "log_replication would go down on a running cluster",
        "log_replication",
    );
    assert!(error(&planned.diags, "would go down")
        .detail
        .contains("terraform import"));
    // Allowed explicitly: a warning for each live value that changes, current -> desired.
    let mut allowed = lower.clone();
    allowed.allow_lower_replication = Value::Value(true);
    let planned = h.cluster_config.plan(None, &allowed).await;
    assert!(planned.state.is_some(), "{:#?}", planned.diags);
    let warnings: Vec<&Diag> = planned.diags.iter().filter(|d| !d.error).collect();
    assert!(
        warnings.iter().any(|w| w.attribute == "log_replication"
            && w.detail
                .contains("log_replication changes from 2 (the cluster's current value) to 1")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.attribute == "log_nodeset_size" && w.detail.contains("from 0")),
        "{warnings:#?}"
    );
    // Apply makes the same check.
    let (out, d) = h.cluster_config.apply(None, &planned, &lower).await;
    assert!(out.is_none());
    error(&d, "would go down on a running cluster");
}

#[tokio::test]
async fn lowering_or_leaving_no_tolerance_is_said_at_plan_time() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    fake.with(|s| s.nodes.push(fake::node(2, "n2", &Role::ALL)));
    let (state, _) = h
        .cluster_config
        .plan_and_apply(None, &replicated(|c| c.log_replication = s("1")))
        .await;
    let (state, private) = state.unwrap();
    let two = replicated(|c| c.log_replication = s("2"));
    let planned = h.cluster_config.plan(Some((&state, &private)), &two).await;
    let w = planned
        .diags
        .iter()
        .find(|d| !d.error && d.summary == "log_replication leaves no failure tolerance")
        .unwrap_or_else(|| panic!("{:#?}", planned.diags));
    assert!(w.detail.contains("each of the 2 nodes"), "{w:#?}");
    let (state, _) = h.cluster_config.apply(Some(&state), &planned, &two).await;
    let (state, private) = state.unwrap();
    let one = replicated(|c| c.log_replication = s("1"));
    let planned = h.cluster_config.plan(Some((&state, &private)), &one).await;
    assert!(
        planned
            .diags
            .iter()
            .any(|d| !d.error && d.summary == "log_replication goes down"),
        "{:#?}",
        planned.diags
    );
}

#[tokio::test]
async fn logs_still_moving_after_a_refresh_show_in_the_plan_and_apply_waits_for_them() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    fake.with(|s| s.nodes.push(fake::node(2, "n2", &Role::ALL)));
    let (state, _) = h
        .cluster_config
        .plan_and_apply(None, &replicated(|c| c.log_replication = s("1")))
        .await;
    let (state, private) = state.unwrap();
    assert_eq!(state.pending_logs, Value::Value(Vec::new()));
    // The replication changes behind Terraform's back (as when a restarted log server makes the
    // server switch by itself); the logs move only a few reads later.
    fake.with(|s| {
        s.logs_lag = 3;
        s.change_config(|c| c.log_replication = Some(Replication::nodes(2)));
    });
    let config = replicated(|c| c.log_replication = s("2"));
    let (refreshed, _) = h.cluster_config.read(&state, &private).await;
    let (refreshed, private) = refreshed.unwrap();
    assert_eq!(
        refreshed.pending_logs,
        Value::Value(vec![Value::Value(0), Value::Value(1)])
    );
    // The configuration says nothing new, but the plan is not empty: the logs are pending.
    let planned = h
        .cluster_config
        .plan(Some((&refreshed, &private)), &config)
        .await;
    assert_eq!(
        planned.state.as_ref().unwrap().pending_logs,
        Value::Value(Vec::new())
    );
    assert_ne!(planned.state.as_ref(), Some(&refreshed));
    let (applied, d) = h
        .cluster_config
        .apply(Some(&refreshed), &planned, &config)
        .await;
    let (applied, _) = applied.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(applied.pending_logs, Value::Value(Vec::new()));
    assert!(fake
        .with(|s| s.logs.clone())
        .iter()
        .all(|l| l.replication == Some(Replication::nodes(2))));
}

#[tokio::test]
async fn provisioned_meanwhile_with_other_values_is_a_clear_error() {
    let (fake, h) = cluster(FakeState::fresh("c"));
    let config = replicated(|c| {
        c.provision = Value::Value(true);
        c.num_partitions = Value::Value(4);
    });
    let planned = h.cluster_config.plan(None, &config).await;
    assert!(planned.state.is_some(), "{:#?}", planned.diags);
    // Someone provisions it with 8 partitions between plan and apply.
    fake.with(|s| {
        let mut other = FakeState::provisioned("c", 8);
        other.others = s.others.clone();
        *s = other;
    });
    let (out, d) = h.cluster_config.apply(None, &planned, &config).await;
    assert!(out.is_none(), "{out:#?} {d:#?}");
    let e = error(&d, "num_partitions cannot change");
    assert!(e.detail.contains("provisioned with 8 partitions"), "{e:#?}");
}
