//! The examples: formatted, valid against the provider's schema, and the demo's Terraform version
//! check.

mod support;

use std::process::Command;

use support::restate::project_root;
use support::terraform::{terraform_bin, Workspace};

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

/// The examples that use only this provider and Terraform's built-ins validate against the
/// provider's real schema (the AWS one needs the AWS provider, which cannot be installed here).
#[test]
fn local_examples_validate_against_the_provider_schema() {
    for example in ["quickstart", "single-to-multi-node", "modules/restate-node"] {
        let ws = Workspace::from_example(&project_root().join("examples").join(example));
        let run = ws.run(&["validate", "-no-color"]);
        assert_eq!(run.code, 0, "{example}:\n{}", run.text());
        assert!(
            run.stdout.contains("Success! The configuration is valid"),
            "{example}:\n{}",
            run.text()
        );
    }
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
    assert!(
        !running("restate-demo-").is_empty(),
        "no demo node is running"
    );
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
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        running("restate-demo-"),
        Vec::<String>::new(),
        "nodes left running"
    );
    assert_eq!(
        running("moto_server -H 127.0.0.1 -p 9000$"),
        Vec::<String>::new(),
        "S3 server left running"
    );
    assert_eq!(
        running("service.js 9080$"),
        Vec::<String>::new(),
        "service left running"
    );
}
