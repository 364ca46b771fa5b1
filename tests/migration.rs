//! End to end: the single-node to multi-node migration, as `examples/single-to-multi-node` runs
//! it, stage by stage with the real terraform binary. After each stage restatectl (and the S3 API)
//! check, independently of the provider, what the guide says should hold; a plan is empty; and
//! counters of a real Restate service are incremented through the ingress. At the end every
//! counter holds exactly the increments acknowledged, and `terraform destroy` leaves nothing
//! running.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::counter::{self, client};
use support::ctl;
use support::http;
use support::restate::{project_root, restate_version};
use support::s3::S3;
use support::terraform::{terraform_version, Workspace};

/// Ports of the example are its defaults plus this: clear of anything on the defaults, and below
/// the kernel's ephemeral range (32768 and up), from which the other tests' free ports and every
/// outgoing connection take theirs, so none of them can hold one of these when a node binds it.
const PORT_OFFSET: u16 = 20000;
const KEYS: usize = 300;
const CLUSTER: &str = "demo";
const BUCKET: &str = "restate-snapshots";

fn fabric(i: u16) -> String {
    format!("http://127.0.0.1:{}", 5122 + PORT_OFFSET + i)
}

fn ingress_urls() -> String {
    ingress_urls_of(&[0, 1, 2])
}

/// The ingress URLs of the nodes with these indexes (0 is n1).
fn ingress_urls_of(nodes: &[u16]) -> String {
    nodes
        .iter()
        .map(|i| format!("http://127.0.0.1:{}", 8080 + PORT_OFFSET + i))
        .collect::<Vec<_>>()
        .join(",")
}

struct Example {
    ws: Workspace,
    nodes_dir: PathBuf,
}

impl Example {
    fn apply(&self, stage: u8) {
        let run = self.run(&self.args("apply", stage, &["-auto-approve"]));
        assert_eq!(run.code, 0, "stage {stage} failed:\n{}", run.text());
    }

    /// The managed resources a plan for `stage` would change, as "action address" lines.
    fn planned_changes(&self, stage: u8) -> Vec<String> {
        let plan_file = self.ws.dir.path().join("stage.tfplan");
        let out = format!("-out={}", plan_file.display());
        let run = self.run(&self.args("plan", stage, &[&out]));
        assert_eq!(
            run.code,
            0,
            "plan for stage {stage} failed:\n{}",
            run.text()
        );
        let shown = self
            .ws
            .run(&["show", "-json", plan_file.to_str().unwrap()])
            .ok();
        let plan: Value = serde_json::from_str(&shown.stdout).unwrap();
        let mut changes: Vec<String> = plan["resource_changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["mode"] == "managed")
            .filter_map(|c| {
                let actions: Vec<&str> = c["change"]["actions"]
                    .as_array()?
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                let action = match actions.as_slice() {
                    ["no-op"] => return None,
                    ["create"] => "create",
                    ["update"] => "update",
                    ["delete", "create"] | ["create", "delete"] => "replace",
                    ["delete"] => "delete",
                    _ => "other",
                };
                Some(format!("{action} {}", c["address"].as_str()?))
            })
            .collect();
        changes.sort();
        changes
    }

    fn assert_plan_empty(&self, stage: u8) {
        let run = self.run(&self.args("plan", stage, &["-detailed-exitcode"]));
        assert_eq!(
            run.code,
            0,
            "the plan after stage {stage} is not empty:\n{}",
            run.text()
        );
    }

    fn args(&self, cmd: &str, stage: u8, extra: &[&str]) -> Vec<String> {
        let mut a = vec![cmd.to_string(), "-no-color".into(), "-input=false".into()];
        a.extend(extra.iter().map(|s| s.to_string()));
        for (k, v) in [
            ("stage", stage.to_string()),
            (
                "tools_dir",
                project_root().join(".tools").display().to_string(),
            ),
            ("work_dir", self.nodes_dir.display().to_string()),
            ("port_offset", PORT_OFFSET.to_string()),
            ("restate_version", restate_version().to_string()),
        ] {
            a.push("-var".into());
            a.push(format!("{k}={v}"));
        }
        a
    }

    fn run(&self, args: &[String]) -> support::terraform::Run {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ws.run(&refs)
    }

    fn output(&self, name: &str) -> Value {
        self.ws.output_json()[name]["value"].clone()
    }
}

#[track_caller]
fn assert_config(url: &str, provider: &str, replication: Option<&str>) {
    let c = ctl::cluster_config(url);
    assert_eq!(c.log_provider, provider, "{c:?}");
    assert_eq!(c.log_replication.as_deref(), replication, "{c:?}");
    if let Some(r) = replication {
        assert_eq!(c.partition_replication, r, "{c:?}");
    }
    assert_eq!(c.num_partitions, "4");
}

/// Every one of the example's four logs is on `kind` (with `{node: n}` copies when given).
#[track_caller]
fn assert_logs(url: &str, kind: &str, node_copies: Option<u64>) {
    let tails = ctl::assert_logs(url, kind, node_copies);
    assert_eq!(tails.len(), 4, "{tails:?}");
}

/// node name -> sorted roles, per restatectl.
fn ctl_roles(url: &str) -> Vec<(String, Vec<String>)> {
    ctl::nodes(url)
        .into_iter()
        .map(|(name, n)| (name, n.roles))
        .collect()
}

fn sorted(roles: &[&str]) -> Vec<String> {
    let mut r: Vec<String> = roles.iter().map(|s| s.to_string()).collect();
    r.sort();
    r
}

/// Stops whatever the example started if the test ends early (the processes outlive terraform).
struct StopLeftovers(PathBuf);

impl Drop for StopLeftovers {
    fn drop(&mut self) {
        let files = [
            "n1/restate.pid",
            "n2/restate.pid",
            "n3/restate.pid",
            "n4/restate.pid",
            "n5/restate.pid",
            "s3/moto.pid",
        ];
        for f in files {
            if let Ok(pid) = std::fs::read_to_string(self.0.join(f)) {
                let _ = Command::new("kill")
                    .args(["-9", "--", &format!("-{}", pid.trim())])
                    .status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits (at most a minute) until `partitions` partitions have a leader.
#[track_caller]
fn wait_for_leaders(url: &str, partitions: usize) {
    let started = std::time::Instant::now();
    loop {
        let leaders = ctl::leaders(url);
        if leaders.len() == partitions {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "partitions without a leader: {leaders:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// What losing a machine for good does to the node it ran: the process killed, its data gone.
fn kill_for_good(node_dir: &Path) {
    let pid = std::fs::read_to_string(node_dir.join("restate.pid")).expect("a running node");
    let _ = Command::new("kill")
        .args(["-9", "--", &format!("-{}", pid.trim())])
        .status();
    let started = std::time::Instant::now();
    while pid_alive(&node_dir.join("restate.pid")) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still runs after kill -9"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::fs::remove_dir_all(node_dir.join("data")).expect("delete the node's data");
}

/// Whether the process in `pid_file` runs (a killed process not reaped yet, a zombie, does not).
fn pid_alive(pid_file: &Path) -> bool {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        // `PID (comm) STATE ...`: the state follows the last ')'.
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

#[test]
fn single_node_to_three_nodes_stage_by_stage_without_losing_data() {
    crate::e2e!();
    support::restate::assert_private_network();
    let (major, minor) = terraform_version();
    assert!(
        (major, minor) >= (1, 4),
        "the migration example needs Terraform >= 1.4 (terraform_data); this terraform is {major}.{minor}"
    );
    support::restate::binaries();
    let ex = Example {
        ws: Workspace::from_example(&project_root().join("examples/single-to-multi-node")),
        nodes_dir: tempfile::tempdir().unwrap().keep(),
    };
    let _leftovers = StopLeftovers(ex.nodes_dir.clone());
    let n1 = fabric(0);
    let s3 = S3::attach(9000 + PORT_OFFSET);
    let ledger = ex.nodes_dir.join("ledger.json");
    let ledger = ledger.to_str().unwrap();
    let base_roles = ["worker", "admin", "metadata-server", "http-ingress"];
    let all_roles = [
        "worker",
        "admin",
        "metadata-server",
        "http-ingress",
        "log-server",
    ];

    // What each stage's plan changes: that step of the guide, and nothing else.
    let expected: [&[&str]; 7] = [
        &["create restate_node.n1", "create terraform_data.n1"],
        &["create terraform_data.s3[0]", "replace terraform_data.n1"],
        &[
            "create restate_cluster_config.this[0]",
            "replace terraform_data.n1",
            "update restate_node.n1",
        ],
        &[],
        &["create restate_partition_snapshot.before_scale_out[0]"],
        &[
            "create restate_node.joiner[\"n2\"]",
            "create restate_node.joiner[\"n3\"]",
            "create terraform_data.joiner[\"n2\"]",
            "create terraform_data.joiner[\"n3\"]",
        ],
        &["update restate_cluster_config.this[0]"],
    ];

    // Stage 0: one node, provisioned on the local loglet, without the log-server role.
    assert_eq!(ex.planned_changes(0), expected[0]);
    ex.apply(0);
    assert_config(&n1, "local", None);
    assert_logs(&n1, "local", None);
    assert_eq!(ctl_roles(&n1), [("n1".to_string(), sorted(&base_roles))]);
    ex.assert_plan_empty(0);

    // The service, and the first increments, before the migration starts.
    let _service = counter::start(&format!("http://127.0.0.1:{}", 9070 + PORT_OFFSET));
    let keys = KEYS.to_string();
    client(&["add", &ingress_urls(), ledger, &keys, "0"]);

    for stage in 1..=6u8 {
        let generation_before = ctl::nodes(&n1)["n1"].generation;
        assert_eq!(
            ex.planned_changes(stage),
            expected[stage as usize],
            "stage {stage}"
        );
        ex.apply(stage);
        match stage {
            1 => {
                // A snapshot repository; n1 restarted with it (a new generation), still local.
                let toml = std::fs::read_to_string(ex.nodes_dir.join("n1/restate.toml")).unwrap();
                assert!(
                    toml.contains("[worker.snapshots]")
                        && toml.contains("destination = \"s3://restate-snapshots/demo\""),
                    "{toml}"
                );
                assert_ne!(
                    ctl::nodes(&n1)["n1"].generation,
                    generation_before,
                    "n1 was not restarted"
                );
                assert!(s3.list(BUCKET, "").is_empty());
                assert_config(&n1, "local", None);
            }
            2 => {
                assert_eq!(ctl::nodes(&n1)["n1"].roles, sorted(&all_roles));
                assert_config(&n1, "replicated", Some("{node: 1}"));
                assert_logs(&n1, "replicated", Some(1));
            }
            3 => {
                assert_eq!(ex.output("logs_replicated"), Value::Bool(true));
                assert_logs(&n1, "replicated", Some(1));
            }
            4 => {
                // Every partition's latest.json names the snapshot recorded in state.
                let snapshots = ex.output("snapshots");
                let snapshots = snapshots.as_object().unwrap();
                assert_eq!(snapshots.len(), 4, "{snapshots:?}");
                for (pid, id) in snapshots {
                    let body = s3
                        .get(BUCKET, &format!("{CLUSTER}/{pid}/latest.json"))
                        .expect("latest.json");
                    let latest: Value = serde_json::from_str(&body).unwrap();
                    assert_eq!(&latest["snapshot_id"], id, "partition {pid}");
                    assert_eq!(latest["cluster_name"], CLUSTER);
                }
            }
            5 => {
                let nodes = ctl::nodes(&n1);
                assert_eq!(nodes.len(), 3, "{nodes:?}");
                for name in ["n1", "n2", "n3"] {
                    assert_eq!(nodes[name].roles, sorted(&all_roles), "{name}");
                }
                // No node reports a cluster other than n1's.
                let fp = ctl::fingerprint(&n1);
                for i in 0..3u16 {
                    let health = http::get(5122 + PORT_OFFSET + i, "/health").unwrap();
                    let h: Value = serde_json::from_str(&health).unwrap();
                    assert_eq!(h["cluster_name"], CLUSTER, "{health}");
                    assert_eq!(
                        ctl::fingerprint(&fabric(i)),
                        fp,
                        "node {} reports another cluster",
                        i + 1
                    );
                }
            }
            6 => {
                assert_config(&n1, "replicated", Some("{node: 2}"));
                assert_logs(&n1, "replicated", Some(2));
                assert_eq!(ctl::nodes(&n1).len(), 3);
            }
            _ => unreachable!(),
        }
        ex.assert_plan_empty(stage);
        client(&["add", &ingress_urls(), ledger, &keys, &stage.to_string()]);
    }

    // Nothing lost: every counter holds exactly the increments acknowledged (7 rounds).
    let verdict = client(&["verify", &ingress_urls(), ledger]);
    assert!(
        verdict.contains(&format!(
            "all {KEYS} counters hold exactly the {} acknowledged increments",
            KEYS * 7
        )),
        "{verdict}"
    );

    // Day 2. n4 joins: one more name in `joiners`.
    let with_n4 = r#"joiners=["n2","n3","n4"]"#;
    let run = ex.run(&ex.args("apply", 6, &["-auto-approve", "-var", with_n4]));
    assert_eq!(run.code, 0, "{}", run.text());
    let nodes = ctl::nodes(&n1);
    assert_eq!(nodes.keys().collect::<Vec<_>>(), ["n1", "n2", "n3", "n4"]);
    let n3_id = nodes["n3"].id;
    client(&["add", &ingress_urls_of(&[0, 1, 2, 3]), ledger, &keys, "7"]);

    // n3 leaves: its name deleted. The provider drains it, moves the logs off it, takes it out of
    // the metadata servers and removes it, and only then does its process stop.
    let without_n3 = r#"joiners=["n2","n4"]"#;
    let run = ex.run(&ex.args("apply", 6, &["-auto-approve", "-var", without_n3]));
    assert_eq!(run.code, 0, "{}", run.text());
    let order = run
        .stdout
        .find("restate_node.joiner[\"n3\"]: Destruction complete");
    let stopped = run.stdout.find("terraform_data.joiner[\"n3\"]: Destroying");
    assert!(
        matches!((order, stopped), (Some(a), Some(b)) if a < b),
        "the node must be removed before its process stops:\n{}",
        run.stdout
    );
    assert!(!pid_alive(&ex.nodes_dir.join("n3/restate.pid")));
    let nodes = ctl::nodes(&n1);
    assert_eq!(nodes.keys().collect::<Vec<_>>(), ["n1", "n2", "n4"]);
    let listed = ctl::run(&n1, &["nodes", "list"]);
    assert!(!listed.contains("n3"), "{listed}");
    let members = ctl::run(&n1, &["metadata-server", "list-servers"]);
    assert!(!members.contains(&format!("N{n3_id}")), "{members}");
    for t in ctl::assert_logs(&n1, "replicated", Some(2)) {
        assert!(
            !t.nodeset.contains(&n3_id),
            "log {} is still on n3",
            t.log_id
        );
    }
    wait_for_leaders(&n1, 4);
    client(&["add", &ingress_urls_of(&[0, 1, 3]), ledger, &keys, "8"]);
    let run = ex.run(&ex.args("plan", 6, &["-detailed-exitcode", "-var", without_n3]));
    assert_eq!(
        run.code,
        0,
        "the plan after the removal is not empty:\n{}",
        run.text()
    );
    let verdict = client(&["verify", &ingress_urls_of(&[0, 1, 3]), ledger]);
    assert!(
        verdict.contains(&format!(
            "all {KEYS} counters hold exactly the {} acknowledged increments",
            KEYS * 9
        )),
        "{verdict}"
    );

    // n4's machine is lost for good: its process killed, its data deleted. One diff replaces it:
    // n5 joins under a new name while n4 is drained, moved off and removed.
    let n4_id = ctl::nodes(&n1)["n4"].id;
    kill_for_good(&ex.nodes_dir.join("n4"));
    let replaced = r#"joiners=["n2","n5"]"#;
    let run = ex.run(&ex.args("apply", 6, &["-auto-approve", "-var", replaced]));
    assert_eq!(run.code, 0, "{}", run.text());
    let nodes = ctl::nodes(&n1);
    assert_eq!(nodes.keys().collect::<Vec<_>>(), ["n1", "n2", "n5"]);
    for t in ctl::assert_logs(&n1, "replicated", Some(2)) {
        assert!(
            !t.nodeset.contains(&n4_id),
            "log {} is still on n4",
            t.log_id
        );
    }
    wait_for_leaders(&n1, 4);
    client(&["add", &ingress_urls_of(&[0, 1, 4]), ledger, &keys, "9"]);
    let run = ex.run(&ex.args("plan", 6, &["-detailed-exitcode", "-var", replaced]));
    assert_eq!(
        run.code,
        0,
        "the plan after the replacement is not empty:\n{}",
        run.text()
    );
    let verdict = client(&["verify", &ingress_urls_of(&[0, 1, 4]), ledger]);
    assert!(
        verdict.contains(&format!(
            "all {KEYS} counters hold exactly the {} acknowledged increments",
            KEYS * 10
        )),
        "{verdict}"
    );

    // Walking back to stage 4 would destroy n2 and n5, and with them the replication the cluster
    // is configured for: refused at plan time, and the cluster keeps its three nodes.
    let run = ex.run(&ex.args("plan", 4, &["-var", replaced]));
    assert_ne!(run.code, 0, "{}", run.text());
    assert!(
        run.flat().contains("Removing n2 and n5 is not safe"),
        "{}",
        run.text()
    );
    assert_eq!(ctl::nodes(&n1).len(), 3);

    // A whole-cluster teardown: the nodes are only forgotten, then destroy stops every node and
    // the S3 server.
    let teardown = ["-auto-approve", "-var", "teardown=true", "-var", replaced];
    let run = ex.run(&ex.args("apply", 6, &teardown));
    assert_eq!(run.code, 0, "{}", run.text());
    let run = ex.run(&ex.args("destroy", 6, &teardown));
    assert_eq!(run.code, 0, "{}", run.text());
    for name in ["n1", "n2", "n3", "n4", "n5"] {
        assert!(
            !pid_alive(&ex.nodes_dir.join(format!("{name}/restate.pid"))),
            "{name} still runs"
        );
    }
    for i in 0..5u16 {
        assert!(
            http::get(5122 + PORT_OFFSET + i, "/health").is_none(),
            "a node still answers on {}",
            fabric(i)
        );
        assert!(!ctl::output(&fabric(i), &["nodes", "list"]).status.success());
    }
    assert!(
        !pid_alive(&ex.nodes_dir.join("s3/moto.pid")),
        "the S3 server still runs"
    );
}
