//! End to end: `restate_partition_snapshot` against real nodes (the Restate version under test) and a loopback S3 store;
//! what lands in the store is checked through the S3 API (boto3), independently of the provider.

mod support;

use std::time::{Duration, Instant};

use support::ctl;
use support::relay::SlowRelay;
use support::restate::{Node, NodeSpec, ALL_ROLES};
use support::s3::S3;
use support::terraform::{provider_block, Workspace};

const BUCKET: &str = "snapshots";

fn node_with_repository(s3: &S3, cluster: &str, prefix: &str) -> Node {
    let mut spec = NodeSpec::new("n1", cluster, ALL_ROLES);
    spec.extra_toml = s3.snapshots_toml(BUCKET, prefix);
    let mut node = Node::start(spec);
    node.provision("replicated");
    node
}

/// partition id -> snapshot id, from the resource's state.
fn state_snapshots(ws: &Workspace, address: &str) -> Vec<(u64, String)> {
    ws.resource_values(address)["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["partition_id"].as_u64().unwrap(),
                s["snapshot_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The snapshot id `latest.json` names for a partition, read through the S3 API.
fn latest(s3: &S3, prefix: &str, partition: u64) -> String {
    let body = s3
        .get(BUCKET, &format!("{prefix}/{partition}/latest.json"))
        .unwrap_or_else(|| {
            panic!(
                "no latest.json for partition {partition}: {:?}",
                s3.list(BUCKET, prefix)
            )
        });
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["snapshot_id"].as_str().unwrap().to_string()
}

#[test]
fn snapshots_every_partition_a_subset_and_again_on_a_trigger_change() {
    crate::e2e!();
    let s3 = S3::start(BUCKET);
    let mut node = node_with_repository(&s3, "snap", "all");
    let ws = Workspace::new();
    let head = provider_block(&[node.fabric_url()], "");
    ws.write(&format!("{head}resource \"restate_partition_snapshot\" \"all\" {{\n  timeouts {{\n    create = \"2m\"\n  }}\n}}\n"));
    ws.apply().ok();

    let taken = state_snapshots(&ws, "restate_partition_snapshot.all");
    assert_eq!(
        taken.iter().map(|t| t.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    for (pid, id) in &taken {
        assert!(id.starts_with("snap_"), "{id}");
        assert_eq!(&latest(&s3, "all", *pid), id, "partition {pid}");
    }
    let v = ws.resource_values("restate_partition_snapshot.all");
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'), "{v}");
    assert_eq!(v["partition_ids"].as_array().unwrap().len(), 4);
    ws.assert_plan_empty();

    // A subset, beside it.
    let subset =
        "resource \"restate_partition_snapshot\" \"subset\" {\n  partition_ids = [1, 3]\n}\n";
    ws.write(&format!("{head}resource \"restate_partition_snapshot\" \"all\" {{\n  timeouts {{\n    create = \"2m\"\n  }}\n}}\n{subset}"));
    ws.apply().ok();
    let sub = state_snapshots(&ws, "restate_partition_snapshot.subset");
    assert_eq!(sub.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 3]);
    // (A partition that applied nothing since its last snapshot gets that snapshot back.)
    for (pid, id) in &sub {
        assert_eq!(&latest(&s3, "all", *pid), id);
    }
    assert_eq!(
        latest(&s3, "all", 0),
        taken[0].1,
        "partition 0 was not snapshotted again"
    );
    ws.assert_plan_empty();

    // A restart makes every partition append to its log (new leader epochs), so the next snapshots
    // are new ones. A trigger change replaces the resource and takes them.
    node.restart_with(|_| {});
    node.wait_alive(Duration::from_secs(60));
    ws.write(&format!(
        "{head}resource \"restate_partition_snapshot\" \"all\" {{\n  triggers = {{ nodes = \"3\" }}\n  timeouts {{\n    create = \"2m\"\n  }}\n}}\n{subset}"
    ));
    let plan = ws.plan();
    assert!(
        plan.flat()
            .contains("restate_partition_snapshot.all must be replaced"),
        "{}",
        plan.text()
    );
    ws.apply().ok();
    let again = state_snapshots(&ws, "restate_partition_snapshot.all");
    assert_eq!(again.len(), 4);
    for (pid, id) in &again {
        assert_ne!(id, &taken[*pid as usize].1);
        assert_eq!(&latest(&s3, "all", *pid), id);
    }

    // An unknown partition id is refused at plan time, and never sent.
    ws.write(&format!(
        "{head}resource \"restate_partition_snapshot\" \"bad\" {{\n  partition_ids = [2, 9]\n}}\n"
    ));
    ws.plan().failed_with(&[
        "Unknown partition ids",
        "Partition 9 is not in the cluster's partition table",
        "it has partitions 0 to 3",
    ]);

    // Import is refused, saying why.
    ws.write(&format!(
        "{head}resource \"restate_partition_snapshot\" \"imported\" {{}}\n"
    ));
    ws.run(&["import", "restate_partition_snapshot.imported", "anything"])
        .failed_with(&[
            "restate_partition_snapshot cannot be imported",
            "A snapshot is taken, not adopted",
        ]);

    // Destroy leaves the snapshots where they are.
    ws.write(&head);
    let run = ws.apply().ok();
    assert!(
        run.flat().contains("The snapshots stay in the repository"),
        "{}",
        run.text()
    );
    assert_eq!(latest(&s3, "all", 0), again[0].1);
}

#[test]
fn a_node_without_a_repository_gives_one_clear_error_and_no_state() {
    crate::e2e!();
    let mut node = Node::start(NodeSpec::new("n1", "norepo", ALL_ROLES));
    node.provision("replicated");
    let ws = Workspace::new();
    ws.write(&format!(
        "{}resource \"restate_partition_snapshot\" \"s\" {{}}\n",
        provider_block(&[node.fabric_url()], "")
    ));
    ws.apply().failed_with(&[
        "No snapshot repository is configured",
        "[worker.snapshots] destination",
        "`snapshots` block of restate_node_config",
    ]);
    let list = ws.run(&["state", "list"]);
    assert!(
        list.stdout.trim().is_empty(),
        "no state expected: {}",
        list.text()
    );
}

#[test]
fn a_partial_failure_keeps_what_succeeded_tainted_and_the_next_apply_completes_it() {
    crate::e2e!();
    let s3 = S3::start(BUCKET);
    let n1 = node_with_repository(&s3, "partial", "p");
    // n2: a worker that joins without a snapshot repository; partitions it leads cannot be snapshotted.
    let mut spec = NodeSpec::new("n2", "partial", &["worker"]);
    spec.metadata_addresses = vec![n1.fabric_url()];
    let mut n2 = Node::start(spec);
    // The partitions n2 leads, per restatectl.
    let led_by_n2 = || -> Vec<u64> {
        let Some(n2) = ctl::nodes(&n1.fabric_url()).remove("n2") else {
            return Vec::new();
        };
        ctl::leaders(&n1.fabric_url())
            .into_iter()
            .filter(|&(_, leader)| leader == n2.id)
            .map(|(partition, _)| partition)
            .collect()
    };
    let started = Instant::now();
    while led_by_n2().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no partition moved to n2: {:?}",
            ctl::partition_processors(&n1.fabric_url())
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let on_n2 = led_by_n2();

    let ws = Workspace::new();
    ws.write(&format!(
        "{}resource \"restate_partition_snapshot\" \"s\" {{\n  timeouts {{\n    create = \"1m\"\n  }}\n}}\n",
        provider_block(&[n1.fabric_url()], "")
    ));
    let run = ws.apply();
    let mut needles = vec![
        "Snapshots failed for".to_string(),
        "of 4 partitions".to_string(),
        "repository is not configured".to_string(),
    ];
    for p in &on_n2 {
        needles.push(format!("- partition {p}:"));
    }
    let refs: Vec<&str> = needles.iter().map(String::as_str).collect();
    run.failed_with(&refs);
    let kept = state_snapshots(&ws, "restate_partition_snapshot.s");
    assert!(!kept.is_empty() && kept.len() < 4, "{kept:?}");
    for (pid, id) in &kept {
        assert!(
            !on_n2.contains(pid),
            "partition {pid} led by n2 cannot have succeeded"
        );
        assert_eq!(&latest(&s3, "p", *pid), id);
    }
    let plan = ws.plan();
    assert!(
        plan.flat().contains("is tainted, so must be replaced"),
        "{}",
        plan.text()
    );

    // Give n2 the repository; the next apply completes the job.
    n2.restart_with(|s| s.extra_toml = s3.snapshots_toml(BUCKET, "p"));
    n2.wait_alive(Duration::from_secs(60));
    ws.apply().ok();
    let all = state_snapshots(&ws, "restate_partition_snapshot.s");
    assert_eq!(all.len(), 4);
    for (pid, id) in &all {
        assert_eq!(&latest(&s3, "p", *pid), id);
    }
    ws.assert_plan_empty();
}

/// The snapshot directories (`lsn_…`) under a partition's prefix: one per export.
fn exports(s3: &S3, prefix: &str, partition: u64) -> Vec<String> {
    let mut dirs: Vec<String> = s3
        .list(BUCKET, &format!("{prefix}/{partition}/"))
        .iter()
        .filter_map(|key| key.split('/').nth(2))
        .filter(|dir| dir.starts_with("lsn_"))
        .map(str::to_string)
        .collect();
    dirs.dedup();
    dirs
}

/// Exports that take longer than request_timeout: each call waits for its export within
/// timeouts.create, and no partition is exported twice.
#[test]
fn a_slow_store_is_waited_for_and_each_partition_exported_once() {
    crate::e2e!();
    let s3 = S3::start(BUCKET);
    // Every chunk the store sends back comes 700 ms late: an upload of several objects takes
    // seconds, well past the provider's 1 s request timeout.
    let relay = SlowRelay::start(s3.port, Duration::from_millis(700));
    let mut spec = NodeSpec::new("n1", "slow", ALL_ROLES);
    spec.extra_toml = s3.snapshots_toml_via(&relay.endpoint(), BUCKET, "slow");
    let mut node = Node::start(spec);
    node.provision("replicated");
    let ws = Workspace::new();
    ws.write(&format!(
        "{}resource \"restate_partition_snapshot\" \"s\" {{\n  timeouts {{\n    create = \"3m\"\n  }}\n}}\n",
        provider_block(&[node.fabric_url()], "  request_timeout = \"1s\"\n")
    ));
    let before = relay.delayed();
    let started = Instant::now();
    ws.apply().ok();
    // The premise: the exports went through the relay and took longer than one request timeout.
    assert!(relay.delayed() > before, "no upload went through the relay");
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "the store was not slow"
    );
    let taken = state_snapshots(&ws, "restate_partition_snapshot.s");
    assert_eq!(taken.iter().map(|t| t.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
    for (pid, id) in &taken {
        assert_eq!(&latest(&s3, "slow", *pid), id);
        let dirs = exports(&s3, "slow", *pid);
        assert_eq!(
            dirs.len(),
            1,
            "partition {pid} was exported more than once: {dirs:?}"
        );
    }
    ws.assert_plan_empty();
}

/// trim_log trims each log up to its snapshot (one node: every replica has applied it), as
/// restatectl reads the trim points back.
#[test]
fn trim_log_trims_each_log_to_its_snapshot() {
    crate::e2e!();
    let s3 = S3::start(BUCKET);
    let node = node_with_repository(&s3, "trim", "trim");
    let url = node.fabric_url();
    let logs: Vec<u64> = ctl::log_tails(&url).iter().map(|t| t.log_id).collect();
    assert!(logs.iter().all(|&l| ctl::trim_point(&url, l) == 0));
    let ws = Workspace::new();
    ws.write(&format!(
        "{}resource \"restate_partition_snapshot\" \"s\" {{\n  trim_log = true\n  timeouts {{\n    create = \"2m\"\n  }}\n}}\n",
        provider_block(std::slice::from_ref(&url), "")
    ));
    let run = ws.apply().ok();
    assert!(!run.flat().contains("trimmed less"), "{}", run.text());
    for s in ws.resource_values("restate_partition_snapshot.s")["snapshots"]
        .as_array()
        .unwrap()
    {
        let (log, lsn) = (
            s["log_id"].as_u64().unwrap(),
            s["min_applied_lsn"].as_u64().unwrap(),
        );
        assert!(lsn > 0, "{s}");
        assert_eq!(ctl::trim_point(&url, log), lsn, "log {log}");
    }
}

/// Snapshots the repository no longer holds (it was rolled back to older ones) are gone from the
/// state on refresh, once the partitions' leaders have read the repository again, and the next
/// apply takes new ones. A restart alone, after which the leaders report no archived LSN until
/// they read the repository, changes nothing.
#[test]
fn snapshots_the_repository_lost_are_taken_again() {
    crate::e2e!();
    let s3 = S3::start(BUCKET);
    let mut spec = NodeSpec::new("n1", "rollback", ALL_ROLES);
    // Periodic snapshots make each leader read the repository (30 to 60 s after it starts); the
    // threshold is never reached, so they take none of their own.
    spec.extra_toml = format!(
        "{}snapshot-interval-num-records = 1000000\n",
        s3.snapshots_toml(BUCKET, "rb")
    );
    let mut node = Node::start(spec);
    node.provision("replicated");
    let head = provider_block(&[node.fabric_url()], "");
    let resource = |round: u32| {
        format!(
            "{head}resource \"restate_partition_snapshot\" \"s\" {{\n  triggers = {{ round = \"{round}\" }}\n  timeouts {{\n    create = \"2m\"\n  }}\n}}\n"
        )
    };
    let lsns = |ws: &Workspace| -> Vec<u64> {
        ws.resource_values("restate_partition_snapshot.s")["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["min_applied_lsn"].as_u64().unwrap())
            .collect()
    };
    let ws = Workspace::new();
    ws.write(&resource(1));
    ws.apply().ok();
    let first = lsns(&ws);
    s3.copy_prefix(BUCKET, "rb/", "rb-backup/");

    // A restart appends to every log; the leaders report no archived LSN for a while: no change.
    node.restart_with(|_| {});
    node.wait_alive(Duration::from_secs(60));
    ws.assert_plan_empty();
    ws.write(&resource(2));
    ws.apply().ok();
    let second = lsns(&ws);
    assert!(
        second.iter().zip(&first).all(|(s, f)| s > f),
        "{first:?} -> {second:?}"
    );

    // The repository is rolled back to the first snapshots; once the leaders read it again,
    // they report the first snapshots' LSNs, below what the state records.
    s3.delete_prefix(BUCKET, "rb/");
    s3.copy_prefix(BUCKET, "rb-backup/", "rb/");
    node.restart_with(|_| {});
    node.wait_alive(Duration::from_secs(60));
    let started = Instant::now();
    let plan = loop {
        let plan = ws.plan();
        if plan.code != 0 {
            break plan;
        }
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "the rolled-back repository was not noticed: {:?}",
            ctl::partition_processors(&node.fabric_url())
        );
        std::thread::sleep(Duration::from_secs(3));
    };
    assert_eq!(plan.code, 2, "{}", plan.text());
    let text = plan.flat();
    assert!(
        text.contains("The snapshots are gone from the repository")
            && text.contains("restate_partition_snapshot.s will be created"),
        "{}",
        plan.text()
    );
    ws.apply().ok();
    let third = lsns(&ws);
    assert!(
        third.iter().zip(&second).all(|(t, s)| t >= s),
        "{second:?} -> {third:?}"
    );
    for (pid, id) in state_snapshots(&ws, "restate_partition_snapshot.s") {
        assert_eq!(latest(&s3, "rb", pid), id);
    }
    ws.assert_plan_empty();
}
