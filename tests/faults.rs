//! The fault suite: faults injected into a real cluster while the real terraform applies, each
//! followed by comparing Terraform's state with the cluster (restatectl, the S3 API) and by a next
//! apply that must converge (its second plan empty).
//!
//! Every node runs on a test host of its own (`support::hosts`: its own network namespace and
//! address on a bridge in the suite's private namespace), so a host can be cut off while its node
//! keeps running. A counter service takes increments through the ingress of the first three nodes
//! for the whole run; at the end every acknowledged increment must be there. The figures (faults
//! injected, faults survived, increments lost) are printed at the end; docs/faults.md records them.
//!
//! Faults:
//! - a node killed (SIGKILL) during `restate_partition_snapshot` create, during
//!   `restate_cluster_config`'s wait for logs, and during a `restate_node` removal (the node
//!   leaving, and the node behind the first endpoint);
//! - the node behind the first endpoint cut off (not killed) mid-apply, during a snapshot and
//!   during a node's join: the operation finishes through another endpoint or fails with a clear
//!   error within its timeout;
//! - a host partitioned from the others during a replication change;
//! - `terraform apply` interrupted (SIGINT) during each long wait: snapshots, the wait for logs, a
//!   node's join and a node's removal.

mod support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::counter::{self, Load};
use support::ctl;
use support::hosts::{Bridge, Host, SUITE_IP};
use support::relay::SlowRelay;
use support::restate::{restate_version, Node, NodeSpec, ALL_ROLES};
use support::s3::S3;
use support::terraform::{provider_block, Run, Running, Workspace};
use support::{quoted_list, sorted_strings};

const CLUSTER: &str = "faults";
const BUCKET: &str = "snapshots";
/// Counters incremented once per round of the load.
const KEYS: usize = 40;
/// How long terraform may take to exit after SIGINT: the provider must give up its wait.
const AFTER_INTERRUPT: Duration = Duration::from_secs(30);
/// Timeouts of the resources: a fault that stops an operation must end it within these.
const WAIT_TIMEOUT: &str = "2m";
const WAIT_LIMIT: Duration = Duration::from_secs(120);
/// The S3 relay's delay while a snapshot is taken, so an export lasts seconds.
const SLOW_S3: Duration = Duration::from_millis(1500);

/// What the Terraform configuration asks for.
#[derive(Clone, Debug)]
struct Desired {
    log_replication: String,
    partition_replication: String,
    /// `restate_node` resources, by node name.
    nodes: Vec<String>,
    /// `restate_partition_snapshot.s` with `triggers = { round = N }`.
    snapshot: Option<u32>,
}

/// How closely state and cluster must agree (see [`Suite::compare`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// As the fault left them: every difference is reported.
    AsLeft,
    /// After a refresh: what the state holds must be true; what it lacks (a resource whose
    /// create was interrupted) and logs that moved since the refresh are not differences.
    Refreshed,
    /// After a converging apply: nothing may differ.
    Converged,
}

/// One fault and what became of it.
struct Outcome {
    fault: String,
    survived: bool,
    took: Duration,
    /// What happened: how the apply ended and what the comparison found.
    notes: Vec<String>,
}

struct Suite {
    _bridge: Arc<Bridge>,
    s3: S3,
    relay: SlowRelay,
    nodes: BTreeMap<String, Node>,
    ws: Workspace,
    dir: tempfile::TempDir,
    desired: Desired,
    runs: usize,
    started: Instant,
    /// Nodes whose host is cut off now.
    cut: std::collections::BTreeSet<String>,
    /// The hosts of n1, n2 and n3, made first: their addresses are the provider's endpoints and
    /// every node's metadata client addresses.
    seeds: Vec<Arc<Host>>,
}

impl Suite {
    fn say(&self, what: &str) {
        eprintln!(
            "[faults {:>6.1}s] {what}",
            self.started.elapsed().as_secs_f64()
        );
    }

    /// The three nodes the provider's endpoints name, in order: n1 is the first endpoint.
    fn endpoints(&self) -> Vec<String> {
        self.seeds.iter().map(|h| h.url(5122)).collect()
    }

    fn ingress_urls(&self) -> String {
        ["n1", "n2", "n3"]
            .iter()
            .map(|n| self.nodes[*n].ingress_url())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A node of the cluster on a new host: all roles, the first three nodes as its metadata
    /// client addresses, the S3 repository through the relay.
    fn add_node(&mut self, name: &str) -> &mut Node {
        let mut spec = NodeSpec::new(name, CLUSTER, ALL_ROLES);
        spec.metadata_addresses = self.endpoints();
        spec.extra_toml = self
            .s3
            .snapshots_toml_via(&self.relay.endpoint(), BUCKET, CLUSTER);
        // n1, n2 and n3 on the seed hosts, the others on new ones.
        let host = match name {
            "n1" => self.seeds[0].clone(),
            "n2" => self.seeds[1].clone(),
            "n3" => self.seeds[2].clone(),
            _ => Host::new(),
        };
        let node = Node::prepare_on(spec, host);
        self.nodes.insert(name.to_string(), node);
        self.nodes.get_mut(name).expect("just added")
    }

    fn node(&mut self, name: &str) -> &mut Node {
        self.nodes.get_mut(name).expect("a node of the suite")
    }

    fn main_tf(&self) -> String {
        let d = &self.desired;
        let mut tf = provider_block(
            &self.endpoints(),
            &format!("  cluster_name = \"{CLUSTER}\"\n"),
        );
        tf.push_str(&format!(
            "resource \"restate_cluster_config\" \"this\" {{\n  provision             = true\n  log_provider          = \"replicated\"\n  log_replication       = \"{}\"\n  partition_replication = \"{}\"\n  timeouts {{\n    create = \"{WAIT_TIMEOUT}\"\n    update = \"{WAIT_TIMEOUT}\"\n  }}\n}}\n\n",
            d.log_replication, d.partition_replication
        ));
        for name in &d.nodes {
            tf.push_str(&format!(
                "resource \"restate_node\" \"{name}\" {{\n  name  = \"{name}\"\n  roles = {}\n  timeouts {{\n    create = \"{WAIT_TIMEOUT}\"\n    update = \"{WAIT_TIMEOUT}\"\n    delete = \"{WAIT_TIMEOUT}\"\n  }}\n  depends_on = [restate_cluster_config.this]\n}}\n\n",
                quoted_list(ALL_ROLES)
            ));
        }
        if let Some(round) = d.snapshot {
            tf.push_str(&format!(
                "resource \"restate_partition_snapshot\" \"s\" {{\n  triggers = {{ round = \"{round}\" }}\n  timeouts {{\n    create = \"{WAIT_TIMEOUT}\"\n  }}\n  depends_on = [restate_cluster_config.this]\n}}\n"
            ));
        }
        tf
    }

    /// Starts `terraform apply` for `desired`, with the provider's INFO lines in a log of its own.
    fn spawn_apply(&mut self, desired: Desired) -> (Running, PathBuf) {
        self.desired = desired;
        self.ws.write(&self.main_tf());
        self.runs += 1;
        let log = self.dir.path().join(format!("apply-{}.log", self.runs));
        let running = self.ws.spawn(
            &["apply", "-auto-approve", "-no-color", "-input=false"],
            &[
                ("TF_LOG_PROVIDER", "INFO"),
                ("TF_LOG_PATH", log.to_str().expect("UTF-8")),
            ],
        );
        (running, log)
    }

    /// A node that answers restatectl now: the first of n1..n3 that runs and is connected.
    fn live_url(&mut self) -> String {
        let started = Instant::now();
        loop {
            for name in ["n1", "n2", "n3"] {
                if self.cut.contains(name) {
                    continue;
                }
                let node = self.node(name);
                if !node.running() {
                    continue;
                }
                let url = node.fabric_url();
                if ctl::try_metadata(&url, "nodes_config").is_some() {
                    return url;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no node answers restatectl"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Compares Terraform's state with the cluster, as restatectl and the S3 API report it, and
    /// returns what differs. Whatever `check` says, the state must never claim what the cluster
    /// does not have: another cluster, a node under another id, a log moved that has not (once
    /// refreshed), a snapshot the repository does not hold (nor one newer).
    fn compare(&mut self, check: Check) -> Vec<String> {
        // The state first: logs only ever move towards the configuration, so a log the state
        // lists as moved must be moved when the cluster is read after it.
        let state = self.ws.state_json();
        let url = self.live_url();
        let resources: Vec<Value> = state["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let fingerprint = ctl::fingerprint(&url).to_string();
        let live_nodes = ctl::nodes(&url);
        let config = ctl::cluster_config(&url);
        let mut diffs = Vec::new();
        for r in &resources {
            let v = &r["values"];
            let address = r["address"].as_str().unwrap_or_default().to_string();
            if r["mode"] != "managed" {
                continue;
            }
            assert_eq!(
                v["cluster_fingerprint"].as_str(),
                Some(fingerprint.as_str()),
                "{address}: the state names another cluster"
            );
            match r["type"].as_str() {
                Some("restate_cluster_config") => {
                    assert_eq!(v["log_provider"], config.log_provider, "{address}");
                    let spelled = |s: &str| {
                        if s.starts_with('{') {
                            s.to_string()
                        } else {
                            format!("{{node: {s}}}")
                        }
                    };
                    let state_log = spelled(v["log_replication"].as_str().unwrap_or_default());
                    if Some(&state_log) != config.log_replication.as_ref() {
                        diffs.push(format!(
                            "{address}: log_replication {state_log} in state, {:?} in the cluster",
                            config.log_replication
                        ));
                    }
                    let state_part =
                        spelled(v["partition_replication"].as_str().unwrap_or_default());
                    if state_part != config.partition_replication {
                        diffs.push(format!(
                            "{address}: partition_replication {state_part} in state, {} in the cluster",
                            config.partition_replication
                        ));
                    }
                    let state_pending: Vec<u64> = v["pending_logs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .collect();
                    let live_pending = pending_logs(&url, &state_log);
                    if state_pending != live_pending {
                        let claim = format!(
                            "{address}: pending_logs {state_pending:?} in state, {live_pending:?} in the cluster"
                        );
                        // Claiming a log moved that has not is never right once refreshed.
                        let claims_moved = live_pending.iter().any(|l| !state_pending.contains(l));
                        assert!(!(claims_moved && check != Check::AsLeft), "{claim}");
                        if claims_moved || check != Check::Refreshed {
                            diffs.push(claim);
                        }
                    }
                }
                Some("restate_node") => {
                    let name = v["name"].as_str().unwrap_or_default();
                    match live_nodes.get(name) {
                        Some(live) => {
                            assert_eq!(
                                v["node_id"].as_u64(),
                                Some(live.id),
                                "{address}: the state names another node"
                            );
                            if sorted_strings(&v["roles"]) != live.roles {
                                diffs.push(format!(
                                    "{address}: roles {} in state, {:?} in the cluster",
                                    v["roles"], live.roles
                                ));
                            }
                        }
                        None => diffs.push(format!(
                            "{address}: in state, not in the cluster's nodes configuration"
                        )),
                    }
                }
                Some("restate_partition_snapshot") => {
                    let keys = self.s3.list(BUCKET, &format!("{CLUSTER}/"));
                    for s in v["snapshots"].as_array().into_iter().flatten() {
                        let id = s["snapshot_id"].as_str().unwrap_or_default();
                        let pid = s["partition_id"].as_u64().unwrap_or(u64::MAX);
                        let lsn = s["min_applied_lsn"].as_u64().unwrap_or(u64::MAX);
                        // `faults/0/lsn_00000000000000022646-snap_…/metadata.json`
                        let prefix = format!("{CLUSTER}/{pid}/lsn_");
                        let held: Vec<(u64, &str)> = keys
                            .iter()
                            .filter_map(|k| k.strip_prefix(&prefix))
                            .filter_map(|k| {
                                let (lsn, rest) = k.split_once('-')?;
                                Some((lsn.parse().ok()?, rest.split('/').next()?))
                            })
                            .collect();
                        if held.iter().any(|(_, held_id)| *held_id == id) {
                            continue;
                        }
                        // Restate prunes old snapshots ([worker.snapshots] num-retained) once
                        // newer ones are taken (a removal takes some): one that covers at least
                        // as much must be there.
                        let newer = held.iter().filter(|(l, _)| *l >= lsn).count();
                        assert!(
                            newer > 0,
                            "{address}: snapshot {id} of partition {pid} (LSN {lsn}) is in state; the repository holds neither it nor a newer one: {held:?}"
                        );
                        diffs.push(format!(
                            "{address}: snapshot {id} of partition {pid} pruned, {newer} newer in the repository"
                        ));
                    }
                }
                _ => {}
            }
        }
        // Nodes the configuration tracks and the cluster has, missing from the state (a create
        // that did not finish: the next apply adopts them).
        for name in &self.desired.nodes {
            let address = format!("restate_node.{name}");
            if live_nodes.contains_key(name) && !resources.iter().any(|r| r["address"] == address) {
                diffs.push(format!("{address}: in the cluster, not in state"));
            }
        }
        // A snapshot pruned for a newer one is what Restate does; a resource not in state yet is
        // what an interrupted create leaves, and the next apply adopts it.
        let tolerated = |d: &String| {
            d.contains(" pruned, ")
                || (check == Check::Refreshed && d.ends_with("in the cluster, not in state"))
        };
        if check != Check::AsLeft {
            assert!(
                diffs.iter().all(tolerated),
                "state and cluster disagree ({check:?}):\n{}",
                diffs.join("\n")
            );
        }
        diffs
    }

    /// After a fault: compares state and cluster as the fault left them, then after a refresh
    /// (which must make them agree), then applies `desired` again: it must converge, its second
    /// plan be empty, and state and cluster agree.
    fn recover(&mut self, notes: &mut Vec<String>) {
        if let Err(failed) = self.try_recover(notes) {
            panic!("the next apply failed:\n{failed}");
        }
    }

    /// [`recover`](Self::recover) while a node is down or cut off. Restate may then leave a
    /// partition without a leader for minutes (seen once in about ten runs: partition 1 after
    /// n2's SIGKILL during a snapshot, until n2 came back), and no snapshot of it can be taken.
    /// An apply that failed saying that a partition has no leader is noted rather than failed
    /// when restatectl, asked independently, also finds no leader for it; state and cluster must
    /// still agree, and once the node is back [`recover`](Self::recover) must converge.
    fn recover_while_out(&mut self, notes: &mut Vec<String>) {
        let Err(failed) = self.try_recover(notes) else {
            return;
        };
        // The provider's words for it (client::Error::NoPartitionLeader), as Terraform wrapped them.
        let flat = failed.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut named: Vec<u64> = flat
            .split("partition ")
            .filter_map(|s| {
                let (id, rest) = s.split_once(' ')?;
                rest.starts_with("has no leader")
                    .then(|| id.parse().ok())
                    .flatten()
            })
            .collect();
        named.sort_unstable();
        named.dedup();
        let leaders = ctl::leaders(&self.live_url());
        assert!(
            !named.is_empty() && named.iter().all(|p| !leaders.contains_key(p)),
            "the next apply failed (restatectl reports leaders {leaders:?}):\n{failed}"
        );
        let left = self.compare(Check::AsLeft);
        notes.push(format!(
            "the next apply failed: partitions {named:?} had no leader, as restatectl confirms \
             (Restate had not failed them over); state {}",
            if left.is_empty() {
                "agreed with the cluster".to_string()
            } else {
                format!("differed from the cluster: {}", left.join("; "))
            }
        ));
    }

    /// The steps of [`recover`](Self::recover); the text of the next apply when it failed.
    fn try_recover(&mut self, notes: &mut Vec<String>) -> Result<(), String> {
        let left = self.compare(Check::AsLeft);
        if left.is_empty() {
            notes.push("state agreed with the cluster".into());
        } else {
            notes.push(format!(
                "state differed from the cluster: {}",
                left.join("; ")
            ));
        }
        self.ws
            .run(&["apply", "-refresh-only", "-auto-approve", "-no-color"])
            .ok();
        self.compare(Check::Refreshed);
        let (running, _) = self.spawn_apply(self.desired.clone());
        let run = running
            .wait(WAIT_LIMIT + Duration::from_secs(60))
            .expect("the next apply hangs");
        if run.code != 0 {
            self.dump();
            return Err(run.text());
        }
        let plan = self.ws.plan();
        if plan.code != 0 {
            self.dump();
        }
        assert_eq!(plan.code, 0, "expected an empty plan:\n{}", plan.text());
        self.compare(Check::Converged);
        notes.push("next apply converged, second plan empty".into());
        Ok(())
    }

    /// What the cluster and the repository hold, for a failure's investigation.
    fn dump(&mut self) {
        let url = self.live_url();
        for args in [
            &["status", "--extra"][..],
            &["partitions", "list"],
            &["logs", "list"],
        ] {
            let out = ctl::output(&url, args);
            eprintln!(
                "--- restatectl {} (via {url}):\n{}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        eprintln!("--- partition processors (restatectl, via {url}):");
        for p in ctl::partition_processors(&url) {
            eprintln!("  {p:?}");
        }
        eprintln!("--- repository:");
        for key in self.s3.list(BUCKET, &format!("{CLUSTER}/")) {
            if key.ends_with("latest.json") {
                let body = self.s3.get(BUCKET, &key).unwrap_or_default();
                eprintln!("  {key}: {body}");
            } else if key.ends_with("metadata.json") {
                eprintln!("  {key}");
            }
        }
    }

    /// Copies every node's whole log into a directory that outlives the test (under the build's
    /// target directory), for a fault that was not survived; returns the directory.
    fn keep_logs(&self, fault_number: usize) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("fault-logs")
            .join(format!("fault-{fault_number}"));
        std::fs::create_dir_all(&dir).expect("create the log directory");
        for (name, node) in &self.nodes {
            let _ = std::fs::copy(node.log_path(), dir.join(format!("{name}.log")));
        }
        dir
    }

    /// SIGKILL to a node: a crash, its data kept.
    fn kill(&mut self, name: &str) {
        self.node(name).kill();
    }

    /// Cuts a node's host off from every other host and the suite; its node keeps running.
    fn cut_off(&mut self, name: &str) {
        self.node(name).host.clone().expect("on a host").cut_off();
        self.cut.insert(name.to_string());
    }

    fn reconnect(&mut self, name: &str) {
        self.node(name).host.clone().expect("on a host").reconnect();
        self.cut.remove(name);
    }

    /// After a fault that was not survived: every host connected again, and every node the
    /// configuration tracks running again.
    fn heal_all(&mut self) {
        for name in std::mem::take(&mut self.cut) {
            if let Some(host) = self.node(&name).host.clone() {
                host.reconnect();
            }
        }
        for name in self.desired.nodes.clone() {
            let node = self.node(&name);
            if !node.running() {
                node.respawn();
            }
        }
    }

    /// Starts `terraform apply` for `desired` and returns once the provider logs a line with
    /// `needle`: the wait the fault is aimed at. Fails the test if the apply never gets there.
    fn apply_until(&mut self, desired: Desired, needle: &str) -> Running {
        let (mut running, log) = self.spawn_apply(desired);
        assert!(
            self.wait_for_log(&mut running, &log, needle),
            "the apply never logged {needle:?}: {}",
            running.stdout()
        );
        running
    }

    /// Starts an apply that changes the log replication to `copies`, returning once it waits for
    /// the logs to move. The cluster may move them before the provider's first look (its
    /// controller reconfigures a log in milliseconds when nothing holds it up): then the apply
    /// succeeds without waiting and there is no wait to hit, so the change is undone by another
    /// apply and tried again, each such attempt noted.
    fn apply_log_replication(&mut self, copies: &str, notes: &mut Vec<String>) -> Running {
        const ATTEMPTS: usize = 4;
        let before = self.desired.clone();
        let mut d = before.clone();
        d.log_replication = copies.into();
        for attempt in 1..=ATTEMPTS {
            let (mut running, log) = self.spawn_apply(d.clone());
            if self.wait_for_log(&mut running, &log, "waiting for the logs to move") {
                return running;
            }
            assert!(
                running.exited(),
                "the apply never waited for the logs: {}",
                running.stdout()
            );
            let run = running.wait(Duration::from_secs(5)).expect("it exited");
            assert_eq!(
                run.code,
                0,
                "the apply ended before it waited for the logs, and failed:\n{}",
                run.text()
            );
            notes.push(format!(
                "attempt {attempt}: the logs moved before the provider looked; undone, again"
            ));
            let (undo, _) = self.spawn_apply(before.clone());
            let run = undo.wait(WAIT_LIMIT).expect("undoing the change hangs");
            assert_eq!(run.code, 0, "undoing the change failed:\n{}", run.text());
        }
        panic!("in {ATTEMPTS} attempts the logs always moved before the provider looked")
    }

    /// Starts an apply that deletes `name`'s `restate_node` (removing the node), returning once
    /// it waits for the removal.
    fn apply_removing(&mut self, name: &str) -> Running {
        let mut d = self.desired.clone();
        d.nodes.retain(|n| n != name);
        self.apply_until(d, &format!("waiting for {name} to be"))
    }

    /// Injects `fault` under a running apply, waits for the apply to end, and notes how it ended
    /// and how long after the fault.
    fn hit(&mut self, running: Running, notes: &mut Vec<String>, fault: impl FnOnce(&mut Self)) {
        let at = Instant::now();
        fault(self);
        let (run, after) = ended(running, at);
        notes.push(how_it_ended(&run, after));
    }

    /// SIGKILL of `name` under a running apply; then [`recover_around`](Self::recover_around)
    /// with the node down and restarted.
    fn kill_and_recover(&mut self, running: Running, notes: &mut Vec<String>, name: &str) {
        self.hit(running, notes, |s| s.kill(name));
        self.recover_around(
            notes,
            &format!("with {name} still down:"),
            |s| s.node(name).relaunch(),
            &format!("{name} restarted:"),
        );
    }

    /// After a fault that left a node down or cut off: checks state and cluster as they are
    /// (`while_out`), brings the node back with `heal`, and checks again (`once_back`).
    fn recover_around(
        &mut self,
        notes: &mut Vec<String>,
        while_out: &str,
        heal: impl FnOnce(&mut Self),
        once_back: &str,
    ) {
        notes.push(while_out.into());
        self.recover_while_out(notes);
        heal(self);
        notes.push(once_back.into());
        self.recover(notes);
    }

    /// Waits until the provider's log has a line with `needle`.
    fn wait_for_log(&self, running: &mut Running, log: &PathBuf, needle: &str) -> bool {
        let until = Instant::now() + WAIT_LIMIT;
        while Instant::now() < until {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.contains(needle) {
                return true;
            }
            if running.exited() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// The ids of the logs whose tail is not on the replicated provider with `replication` copies
/// (spelled as restatectl does), as the provider's `pending_logs` should list them.
fn pending_logs(url: &str, replication: &str) -> Vec<u64> {
    ctl::log_tails(url)
        .into_iter()
        .filter(|t| {
            t.kind != "replicated" || t.replication_spelled().as_deref() != Some(replication)
        })
        .map(|t| t.log_id)
        .collect()
}

/// Waits for an apply that a fault hit at `at`: it must end within its timeout. Returns how it
/// ended, and when after the fault.
fn ended(running: Running, at: Instant) -> (Run, Duration) {
    let run = running
        .wait(WAIT_LIMIT + Duration::from_secs(30))
        .expect("the apply hangs beyond its timeout");
    (run, at.elapsed())
}

/// SIGINT to a running apply; it must exit within [`AFTER_INTERRUPT`]. Notes how it ended and
/// how long it took to exit.
fn interrupt(running: Running, notes: &mut Vec<String>) {
    running.interrupt();
    let at = Instant::now();
    let run = running
        .wait(AFTER_INTERRUPT)
        .unwrap_or_else(|| panic!("terraform did not exit within {AFTER_INTERRUPT:?} of SIGINT"));
    // Unless the wait ended by itself first, the error says why it stopped.
    assert!(
        run.code == 0 || run.flat().contains("Terraform was interrupted"),
        "{}",
        run.text()
    );
    notes.push(how_it_ended(&run, at.elapsed()));
}

/// How the apply ended, `after` the fault.
fn how_it_ended(run: &Run, after: Duration) -> String {
    let after = Duration::from_millis(after.as_millis() as u64);
    if run.code == 0 {
        return format!("apply succeeded {after:?} after the fault");
    }
    let errors: Vec<String> = run
        .flat()
        .split("Error: ")
        .skip(1)
        .map(|e| e.chars().take(220).collect())
        .collect();
    format!(
        "apply failed {after:?} after the fault: {}",
        errors.join(" | ")
    )
}

#[test]
fn faults_leave_state_and_cluster_agreeing_and_the_next_apply_converges() {
    crate::e2e!();
    let started = Instant::now();
    let bridge = Bridge::get();
    let s3 = S3::start_at(IpAddr::V4(SUITE_IP), BUCKET);
    let relay = SlowRelay::start_at(
        IpAddr::V4(SUITE_IP),
        (IpAddr::V4(SUITE_IP), s3.port),
        Duration::ZERO,
    );
    let mut suite = Suite {
        _bridge: bridge,
        s3,
        relay,
        nodes: BTreeMap::new(),
        ws: Workspace::new(),
        dir: tempfile::tempdir().expect("temp dir"),
        desired: Desired {
            log_replication: "1".into(),
            partition_replication: "2".into(),
            nodes: vec!["n1".into(), "n2".into(), "n3".into()],
            snapshot: None,
        },
        runs: 0,
        started,
        cut: Default::default(),
        seeds: (0..3).map(|_| Host::new()).collect(),
    };
    suite.say(&format!("Restate {}", restate_version()));
    for name in ["n1", "n2", "n3"] {
        suite.add_node(name).respawn();
    }
    for name in ["n1", "n2", "n3"] {
        suite.node(name).wait_health(Duration::from_secs(60));
    }
    // Provisioned through n1 by the provider; the three nodes tracked.
    let (running, _) = suite.spawn_apply(suite.desired.clone());
    let run = running.wait(WAIT_LIMIT).expect("provisioning hangs");
    assert_eq!(run.code, 0, "{}", run.text());
    suite.ws.assert_plan_empty();
    suite.compare(Check::Converged);
    suite.say("provisioned n1, n2, n3");

    let n1_admin = suite.nodes["n1"].admin_url();
    let _service = counter::start_reached_at(&n1_admin, &SUITE_IP.to_string());
    let ledger = suite.dir.path().join("ledger.json");
    let load = Load::start(suite.ingress_urls(), ledger.clone(), KEYS, 0);

    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut run_fault =
        |suite: &mut Suite, fault: &str, f: &mut dyn FnMut(&mut Suite, &mut Vec<String>)| {
            // For work on the suite: RESTATE_TF_FAULTS=a,b runs only the faults whose names
            // contain one of these (a fault may need one before it).
            if let Ok(only) = std::env::var("RESTATE_TF_FAULTS") {
                if !only.split(',').any(|o| fault.contains(o)) {
                    return;
                }
            }
            suite.say(&format!("fault: {fault}"));
            let began = Instant::now();
            let mut notes = Vec::new();
            let result = catch_unwind(AssertUnwindSafe(|| f(suite, &mut notes)));
            let survived = match result {
                Ok(()) => true,
                Err(panic) => {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    notes.push(format!("NOT SURVIVED: {msg}"));
                    let logs = suite.keep_logs(outcomes.len() + 1);
                    notes.push(format!("node logs kept in {}", logs.display()));
                    // So that the next fault starts from a whole cluster.
                    suite.heal_all();
                    false
                }
            };
            suite.say(&format!("{fault}: {}", notes.join("; ")));
            outcomes.push(Outcome {
                fault: fault.to_string(),
                survived,
                took: Duration::from_secs(began.elapsed().as_secs()),
                notes,
            });
        };

    // The logs move to two copies; the apply is interrupted while it waits for them.
    run_fault(
        &mut suite,
        "SIGINT during restate_cluster_config's wait for logs (1 -> 2 copies)",
        &mut |suite, notes| {
            let running = suite.apply_log_replication("2", notes);
            interrupt(running, notes);
            suite.recover(notes);
        },
    );

    // n4 joins; the apply is interrupted while it waits for n4, which is not started yet.
    run_fault(
        &mut suite,
        "SIGINT during restate_node's wait for a joining node (n4)",
        &mut |suite, notes| {
            suite.add_node("n4");
            let mut d = suite.desired.clone();
            d.nodes.push("n4".into());
            let running = suite.apply_until(d, "waiting for node n4");
            interrupt(running, notes);
            let left = suite.compare(Check::AsLeft);
            notes.push(format!("before n4 started: {left:?}"));
            suite.node("n4").relaunch();
            suite.recover(notes);
        },
    );

    // Four nodes; three copies. n1, behind the first endpoint, is killed while the logs move.
    run_fault(
        &mut suite,
        "SIGKILL of n1 (first endpoint) during restate_cluster_config's wait for logs (2 -> 3 copies)",
        &mut |suite, notes| {
            let running = suite.apply_log_replication("3", notes);
            suite.kill_and_recover(running, notes, "n1");
        },
    );

    // Back to two copies, while n2's host is partitioned from the others.
    run_fault(
        &mut suite,
        "host of n2 partitioned from the others during a replication change (3 -> 2 copies)",
        &mut |suite, notes| {
            let running = suite.apply_log_replication("2", notes);
            suite.hit(running, notes, |s| s.cut_off("n2"));
            suite.recover_around(
                notes,
                "with n2 still cut off:",
                |s| s.reconnect("n2"),
                "n2 reconnected:",
            );
        },
    );

    // Snapshots: each export slowed down by the S3 relay so that it lasts seconds.
    let snapshot_round = std::cell::Cell::new(0u32);
    let snapshot_fault = |suite: &mut Suite,
                          notes: &mut Vec<String>,
                          fault: &mut dyn FnMut(&mut Suite, Running, &mut Vec<String>),
                          heal: Option<&mut dyn FnMut(&mut Suite)>| {
        snapshot_round.set(snapshot_round.get() + 1);
        let mut d = suite.desired.clone();
        d.snapshot = Some(snapshot_round.get());
        suite.relay.set_delay(SLOW_S3);
        let (mut running, _) = suite.spawn_apply(d);
        assert!(
            running.wait_for_output("restate_partition_snapshot.s: Creating...", WAIT_LIMIT),
            "the apply never took snapshots: {}",
            running.stdout()
        );
        std::thread::sleep(Duration::from_secs(1));
        fault(suite, running, notes);
        suite.relay.set_delay(Duration::ZERO);
        match heal {
            Some(heal) => suite.recover_around(notes, "with the node out:", heal, "back:"),
            None => suite.recover(notes),
        }
    };
    run_fault(
        &mut suite,
        "SIGKILL of n2 during restate_partition_snapshot create",
        &mut |suite, notes| {
            snapshot_fault(
                suite,
                notes,
                &mut |suite, running, notes| suite.hit(running, notes, |s| s.kill("n2")),
                Some(&mut |suite| suite.node("n2").relaunch()),
            )
        },
    );
    run_fault(
        &mut suite,
        "SIGINT during restate_partition_snapshot create",
        &mut |suite, notes| {
            snapshot_fault(
                suite,
                notes,
                &mut |_, running, notes| interrupt(running, notes),
                None,
            )
        },
    );
    run_fault(
        &mut suite,
        "n1 (first endpoint) cut off during restate_partition_snapshot create",
        &mut |suite, notes| {
            snapshot_fault(
                suite,
                notes,
                &mut |suite, running, notes| suite.hit(running, notes, |s| s.cut_off("n1")),
                Some(&mut |suite| suite.reconnect("n1")),
            )
        },
    );

    // n5 and n6 join while n1, behind the first endpoint, is cut off.
    run_fault(
        &mut suite,
        "n1 (first endpoint) cut off during restate_node's wait for joining nodes (n5, n6)",
        &mut |suite, notes| {
            suite.add_node("n5");
            suite.add_node("n6");
            let mut d = suite.desired.clone();
            d.nodes.extend(["n5".into(), "n6".into()]);
            let running = suite.apply_until(d, "waiting for node n5");
            suite.hit(running, notes, |s| {
                s.cut_off("n1");
                s.node("n5").respawn();
                s.node("n6").respawn();
            });
            suite.recover_around(
                notes,
                "with n1 still cut off:",
                |s| s.reconnect("n1"),
                "n1 reconnected:",
            );
        },
    );

    // Removals.
    run_fault(
        &mut suite,
        "SIGINT during restate_node removal (n4)",
        &mut |suite, notes| {
            let running = suite.apply_removing("n4");
            interrupt(running, notes);
            suite.recover(notes);
        },
    );
    run_fault(
        &mut suite,
        "SIGKILL of the leaving node during restate_node removal (n5)",
        &mut |suite, notes| {
            let running = suite.apply_removing("n5");
            suite.hit(running, notes, |s| s.kill("n5"));
            suite.recover(notes);
        },
    );

    run_fault(
        &mut suite,
        "SIGKILL of n1 (first endpoint) during restate_node removal (n6)",
        &mut |suite, notes| {
            let running = suite.apply_removing("n6");
            suite.kill_and_recover(running, notes, "n1");
        },
    );

    // The figures.
    let load_report = load.finish();
    let verdict = counter::check(&suite.ingress_urls(), &ledger);
    let injected = outcomes.len();
    let survived = outcomes.iter().filter(|o| o.survived).count();
    eprintln!("\n=== fault suite, Restate {} ===", restate_version());
    for o in &outcomes {
        eprintln!(
            "[{}] {} ({:?})\n      {}",
            if o.survived { "survived" } else { "FAILED" },
            o.fault,
            o.took,
            o.notes.join("\n      ")
        );
    }
    let took = Duration::from_secs(started.elapsed().as_secs());
    eprintln!(
        "faults injected: {injected}\nfaults survived: {survived}\nincrements acknowledged: {} ({} rounds of {KEYS}, {} repeated)\nincrements lost: {}\nincrements counted twice: {}\nsuite took {took:?}",
        verdict.acknowledged,
        load_report.rounds,
        load_report.retried,
        verdict.lost,
        verdict.extra,
    );
    // The figures as a Markdown table row and a table of faults, for docs/faults.md.
    if let Ok(path) = std::env::var("RESTATE_TF_FAULTS_REPORT") {
        let mut md = format!(
            "| Restate {} | {injected} | {survived} | {} | {} | {took:?} |\n\n",
            restate_version(),
            verdict.acknowledged,
            verdict.lost
        );
        for o in &outcomes {
            md.push_str(&format!(
                "- {} — {} ({:?}): {}\n",
                if o.survived { "survived" } else { "FAILED" },
                o.fault,
                o.took,
                o.notes.join("; ")
            ));
        }
        std::fs::write(&path, md).expect("write the report");
    }
    assert_eq!(survived, injected, "faults not survived");
    assert_eq!(verdict.lost, 0, "increments lost: {}", verdict.report);
    assert_eq!(
        verdict.extra, 0,
        "increments counted twice: {}",
        verdict.report
    );
}

/// `python3 -c` in `host`: whether a TCP connection to `addr` opens within 2 s.
fn connects_from(host: &Host, addr: &str) -> bool {
    let (ip, port) = addr.rsplit_once(':').expect("ip:port");
    host.command("python3")
        .args([
            "-c",
            &format!(
                "import socket, sys\ntry:\n    socket.create_connection(('{ip}', {port}), timeout=2)\nexcept OSError:\n    sys.exit(1)"
            ),
        ])
        .status()
        .expect("run python3 in the host")
        .success()
}

/// The test hosts themselves: each its own address, reachable from the suite and from the other
/// hosts, nothing else (no default route); a host cut off is unreachable while its node runs on,
/// and reachable again once reconnected.
#[test]
fn test_hosts_are_separate_machines_that_can_be_cut_off() {
    crate::e2e!();
    let a = Host::new();
    let b = Host::new();
    let mut node = Node::start_on(NodeSpec::new("a", "hosts", ALL_ROLES), a.clone());
    let fabric = format!("{}:5122", a.ip);
    assert!(node.fabric_url().contains(&a.ip.to_string()));
    assert!(connects_from(&b, &fabric), "host b cannot reach a");
    // Restate's default ports on every host: the address tells them apart.
    assert!(!connects_from(&b, &format!("{}:5122", b.ip)));
    // Nothing beyond the bridge: an address outside it has no route.
    assert!(!connects_from(&b, "192.0.2.1:80"));
    a.cut_off();
    assert!(
        !connects_from(&b, &fabric),
        "host a still reachable after the cut"
    );
    assert!(support::http::get_at(IpAddr::V4(a.ip), 5122, "/health").is_none());
    assert!(node.running(), "the node stopped when its host was cut off");
    a.reconnect();
    node.wait_health(Duration::from_secs(30));
    assert!(connects_from(&b, &fabric));
}
