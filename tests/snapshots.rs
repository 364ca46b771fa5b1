//! End to end: `restate_partition_snapshot` against real 1.7.12 nodes and a loopback S3 store;
//! what lands in the store is checked through the S3 API (boto3), independently of the provider.

mod support;

use std::time::{Duration, Instant};

use support::ctl;
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
