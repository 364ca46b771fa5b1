//! The examples: formatted, the quickstart as documented, and the demo's Terraform version check
//! and Ctrl-C. (Their validation against the provider's schema is tests/examples_validate.rs's.)

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::ctl::{self, ClusterConfigView};
use support::restate::{project_root, ALL_ROLES};
use support::terraform::terraform_bin;

#[test]
fn every_example_is_formatted() {
    let out = Command::new(terraform_bin())
        .args(["fmt", "-check", "-recursive", "-diff"])
        .current_dir(project_root().join("examples"))
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("terraform fmt");
    assert!(
        out.status.success(),
        "terraform fmt -check failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// On a Terraform without terraform_data the demo stops at once, saying why.
#[test]
fn the_demo_refuses_terraform_older_than_1_4() {
    let fake = tempfile::tempdir().unwrap();
    let bin = fake.path().join("terraform");
    std::fs::write(
        &bin,
        "#!/bin/sh\necho '{\"terraform_version\":\"1.0.3\"}'\n",
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&bin).status().unwrap();
    let path = format!(
        "{}:{}",
        fake.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(project_root().join("scripts/demo.sh"))
        .env("PATH", path)
        .env_remove("RESTATE_TF_IN_PRIVATE_NETNS")
        .output()
        .expect("run demo.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("The demo needs Terraform >= 1.4 (terraform_data); found 1.0.3"),
        "{stderr}"
    );
}

/// Every process below `pid`, deepest first.
fn descendants(pid: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .expect("pgrep");
    let mut all = Vec::new();
    for child in String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
    {
        all.extend(descendants(child));
        all.push(child);
    }
    all
}

/// The quickstart as its comments say: `examples/quickstart/run.sh` provisions the node of
/// restate.toml with main.tf (checked with restatectl through its `-- CMD` hook while the node
/// runs), keeps the node's data in a temporary directory, and leaves nothing running.
#[test]
fn the_quickstart_runs_as_documented() {
    crate::e2e!();
    support::restate::assert_private_network();
    let saved = tempfile::tempdir().unwrap();
    // The hook: sh -c SCRIPT DIR saves what restatectl reports into DIR ($0).
    let save = r#"set -e
for key in nodes_config bifrost_config partition_table; do
  restatectl metadata get -k "$key" > "$0/$key.json"
done
# (Restate 1.6 has no config table: then the base dir is taken from run.sh's own line below.)
restatectl sql --json "SELECT value FROM config WHERE key = 'base-dir'" > "$0/base-dir.json" \
  || echo '[]' > "$0/base-dir.json""#;
    let out = Command::new(project_root().join("examples/quickstart/run.sh"))
        .args(["--", "sh", "-c", save, &saved.path().to_string_lossy()])
        // Its own private network namespace, where the example's fixed ports are free.
        .env_remove("RESTATE_TF_IN_PRIVATE_NETNS")
        .output()
        .expect("run examples/quickstart/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "run.sh failed:\n{text}");
    assert!(
        stdout.contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."),
        "{text}"
    );
    let read = |name: &str| -> serde_json::Value {
        let path = saved.path().join(format!("{name}.json"));
        let body =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}\n{text}"));
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path:?}: {e}: {body}"))
    };

    // What main.tf says: cluster "quickstart" provisioned with 4 partitions on the replicated
    // loglet, one copy of each log and partition; and restate.toml's node n1 with every role.
    let nodes_config = read("nodes_config");
    assert_eq!(nodes_config["cluster_name"], "quickstart");
    let nodes = ctl::nodes_from(&nodes_config);
    let mut all_roles: Vec<String> = ALL_ROLES.iter().map(|r| r.to_string()).collect();
    all_roles.sort();
    assert_eq!(nodes.keys().collect::<Vec<_>>(), ["n1"], "{nodes:?}");
    assert_eq!(nodes["n1"].roles, all_roles);
    assert_eq!(
        ClusterConfigView::from_metadata(&read("bifrost_config"), &read("partition_table")),
        ClusterConfigView {
            num_partitions: "4".into(),
            partition_replication: "{node: 1}".into(),
            log_provider: "replicated".into(),
            log_replication: Some("{node: 1}".into()),
            nodeset_size: Some("0".into()),
        }
    );
    let tails = ctl::log_tails_from(&read("bifrost_config"));
    assert_eq!(tails.len(), 4, "{tails:?}");
    for t in &tails {
        assert_eq!(
            (t.kind.as_str(), t.replication_spelled().as_deref()),
            ("replicated", Some("{node: 1}")),
            "{tails:?}"
        );
    }

    // Its data went to the temporary directory run.sh made (and removed), not restate-data/ here.
    let started_with = stdout
        .lines()
        .find_map(|l| l.strip_prefix("== restate-server "))
        .and_then(|l| l.split("--base-dir ").nth(1))
        .map(|d| d.trim().to_string());
    let base_dir = read("base-dir")[0]["value"]
        .as_str()
        .map(str::to_string)
        .or_else(|| support::restate::version_at_least(1, 7).then(String::new))
        .or(started_with)
        .unwrap_or_default();
    assert!(
        base_dir.contains("/restate-quickstart-") && !std::path::Path::new(&base_dir).exists(),
        "{base_dir}"
    );
    assert_eq!(
        still_running_after(Duration::from_secs(20), &["restate-quickstart-"]),
        Vec::<String>::new(),
        "the quickstart node is left running"
    );
}

/// Waits up to `limit` until no process matches any of `patterns` (see [`running`]); returns the
/// ones still running then.
fn still_running_after(limit: Duration, patterns: &[&str]) -> Vec<String> {
    let started = Instant::now();
    loop {
        let left: Vec<String> = patterns.iter().flat_map(|p| running(p)).collect();
        if left.is_empty() || started.elapsed() >= limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Processes whose command line matches `pattern` (pgrep -f), excluding zombies.
fn running(pattern: &str) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-af", pattern])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("<defunct>") && !l.contains("pgrep"))
        .map(str::to_string)
        .collect()
}

/// Ctrl-C in the middle of the demo stops every process it started: nodes, S3 server, service.
#[test]
fn the_demo_stops_everything_on_ctrl_c() {
    crate::e2e!();
    use std::io::{BufRead, BufReader};
    support::restate::assert_private_network();
    let mut demo = Command::new(project_root().join("scripts/demo.sh"))
        .env_remove("RESTATE_TF_IN_PRIVATE_NETNS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run demo.sh");
    let mut seen = String::new();
    for line in BufReader::new(demo.stdout.take().expect("stdout")).lines() {
        let line = line.unwrap_or_default();
        seen.push_str(&line);
        seen.push('\n');
        // Stage 1 runs: n1, the S3 server and the service are up.
        if line.contains("counters: round 1") {
            break;
        }
        assert!(!line.contains("failed"), "the demo failed:\n{seen}");
    }
    assert!(
        seen.contains("counters: round 1"),
        "the demo did not get to stage 1:\n{seen}"
    );
    // The demo goes on meanwhile, and stage 2 restarts n1: a node runs again within seconds.
    let started = std::time::Instant::now();
    while running("restate-demo-").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no demo node is running; the demo said:\n{seen}\nrestate processes: {:#?}",
            running("restate")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // What a terminal's Ctrl-C does: SIGINT to the demo and everything in its foreground.
    let mut targets = descendants(demo.id());
    targets.push(demo.id());
    for pid in targets {
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
    }
    let status = demo.wait().expect("wait demo");
    assert!(!status.success());
    // The demo's trap signals everything before it exits; give the processes time to end.
    assert_eq!(
        still_running_after(
            Duration::from_secs(20),
            &[
                "restate-demo-",
                "moto_server -H 127.0.0.1 -p 9000$",
                "service.js 9080$"
            ]
        ),
        Vec::<String>::new(),
        "left running: nodes (restate-demo-), the S3 server (moto_server) or the service (service.js)"
    );
}
