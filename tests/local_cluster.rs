//! End to end: `examples/local-cluster`, examples/aws-cluster's Restate side (the same shared
//! module, the same restart gates, the same graph) with local processes as the machines, driven
//! by the real terraform binary. One apply bootstraps three nodes on Restate 1.6.2 from nothing;
//! a fourth joins; changing `restate_version` to 1.7.12 upgrades the nodes one at a time while
//! counters of a real Restate service are incremented (skipping a minor version is refused at
//! plan time); deleting a name removes that node. Every counter holds exactly the increments
//! acknowledged, and restatectl checks each step independently of the provider.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use support::counter;
use support::ctl;
use support::restate::project_root;
use support::terraform::{terraform_version, Run, Workspace};

/// Ports of the example are its defaults plus this: clear of the migration test's (20000), and
/// below the kernel's ephemeral range.
const PORT_OFFSET: u16 = 21000;
const KEYS: usize = 200;
const OLD: &str = "1.6.2";
const NEW: &str = "1.7.12";
const ALL_ROLES: [&str; 5] = [
    "admin",
    "http-ingress",
    "log-server",
    "metadata-server",
    "worker",
];

fn fabric(i: u16) -> String {
    format!("http://127.0.0.1:{}", 5122 + PORT_OFFSET + i)
}

/// The ingress URLs of the nodes with these indexes (0 is n1).
fn ingress(nodes: &[u16]) -> String {
    nodes
        .iter()
        .map(|i| format!("http://127.0.0.1:{}", 8080 + PORT_OFFSET + i))
        .collect::<Vec<_>>()
        .join(",")
}

struct Cluster {
    ws: Workspace,
    work_dir: PathBuf,
}

impl Cluster {
    fn run(&self, cmd: &str, nodes: &[&str], version: &str, extra: &[&str]) -> Run {
        let mut a: Vec<String> = vec![cmd.into(), "-no-color".into(), "-input=false".into()];
        a.extend(extra.iter().map(|s| s.to_string()));
        let nodes = format!(
            "[{}]",
            nodes
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        for (k, v) in [
            ("nodes", nodes),
            ("restate_version", version.to_string()),
            (
                "tools_dir",
                project_root().join(".tools").display().to_string(),
            ),
            ("work_dir", self.work_dir.display().to_string()),
            ("port_offset", PORT_OFFSET.to_string()),
        ] {
            a.push("-var".into());
            a.push(format!("{k}={v}"));
        }
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        self.ws.run(&refs)
    }

    #[track_caller]
    fn apply(&self, nodes: &[&str], version: &str) -> Run {
        let run = self.run("apply", nodes, version, &["-auto-approve"]);
        assert_eq!(run.code, 0, "apply failed:\n{}", run.text());
        run
    }

    #[track_caller]
    fn assert_plan_empty(&self, nodes: &[&str], version: &str) {
        let run = self.run("plan", nodes, version, &["-detailed-exitcode"]);
        assert_eq!(run.code, 0, "the plan is not empty:\n{}", run.text());
    }

    /// node name -> the version restate_node recorded.
    fn versions(&self) -> Vec<(String, String)> {
        let out = self.ws.output_json();
        out["nodes"]["value"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(n, v)| {
                (
                    n.clone(),
                    v["binary_version"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

/// Stops whatever the example started if the test ends early (the processes outlive terraform).
struct StopLeftovers(PathBuf);

impl Drop for StopLeftovers {
    fn drop(&mut self) {
        for f in ["n1", "n2", "n3", "n4", "n5"]
            .iter()
            .map(|n| format!("{n}/restate.pid"))
            .chain(["s3/moto.pid".to_string()])
        {
            if let Ok(pid) = std::fs::read_to_string(self.0.join(f)) {
                let _ = Command::new("kill")
                    .args(["-9", "--", &format!("-{}", pid.trim())])
                    .status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Increments every counter once per round, round after round, until `stop`; returns the rounds.
fn load(urls: String, ledger: PathBuf, stop: Arc<AtomicBool>, first: usize) -> usize {
    let mut round = first;
    while !stop.load(Ordering::Relaxed) {
        counter::add(&urls, &ledger, KEYS, round);
        round += 1;
    }
    round - first
}

/// The nodes whose machines were down at once, at worst, in an apply's output: a machine is down
/// from its destroy until its restart gate is created again (the node back, on its version).
fn most_down_at_once(run: &Run) -> (usize, BTreeSet<String>) {
    let mut down = BTreeSet::new();
    let mut replaced = BTreeSet::new();
    let mut worst = 0;
    for line in run.stdout.lines() {
        // `module.n2[0].terraform_data.machine: Destroying...`
        let node = || {
            line.split("module.")
                .nth(1)
                .and_then(|rest| rest.split('[').next())
                .map(str::to_string)
        };
        if line.contains("terraform_data.machine: Destroying...") {
            if let Some(n) = node() {
                down.insert(n.clone());
                replaced.insert(n);
            }
        } else if line.contains("restate_restart_gate.this: Creation complete") {
            if let Some(n) = node() {
                down.remove(&n);
            }
        }
        worst = worst.max(down.len());
    }
    (worst, replaced)
}

#[test]
fn bootstrap_add_rolling_upgrade_and_removal_through_the_modules() {
    crate::e2e!();
    support::restate::assert_private_network();
    assert!(
        terraform_version() >= (1, 4),
        "terraform_data needs Terraform >= 1.4"
    );
    support::restate::binaries();
    let old_server = project_root().join(format!(
        ".tools/restate-{OLD}/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
    ));
    assert!(
        old_server.exists(),
        "{} is missing: scripts/install-deps.sh installs it",
        old_server.display()
    );
    let cluster = Cluster {
        ws: Workspace::from_examples_tree("local-cluster"),
        work_dir: tempfile::tempdir().unwrap().keep(),
    };
    let _leftovers = StopLeftovers(cluster.work_dir.clone());
    // Installs the modules (local paths: `get`, not `init`, which would ask the registry for the
    // provider that dev_overrides provides).
    let run = cluster.ws.run(&["get", "-no-color"]);
    assert_eq!(run.code, 0, "terraform get failed:\n{}", run.text());
    let ledger = cluster.work_dir.join("ledger.json");
    let n1 = fabric(0);

    // One apply, from nothing: three machines, the cluster provisioned once they run, the nodes
    // joined.
    let three = ["n1", "n2", "n3"];
    cluster.apply(&three, OLD);
    let nodes = ctl::nodes(&n1);
    assert_eq!(nodes.keys().collect::<Vec<_>>(), three);
    for (name, n) in &nodes {
        assert_eq!(n.roles, ALL_ROLES, "{name}");
    }
    let config = ctl::cluster_config(&n1);
    assert_eq!(config.log_provider, "replicated", "{config:?}");
    assert_eq!(config.partition_replication, "{node: 2}", "{config:?}");
    ctl::assert_logs(&n1, "replicated", Some(2));
    assert_eq!(
        cluster.versions(),
        three.map(|n| (n.to_string(), OLD.to_string()))
    );
    cluster.assert_plan_empty(&three, OLD);

    // The counter service, and a first round of increments.
    let _service = counter::start(&format!("http://127.0.0.1:{}", 9070 + PORT_OFFSET));
    counter::add(&ingress(&[0, 1, 2]), &ledger, KEYS, 0);
    let mut rounds = 1;

    // A fourth node: one more name.
    let four = ["n1", "n2", "n3", "n4"];
    cluster.apply(&four, OLD);
    assert_eq!(ctl::nodes(&n1).len(), 4);
    cluster.assert_plan_empty(&four, OLD);

    // Skipping a minor version is refused at plan time (1.8 is beyond what this provider
    // renders, which the plan says first).
    let run = cluster.run("plan", &four, "1.8.0", &[]);
    assert_ne!(run.code, 0, "{}", run.text());
    assert!(
        run.flat().contains("Restate 1.8.0 is not supported"),
        "{}",
        run.text()
    );

    // The upgrade: one variable. The machines are replaced one at a time, each after the previous
    // node is back on the new version, while the counters are incremented.
    let stop = Arc::new(AtomicBool::new(false));
    let load_thread = {
        let (stop, ledger) = (stop.clone(), ledger.clone());
        let urls = ingress(&[0, 1, 2, 3]);
        std::thread::spawn(move || load(urls, ledger, stop, 1))
    };
    let run = cluster.apply(&four, NEW);
    stop.store(true, Ordering::Relaxed);
    rounds += load_thread.join().expect("the load thread");
    let (worst, replaced) = most_down_at_once(&run);
    assert_eq!(replaced, four.iter().map(|n| n.to_string()).collect());
    assert_eq!(worst, 1, "machines were down together:\n{}", run.stdout);
    assert_eq!(
        cluster.versions(),
        four.map(|n| (n.to_string(), NEW.to_string()))
    );
    cluster.assert_plan_empty(&four, NEW);
    counter::verify(&ingress(&[0, 1, 2, 3]), &ledger, KEYS, rounds);

    // Going back more than one minor (1.7 to 1.5) breaks Restate's upgrade rule: refused at plan
    // time at every node's expected_version, and nothing restarts.
    let run = cluster.run("plan", &four, "1.5.3", &[]);
    assert_ne!(run.code, 0, "{}", run.text());
    assert!(
        run.flat().contains("Unsupported version change")
            && run.flat().contains("expected_version"),
        "{}",
        run.text()
    );

    // n2 leaves: its name deleted. It is removed from the cluster before its process stops.
    let n2_id = ctl::nodes(&n1)["n2"].id;
    let three = ["n1", "n3", "n4"];
    cluster.apply(&three, NEW);
    let nodes = ctl::nodes(&n1);
    assert_eq!(nodes.keys().collect::<Vec<_>>(), three);
    for t in ctl::assert_logs(&n1, "replicated", Some(2)) {
        assert!(
            !t.nodeset.contains(&n2_id),
            "log {} is still on n2",
            t.log_id
        );
    }
    cluster.assert_plan_empty(&three, NEW);
    counter::add(&ingress(&[0, 2, 3]), &ledger, KEYS, rounds);
    rounds += 1;
    counter::verify(&ingress(&[0, 2, 3]), &ledger, KEYS, rounds);

    // Teardown: the nodes are only forgotten, then destroy stops everything.
    let teardown = ["-auto-approve", "-var", "teardown=true"];
    let run = cluster.run("apply", &three, NEW, &teardown);
    assert_eq!(run.code, 0, "{}", run.text());
    let run = cluster.run("destroy", &three, NEW, &teardown);
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(!ctl::output(&n1, &["nodes", "list"]).status.success());
}
