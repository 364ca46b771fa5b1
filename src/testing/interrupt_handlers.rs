//! Handler tests of an interrupted run (Terraform's StopProvider, on Ctrl-C): every wait ends at
//! once with an error that says what it waited for, and the state says what was done.

use std::time::{Duration, Instant};

use tf_provider::value::Value;

use super::fake::{self, FakeState};
use super::handlers::{assert_error, cluster, error, node_config, s, timeouts};
use crate::client;
use crate::domain::{Replication, Role};
use crate::ops::AdminApi;
use crate::resources::{cluster_config, partition_snapshot};

/// Runs `op`, requesting a stop after `after`; what it returned and how long it took in all.
async fn stopped_after<T>(
    api: &dyn AdminApi,
    after: Duration,
    op: impl std::future::Future<Output = T>,
) -> (T, Duration) {
    let started = Instant::now();
    let stop = api.stop();
    let stopper = async move {
        tokio::time::sleep(after).await;
        stop.request();
    };
    let (out, ()) = tokio::join!(op, stopper);
    (out, started.elapsed())
}

#[tokio::test]
async fn an_interrupted_wait_for_a_joining_node_ends_at_once_without_state() {
    let (fake, h) = cluster(FakeState::provisioned("c", 2));
    let mut config = node_config("n2", &[Role::Worker]);
    config.timeouts = timeouts(serde_json::json!({"create": "10m"}));
    let ((state, d), took) = stopped_after(
        fake.as_ref(),
        Duration::from_millis(300),
        h.node.plan_and_apply(None, &config),
    )
    .await;
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(state.is_none(), "{state:?}");
    assert_error(&d, "Interrupted", "");
    let detail = &error(&d, "Interrupted").detail;
    assert!(
        detail.contains("waiting for node n2 to be")
            && detail.contains("Terraform was interrupted"),
        "{detail}"
    );
}

/// A cluster whose logs are on one copy and would move to two only after many reads.
fn slow_logs() -> FakeState {
    let mut state = FakeState::provisioned("c", 2);
    state
        .nodes
        .push(fake::node(2, "n2", &[Role::LogServer, Role::Worker]));
    state.logs_lag = 1_000_000;
    state
}

fn two_copies(update: &str) -> cluster_config::State {
    cluster_config::State {
        log_provider: s("replicated"),
        log_replication: s("2"),
        timeouts: timeouts(serde_json::json!({"create": "10m", "update": update})),
        ..Default::default()
    }
}

/// The state after an update whose wait ended early: the values written and the logs pending,
/// so that state and cluster agree and the next plan shows what is left.
#[track_caller]
fn assert_written_and_pending(state: Option<cluster_config::State>) {
    let state = state.expect("the update keeps what it wrote in state");
    assert_eq!(state.log_replication, s("2"));
    let pending = state.pending_logs.as_ref_option().map_or(0, Vec::len);
    assert_eq!(pending, 2, "{state:?}");
}

#[tokio::test]
async fn an_interrupted_wait_for_the_logs_keeps_the_written_values_and_the_pending_logs() {
    let (fake, h) = cluster(slow_logs());
    let one = cluster_config::State {
        log_provider: s("replicated"),
        log_replication: s("1"),
        ..Default::default()
    };
    let (prior, d) = h.cluster_config.plan_and_apply(None, &one).await;
    let prior = prior.unwrap_or_else(|| panic!("{d:#?}"));
    let ((state, d), took) = stopped_after(
        fake.as_ref(),
        Duration::from_millis(300),
        h.cluster_config
            .plan_and_apply(Some((&prior.0, &prior.1)), &two_copies("10m")),
    )
    .await;
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_error(&d, "Interrupted", "");
    assert!(
        error(&d, "Interrupted")
            .detail
            .contains("the logs to move to the new configuration (2 still pending"),
        "{d:#?}"
    );
    assert_eq!(
        fake.with(|s| s.config.log_replication.clone()),
        Some(Replication::nodes(2))
    );
    assert_written_and_pending(state.map(|(s, _)| s));
}

#[tokio::test]
async fn an_update_whose_wait_times_out_keeps_the_written_values_and_the_pending_logs() {
    let (_fake, h) = cluster(slow_logs());
    let one = cluster_config::State {
        log_provider: s("replicated"),
        log_replication: s("1"),
        ..Default::default()
    };
    let (prior, _) = h.cluster_config.plan_and_apply(None, &one).await;
    let prior = prior.expect("applied");
    let (state, d) = h
        .cluster_config
        .plan_and_apply(Some((&prior.0, &prior.1)), &two_copies("1s"))
        .await;
    assert_error(
        &d,
        "Logs did not reach the requested configuration in time",
        "",
    );
    assert_written_and_pending(state.map(|(s, _)| s));
}

#[tokio::test]
async fn an_interrupted_snapshot_keeps_the_snapshots_taken_and_gives_up_the_exports_running() {
    // Eight partitions, four exported at a time, each export 1 s: stopped during the second four.
    let (fake, h) = cluster(FakeState::provisioned("c", 8));
    fake.with(|s| s.snapshot_delay = Duration::from_secs(1));
    let config = partition_snapshot::State {
        timeouts: timeouts(serde_json::json!({"create": "10m"})),
        ..Default::default()
    };
    let ((state, d), took) = stopped_after(
        fake.as_ref(),
        Duration::from_millis(1500),
        h.snapshot.plan_and_apply(None, &config),
    )
    .await;
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let state = state.expect("the snapshots taken are kept").0;
    let taken: Vec<i64> = match &state.snapshots {
        Value::Value(list) => list.iter().map(|s| s.partition_id).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(taken, [0, 1, 2, 3]);
    assert_error(&d, "Snapshots failed for 4 of 8 partitions", "");
    let detail = &error(&d, "Snapshots failed").detail;
    assert!(
        detail.contains("- partition 7: ClusterCtrlSvc/CreatePartitionSnapshot: stopped, Terraform was interrupted"),
        "{detail}"
    );
    // Not repeated, nothing started after the stop.
    assert!(
        fake.with(|s| s.exports.values().all(|n| *n == 1)),
        "{:?}",
        fake.with(|s| s.exports.clone())
    );
}

#[tokio::test]
async fn an_interrupted_read_of_the_cluster_gives_no_view_rather_than_one_missing_nodes() {
    // The controller has not heard from n2 yet: the read waits up to 15 s for it. Stopped, it
    // returns no view, not one where a live n2 would count as dead.
    let mut state = FakeState::provisioned("c", 2);
    state.nodes.push(fake::node(2, "n2", &Role::ALL));
    state.unheard.insert(2);
    let (fake, _h) = cluster(state);
    let (read, took) = stopped_after(
        fake.as_ref(),
        Duration::from_millis(300),
        crate::ops::view::read(fake.as_ref()),
    )
    .await;
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(
        matches!(read, Err(client::Error::Interrupted { .. })),
        "{read:?}"
    );
}
