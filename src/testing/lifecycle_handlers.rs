//! Handler tests of a node's lifecycle: worker and storage states, metadata membership, and
//! destroy as a safe removal, against the in-process fake.

use tf_provider::value::{Value, ValueEmpty};

use super::fake::{self, FakeCluster, FakeState};
use super::handlers::{assert_error, cluster, error, node_config, s, timeouts};
use super::scenarios::Handlers;
use crate::domain::{LogProvider, Role};
use crate::resources::{node, restart_gate};

/// Three nodes with every role, partitions and logs at replication 2, logs on all three.
pub(super) fn three_nodes() -> FakeState {
    FakeState::three_nodes("c")
}

pub(super) fn managed(name: &str) -> node::State {
    let mut c = node_config(name, &Role::ALL);
    c.timeouts = timeouts(serde_json::json!({"create": "20s", "update": "20s", "delete": "60s"}));
    c
}

/// Applies `config` for a node that exists; the state.
async fn track(h: &Handlers, config: &node::State) -> node::State {
    let (state, d) = h.node.plan_and_apply(None, config).await;
    state.unwrap_or_else(|| panic!("{d:#?}")).0
}

fn segments_with(fake: &FakeCluster, id: u32) -> usize {
    fake.with(|s| {
        s.logs
            .iter()
            .flat_map(|l| &l.segments)
            .filter(|seg| seg.nodeset.contains(&id))
            .count()
    })
}

#[tokio::test(start_paused = true)]
async fn destroy_removes_the_node_step_by_step() {
    let (fake, h) = cluster(three_nodes());
    let n3 = track(&h, &managed("n3")).await;
    assert_eq!(n3.on_destroy, s("remove"), "the default");
    assert_eq!(n3.metadata_server_member, Value::Value(true));
    assert!(segments_with(&fake, 3) > 0);

    let (gone, d) = h.node.plan_and_destroy(&n3, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
    fake.with(|s| {
        assert_eq!(s.tombstones, vec![3]);
        assert!(s.metadata_left.contains(&3), "left the metadata servers");
        assert!(
            !s.trims.is_empty(),
            "the logs were trimmed past its segments"
        );
        assert!(s.nodes.iter().all(|n| n.record.node_id != 3));
    });
    assert_eq!(segments_with(&fake, 3), 0, "no log segment includes it");
    h.ctx.invalidate().await;
    let (read, _) = h.node.read(&n3, &ValueEmpty::default()).await;
    assert!(read.is_none(), "gone from the cluster, so from state");
}

/// What a removal or a lifecycle change writes to the fake cluster.
fn written(fake: &FakeCluster) -> impl PartialEq + std::fmt::Debug {
    fake.with(|s| {
        (
            s.nodes.clone(),
            s.logs.clone(),
            s.config.clone(),
            s.metadata_left.clone(),
            s.tombstones.clone(),
            s.trims.clone(),
            s.reconfigured.clone(),
            s.exports.clone(),
        )
    })
}

#[tokio::test(start_paused = true)]
async fn a_removal_reaching_a_twin_cluster_is_refused_and_writes_nothing() {
    let (fake, h) = cluster(three_nodes());
    let n3 = track(&h, &managed("n3")).await;
    let recorded = fake.with(|s| s.fingerprint);
    // `terraform destroy -refresh=false` with the provider pointed at a cluster of the same name
    // whose node n3 is another machine: no refresh tells them apart.
    fake.with(|s| s.fingerprint = 99);
    h.ctx.invalidate().await;
    let before = written(&fake);
    let (planned, d) = h.node.plan_destroy(&n3, &ValueEmpty::default()).await;
    assert!(planned.is_none(), "the destroy was planned: {d:#?}");
    let e = error(&d, "Another cluster");
    assert!(
        e.detail.contains("fingerprint 99") && e.detail.contains(&recorded.to_string()),
        "{e:#?}"
    );
    // Apply checks again (the plan-time check is skipped when the cluster answers slowly).
    let (gone, d) = h.node.destroy(&n3, &ValueEmpty::default()).await;
    assert!(!gone, "the resource left the state: {d:#?}");
    error(&d, "Another cluster");
    assert_eq!(written(&fake), before, "the twin's node was touched");
    // A twin without a node of that name: still an error, not "already gone".
    fake.with(|s| {
        s.nodes.retain(|n| n.record.name != "n3");
        s.settle_logs();
    });
    h.ctx.invalidate().await;
    let before = written(&fake);
    let (gone, d) = h.node.destroy(&n3, &ValueEmpty::default()).await;
    assert!(!gone, "{d:#?}");
    error(&d, "Another cluster");
    assert_eq!(written(&fake), before);
    // Back on its own cluster, the removal goes ahead.
    fake.with(|s| {
        s.fingerprint = recorded;
        s.nodes.push(fake::node(3, "n3", &Role::ALL));
    });
    h.ctx.invalidate().await;
    let (gone, d) = h.node.plan_and_destroy(&n3, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
}

#[tokio::test(start_paused = true)]
async fn an_update_reaching_a_twin_cluster_is_refused_at_once_and_writes_nothing() {
    let (fake, h) = cluster(three_nodes());
    let mut config = managed("n2");
    config.timeouts =
        timeouts(serde_json::json!({"create": "20s", "update": "1h", "delete": null}));
    let n2 = track(&h, &config).await;
    let mut drain = config.clone();
    drain.worker_state = s("draining");
    // Planned against its own cluster; the provider reaches a twin at apply.
    let planned = h
        .node
        .plan(Some((&n2, &ValueEmpty::default())), &drain)
        .await;
    assert!(planned.state.is_some(), "{:#?}", planned.diags);
    fake.with(|s| s.fingerprint = 99);
    h.ctx.invalidate().await;
    let before = written(&fake);
    let started = tokio::time::Instant::now();
    let (state, d) = h.node.apply(Some(&n2), &planned, &drain).await;
    assert!(state.is_none());
    error(&d, "Another cluster");
    assert_eq!(written(&fake), before, "the twin's node was changed");
    // The twin has no node n2: refused at the first read, not after waiting out `update` (1 h).
    fake.with(|s| {
        s.nodes.retain(|n| n.record.name != "n2");
        s.settle_logs();
    });
    h.ctx.invalidate().await;
    let mut roles = config.clone();
    roles.roles = crate::tf::value::string_list(["worker"]);
    let planned = h
        .node
        .plan(Some((&n2, &ValueEmpty::default())), &roles)
        .await;
    let (state, d) = h.node.apply(Some(&n2), &planned, &roles).await;
    assert!(state.is_none());
    error(&d, "Another cluster");
    assert!(
        !d.iter().any(|d| d.summary.contains("did not join")),
        "{d:#?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn removing_two_nodes_that_are_each_safe_alone_is_refused_together() {
    let (fake, h) = cluster(three_nodes());
    let n2 = track(&h, &managed("n2")).await;
    let n3 = track(&h, &managed("n3")).await;
    let (first, d) = h.node.plan_destroy(&n2, &ValueEmpty::default()).await;
    assert!(first.is_some(), "{d:#?}");
    let (second, d) = h.node.plan_destroy(&n3, &ValueEmpty::default()).await;
    assert!(second.is_none());
    let e = error(&d, "Removing n2 and n3 is not safe");
    assert!(e.detail.contains("replication"), "{e:#?}");
    assert!(
        d.iter()
            .any(|d| d.detail.contains("on_destroy = \"forget\"")),
        "says how to take the whole cluster down: {d:#?}"
    );
    fake.with(|s| assert!(s.tombstones.is_empty() && s.metadata_left.is_empty()));
}

#[tokio::test(start_paused = true)]
async fn a_removal_that_breaks_replication_is_refused_at_apply_too_and_changes_nothing() {
    let (fake, h) = cluster(three_nodes());
    let n3 = track(&h, &managed("n3")).await;
    // Planned while three nodes ran; n2 died before the apply.
    let (planned, d) = h.node.plan_destroy(&n3, &ValueEmpty::default()).await;
    assert!(planned.is_some(), "{d:#?}");
    fake.with(|s| s.nodes[1].alive = false);
    h.ctx.invalidate().await;
    let before = fake.with(|s| (s.nodes.clone(), s.logs.clone()));
    let (gone, d) = h.node.plan_and_destroy(&n3, &ValueEmpty::default()).await;
    assert!(!gone);
    error(&d, "Removing n3 is not safe");
    assert_eq!(fake.with(|s| (s.nodes.clone(), s.logs.clone())), before);
}

#[tokio::test(start_paused = true)]
async fn a_node_on_the_local_loglet_is_never_removed() {
    let mut state = three_nodes();
    state.change_config(|c| c.log_provider = LogProvider::Local);
    let (fake, h) = cluster(state);
    let n3 = track(&h, &managed("n3")).await;
    let (gone, d) = h.node.plan_and_destroy(&n3, &ValueEmpty::default()).await;
    assert!(!gone);
    assert!(error(&d, "Removing n3 is not safe")
        .detail
        .contains("local"));
    fake.with(|s| assert!(s.tombstones.is_empty()));
}

#[tokio::test(start_paused = true)]
async fn forget_only_stops_tracking() {
    let (fake, h) = cluster(three_nodes());
    let mut config = managed("n3");
    config.on_destroy = s("forget");
    let n3 = track(&h, &config).await;
    let (gone, d) = h.node.plan_and_destroy(&n3, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
    assert!(d
        .iter()
        .any(|d| !d.error && d.summary.contains("still a cluster member")));
    fake.with(|s| assert!(s.tombstones.is_empty() && s.metadata_left.is_empty()));
}

#[tokio::test(start_paused = true)]
async fn worker_and_storage_states_are_applied_and_waited_for() {
    let mut state = three_nodes();
    state.stuck_tails = true; // The cluster does not move logs off a read-only node by itself.
    let (fake, h) = cluster(state);
    let prior = track(&h, &managed("n2")).await;
    assert_eq!(prior.worker_state, s("active"));

    let mut config = managed("n2");
    config.worker_state = s("draining");
    config.log_server_storage_state = s("read-only");
    let (state, d) = h
        .node
        .plan_and_apply(Some((&prior, &ValueEmpty::default())), &config)
        .await;
    let (state, _) = state.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(state.worker_state, s("draining"));
    assert_eq!(state.log_server_storage_state, s("read-only"));
    fake.with(|s| {
        assert!(!s.reconfigured.is_empty(), "tails that stayed were sealed");
        assert!(s.logs.iter().all(|l| !l.nodeset.contains(&2)));
    });

    // Back to active and read-write.
    let mut back = managed("n2");
    back.worker_state = s("active");
    back.log_server_storage_state = s("read-write");
    let (state, d) = h
        .node
        .plan_and_apply(Some((&state, &ValueEmpty::default())), &back)
        .await;
    let (state, _) = state.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(state.worker_state, s("active"));

    // Unset again: not managed, no change planned.
    let planned = h
        .node
        .plan(Some((&state, &ValueEmpty::default())), &managed("n2"))
        .await;
    let planned = planned
        .state
        .unwrap_or_else(|| panic!("{:#?}", planned.diags));
    assert_eq!(
        (planned.worker_state, planned.log_server_storage_state),
        (state.worker_state, state.log_server_storage_state)
    );
}

#[tokio::test(start_paused = true)]
async fn unsafe_state_changes_are_refused_at_plan_at_their_attribute() {
    let (fake, h) = cluster(three_nodes());
    let prior = track(&h, &managed("n1")).await;
    let plan = |config: node::State| {
        let h = &h;
        let prior = prior.clone();
        async move {
            h.node
                .plan(Some((&prior, &ValueEmpty::default())), &config)
                .await
                .diags
        }
    };
    let mut c = managed("n1");
    c.worker_state = s("disabled");
    assert_error(&plan(c).await, "is not safe", "worker_state");
    let mut c = managed("n1");
    c.log_server_storage_state = s("disabled");
    assert_error(&plan(c).await, "is not safe", "log_server_storage_state");
    let mut c = managed("n1");
    c.worker_state = s("paused");
    assert_error(&plan(c).await, "Invalid worker_state", "worker_state");

    // The last metadata server never leaves.
    fake.with(|s| s.metadata_left.extend([2, 3]));
    h.ctx.invalidate().await;
    let mut c = managed("n1");
    c.metadata_server_member = Value::Value(false);
    assert_error(&plan(c).await, "is not safe", "metadata_server_member");
}

#[tokio::test(start_paused = true)]
async fn a_metadata_member_leaves_and_joins_again() {
    let (fake, h) = cluster(three_nodes());
    let prior = track(&h, &managed("n3")).await;
    let mut leave = managed("n3");
    leave.metadata_server_member = Value::Value(false);
    let (state, d) = h
        .node
        .plan_and_apply(Some((&prior, &ValueEmpty::default())), &leave)
        .await;
    let (state, _) = state.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(state.metadata_server_member, Value::Value(false));
    assert!(fake.with(|s| s.metadata_left.contains(&3)));
    let mut join = managed("n3");
    join.metadata_server_member = Value::Value(true);
    let (state, d) = h
        .node
        .plan_and_apply(Some((&state, &ValueEmpty::default())), &join)
        .await;
    assert_eq!(
        state
            .unwrap_or_else(|| panic!("{d:#?}"))
            .0
            .metadata_server_member,
        Value::Value(true)
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_edits_are_retried_then_reported() {
    let (fake, h) = cluster(three_nodes());
    let prior = track(&h, &managed("n2")).await;
    let mut drain = managed("n2");
    drain.worker_state = s("draining");
    fake.with(|s| s.node_conflicts = 2);
    let (state, d) = h
        .node
        .plan_and_apply(Some((&prior, &ValueEmpty::default())), &drain)
        .await;
    assert!(state.is_some(), "two conflicts are retried: {d:#?}");

    let (fake, h) = cluster(three_nodes());
    let prior = track(&h, &managed("n2")).await;
    fake.with(|s| s.node_conflicts = 100);
    let (state, d) = h
        .node
        .plan_and_apply(Some((&prior, &ValueEmpty::default())), &drain)
        .await;
    assert!(state.is_none());
    assert!(
        d.iter()
            .any(|d| d.detail.contains("changed by someone else")),
        "{d:#?}"
    );
    assert_eq!(
        fake.with(|s| s.nodes[1].record.worker_state.clone()),
        "active",
        "nothing written"
    );
}

#[tokio::test(start_paused = true)]
async fn a_removal_that_cannot_finish_in_time_is_an_error_and_stays_in_state() {
    let mut state = three_nodes();
    state.stuck_tails = true;
    let (fake, h) = cluster(state);
    let mut config = managed("n3");
    config.timeouts =
        timeouts(serde_json::json!({"create": "20s", "update": null, "delete": "2s"}));
    let n3 = track(&h, &config).await;
    let (gone, d) = h.node.plan_and_destroy(&n3, &ValueEmpty::default()).await;
    assert!(!gone, "{d:#?}");
    let e = d.iter().find(|d| d.error).expect("an error");
    assert!(
        e.detail.contains("tail segment") || e.summary.contains("n3"),
        "{e:#?}"
    );
    fake.with(|s| assert!(s.tombstones.is_empty(), "not removed half-way"));
}

#[tokio::test(start_paused = true)]
async fn a_removal_the_cluster_cannot_be_asked_about_is_an_error() {
    let (fake, h) = cluster(three_nodes());
    let n3 = track(&h, &managed("n3")).await;
    fake.with(|s| s.provisioned = false);
    h.ctx.invalidate().await;
    let (gone, d) = h.node.plan_and_destroy(&n3, &ValueEmpty::default()).await;
    assert!(!gone, "the resource stays in state: {d:#?}");
    assert!(d.iter().any(|d| d.error), "{d:#?}");
    fake.with(|s| assert!(s.tombstones.is_empty()));
}

// --- restate_restart_gate ------------------------------------------------------------------------

pub(super) fn gate(name: &str, version: &str) -> restart_gate::State {
    restart_gate::State {
        node: s(name),
        roles: crate::tf::value::string_list(Role::ALL.iter().map(|r| r.as_str())),
        expected_version: s(version),
        timeouts: timeouts(serde_json::json!({"create": "3s", "delete": "3s"})),
        ..Default::default()
    }
}

async fn gate_created(h: &Handlers, config: &restart_gate::State) -> restart_gate::State {
    let (state, d) = h.gate.plan_and_apply(None, config).await;
    state.unwrap_or_else(|| panic!("{d:#?}")).0
}

#[tokio::test(start_paused = true)]
async fn one_node_stops_at_a_time_and_the_next_waits_until_it_is_back() {
    let (fake, h) = cluster(three_nodes());
    let g1 = gate_created(&h, &gate("n1", "1.7.12")).await;
    let g2 = gate_created(&h, &gate("n2", "1.7.12")).await;

    // n1's machine may stop: the others hold the quorum and the replication without it.
    let (gone, d) = h.gate.plan_and_destroy(&g1, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
    // n1 goes down for its upgrade; n2 must wait until it is back, and gives up after its timeout.
    fake.with(|s| s.nodes[0].alive = false);
    h.ctx.invalidate().await;
    let (gone, d) = h.gate.plan_and_destroy(&g2, &ValueEmpty::default()).await;
    assert!(!gone);
    assert!(
        error(&d, "n2")
            .detail
            .contains("n1 (stopped by this apply) not back yet"),
        "{d:#?}"
    );

    // n1 runs again but not on the new version yet: its new gate's create keeps waiting (and
    // gives up), and n2 still may not stop.
    fake.with(|s| s.nodes[0].alive = true);
    h.ctx.invalidate().await;
    let (created, d) = h.gate.plan_and_apply(None, &gate("n1", "1.8.0")).await;
    assert!(created.is_none(), "{d:#?}");
    let (gone, d) = h.gate.plan_and_destroy(&g2, &ValueEmpty::default()).await;
    assert!(!gone, "n2 stopped while n1 was not back: {d:#?}");

    // n1 is back on the new version: its new gate's create sees it, and n2 may stop.
    fake.with(|s| {
        s.nodes[0].alive = true;
        s.nodes[0].record.binary_version = "1.8.0".into();
        s.nodes[0].record.generation += 1;
    });
    h.ctx.invalidate().await;
    gate_created(&h, &gate("n1", "1.8.0")).await;
    let (gone, d) = h.gate.plan_and_destroy(&g2, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_restarted_node_may_register_its_version_a_moment_after_it_is_alive() {
    let (fake, h) = cluster(three_nodes());
    let g1 = gate_created(&h, &gate("n1", "1.7.12")).await;
    let (gone, d) = h.gate.plan_and_destroy(&g1, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
    // Back and alive, its new version not registered yet; registered 3 s later.
    fake.with(|s| s.nodes[0].record.binary_version = String::new());
    h.ctx.invalidate().await;
    let later = fake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        later.with(|s| s.nodes[0].record.binary_version = "1.7.12".into());
    });
    let (created, d) = h.gate.plan_and_apply(None, &gate("n1", "1.7.12")).await;
    assert!(created.is_some(), "{d:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_node_the_cluster_cannot_do_without_stops_only_with_allow_downtime() {
    let mut state = FakeState::provisioned("c", 2);
    state.settle_logs();
    let (_fake, h) = cluster(state);
    let g = gate_created(&h, &gate("n1", "1.7.12")).await;
    let (gone, d) = h.gate.plan_and_destroy(&g, &ValueEmpty::default()).await;
    assert!(!gone);
    assert!(
        error(&d, "n1")
            .detail
            .contains("stopping n1 for a restart is not safe"),
        "{d:#?}"
    );
    let mut config = gate("n1", "1.7.12");
    config.allow_downtime = Value::Value(true);
    let g = gate_created(&h, &config).await;
    let (gone, d) = h.gate.plan_and_destroy(&g, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_teardown_stops_every_node_at_once() {
    let (_fake, h) = cluster(three_nodes());
    let mut gates = Vec::new();
    for n in ["n1", "n2", "n3"] {
        let mut config = gate(n, "1.7.12");
        config.allow_downtime = Value::Value(true);
        gates.push(gate_created(&h, &config).await);
    }
    for g in &gates {
        let (gone, d) = h.gate.plan_and_destroy(g, &ValueEmpty::default()).await;
        assert!(gone, "nobody waits for the nodes a teardown stops: {d:#?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_gate_created_with_its_node_waits_for_nothing_and_records_the_cluster_when_it_can() {
    // The cluster is not provisioned yet (the gate comes with the first machines): nothing to
    // wait for, and no fingerprint yet.
    let (fake, h) = cluster(FakeState::fresh("c"));
    let g = gate_created(&h, &gate("n9", "1.7.12")).await;
    assert_eq!(g.allow_downtime, Value::Value(false));
    assert_eq!(g.cluster_fingerprint, Value::Null);
    // The next read, once the cluster is provisioned, records it.
    fake.with(|s| *s = FakeState::provisioned("c", 2));
    let (read, d) = h.gate.read(&g, &ValueEmpty::default()).await;
    let (read, _) = read.unwrap_or_else(|| panic!("{d:#?}"));
    let recorded = fake.with(|s| s.fingerprint.to_string());
    assert_eq!(read.cluster_fingerprint, s(&recorded));
    // A gate created on a running cluster records it at create.
    let g = gate_created(&h, &gate("n1", "1.7.12")).await;
    assert_eq!(g.cluster_fingerprint, s(&recorded));
}

#[tokio::test(start_paused = true)]
async fn a_gate_refuses_another_cluster_and_never_lets_its_node_stop() {
    let (fake, h) = cluster(three_nodes());
    let g1 = gate_created(&h, &gate("n1", "1.7.12")).await;
    let recorded = fake.with(|s| s.fingerprint);
    assert_eq!(g1.cluster_fingerprint, s(&recorded.to_string()));
    let (read, d) = h.gate.read(&g1, &ValueEmpty::default()).await;
    assert_eq!(read.map(|r| r.0), Some(g1.clone()), "{d:#?}");
    // A twin of the same name behind the endpoints.
    fake.with(|s| s.fingerprint = 99);
    h.ctx.invalidate().await;
    let (read, d) = h.gate.read(&g1, &ValueEmpty::default()).await;
    assert!(read.is_none());
    let e = error(&d, "Another cluster");
    assert!(
        e.detail.contains("fingerprint 99") && e.detail.contains(&recorded.to_string()),
        "{e:#?}"
    );
    let (planned, d) = h.gate.plan_destroy(&g1, &ValueEmpty::default()).await;
    assert!(planned.is_none(), "{d:#?}");
    error(&d, "Another cluster");
    // Apply checks again; the node is not let stop, and nobody waits for it.
    let (gone, d) = h.gate.destroy(&g1, &ValueEmpty::default()).await;
    assert!(!gone, "{d:#?}");
    error(&d, "Another cluster");
    assert!(!h.ctx.is_restarting("n1"));
    // The twin has no node n1 (which would let it stop at once): refused all the same.
    fake.with(|s| s.nodes.retain(|n| n.record.name != "n1"));
    h.ctx.invalidate().await;
    let (gone, d) = h.gate.destroy(&g1, &ValueEmpty::default()).await;
    assert!(!gone, "{d:#?}");
    error(&d, "Another cluster");
    // allow_downtime lets it go without asking any cluster (a teardown whose VMs are gone).
    let mut down = g1.clone();
    down.allow_downtime = Value::Value(true);
    let rpcs = crate::ops::AdminApi::rpc_count(fake.as_ref());
    let (gone, d) = h.gate.plan_and_destroy(&down, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
    assert_eq!(crate::ops::AdminApi::rpc_count(fake.as_ref()), rpcs);
}

#[tokio::test(start_paused = true)]
async fn a_teardown_of_a_cluster_that_is_gone_asks_it_nothing() {
    let (fake, h) = cluster(three_nodes());
    let n2 = track(&h, &managed("n2")).await;
    let g2 = gate_created(&h, &gate("n2", "1.7.12")).await;
    // The VMs are gone: every call would fail. `terraform apply -refresh=false` with
    // on_destroy = "forget" and allow_downtime = true, then `terraform destroy -refresh=false`.
    let rpcs = crate::ops::AdminApi::rpc_count(fake.as_ref());
    fake.with(|s| s.provisioned = false);
    let mut forget = managed("n2");
    forget.on_destroy = s("forget");
    let (n2, d) = h
        .node
        .plan_and_apply(Some((&n2, &ValueEmpty::default())), &forget)
        .await;
    let (n2, _) = n2.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(n2.on_destroy, s("forget"));
    let mut downtime = gate("n2", "1.7.12");
    downtime.allow_downtime = Value::Value(true);
    let (g2, d) = h
        .gate
        .plan_and_apply(Some((&g2, &ValueEmpty::default())), &downtime)
        .await;
    let (g2, _) = g2.unwrap_or_else(|| panic!("{d:#?}"));
    let (gone, d) = h.gate.plan_and_destroy(&g2, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
    let (gone, d) = h.node.plan_and_destroy(&n2, &ValueEmpty::default()).await;
    assert!(gone, "{d:#?}");
    assert_eq!(crate::ops::AdminApi::rpc_count(fake.as_ref()), rpcs);
}

#[tokio::test(start_paused = true)]
async fn a_node_does_not_stop_while_another_is_dead() {
    let (fake, h) = cluster(three_nodes());
    let g2 = gate_created(&h, &gate("n2", "1.7.12")).await;
    fake.with(|s| s.nodes[2].alive = false);
    let (gone, d) = h.gate.plan_and_destroy(&g2, &ValueEmpty::default()).await;
    assert!(!gone);
    assert!(error(&d, "n2").detail.contains("n3 not alive"), "{d:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_node_with_a_version_waits_for_a_cluster_provisioned_in_the_same_apply() {
    let (fake, h) = cluster(FakeState::fresh("c"));
    let later = fake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        later.with(|s| s.provisioned = true);
    });
    let mut config = managed("n1");
    config.expected_version = s("1.7.12");
    let (state, d) = h.node.plan_and_apply(None, &config).await;
    let (state, _) = state.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(state.binary_version, s("1.7.12"));
}

#[tokio::test(start_paused = true)]
async fn the_lifecycle_scenario_runs_on_the_fake() {
    let fake = std::sync::Arc::new(FakeCluster::new(FakeState::three_nodes("c")));
    let transcript = super::scenarios::lifecycle_of_a_node(fake).await;
    let text = transcript.join("\n");
    assert!(text.contains("destroy n3: removed = true"), "{text}");
    assert!(
        text.contains("read n3 after its removal: in state = false"),
        "{text}"
    );
    assert!(text.contains("plan destroy n2: planned = false"), "{text}");
    assert!(text.contains("error: Removing n2 is not safe"), "{text}");
}
