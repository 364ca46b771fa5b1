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
