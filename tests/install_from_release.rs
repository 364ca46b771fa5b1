//! Installed the way users install providers: `scripts/release.sh` packages the provider as the
//! Terraform Registry lays out a release (zip per platform, manifest, SHA256SUMS; the version from
//! Cargo.toml), `scripts/install-local-mirror.sh` installs those files into a filesystem mirror,
//! and `terraform init`, with a CLI configuration that has no `dev_overrides` and reaches no
//! registry, installs the provider from there and writes `.terraform.lock.hcl`; then plan and
//! apply work against a real Restate node.
//!
//! The tests package the binary Cargo built for them (`release.sh --binary`, the script's own
//! packaging code) instead of building a release, which takes minutes.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::restate::{project_root, Node, NodeSpec, ALL_ROLES};
use support::terraform::{write_mirror_cli_config, Workspace, PROVIDER_SOURCE};

/// Cargo.toml's version: the one the release files must carry.
const VERSION: &str = env!("CARGO_PKG_VERSION");
const NAME: &str = "terraform-provider-restate";
const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-restate");

fn script(name: &str, args: &[&str]) -> Output {
    Command::new(project_root().join("scripts").join(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{name}: {e}"))
}

#[track_caller]
fn ok(what: &str, out: Output) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The release files of this test's binary, written by `scripts/release.sh` into `dir/dist`.
fn release(dir: &Path) -> PathBuf {
    let dist = dir.join("dist");
    ok(
        "scripts/release.sh",
        script("release.sh", &["--binary", BINARY, "--out", path(&dist)]),
    );
    dist
}

fn zip_name() -> String {
    format!("{NAME}_{VERSION}_linux_amd64.zip")
}

/// `sha256sum FILE`'s hash.
fn sha256(file: &Path) -> String {
    let out = ok(
        "sha256sum",
        Command::new("sha256sum")
            .arg(file)
            .output()
            .expect("sha256sum"),
    );
    out.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_release_files_follow_the_registry_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = release(tmp.path());

    let mut files: Vec<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let manifest = format!("{NAME}_{VERSION}_manifest.json");
    let sums = format!("{NAME}_{VERSION}_SHA256SUMS");
    assert_eq!(files, [sums.clone(), zip_name(), manifest.clone()]);

    // The manifest says plugin protocol 6, and is the repository's terraform-registry-manifest.json
    // (which the registry reads from the repository).
    let read_json = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let expected = serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}});
    assert_eq!(read_json(&dist.join(&manifest)), expected);
    assert_eq!(
        read_json(&project_root().join("terraform-registry-manifest.json")),
        expected
    );

    // SHA256SUMS: `sha256sum` lines for the zip and the manifest, sorted by name.
    let sums_text = std::fs::read_to_string(dist.join(&sums)).unwrap();
    let expected_sums = format!(
        "{}  {}\n{}  {}\n",
        sha256(&dist.join(zip_name())),
        zip_name(),
        sha256(&dist.join(&manifest)),
        manifest
    );
    assert_eq!(sums_text, expected_sums);

    // The zip holds the binary alone, named as the registry wants, executable, unchanged.
    let listing = ok(
        "reading the zip",
        Command::new("python3")
            .args([
                "-c",
                "import hashlib, sys, zipfile\n\
                 for i in zipfile.ZipFile(sys.argv[1]).infolist():\n\
                 \x20   data = zipfile.ZipFile(sys.argv[1]).read(i)\n\
                 \x20   print(i.filename, oct(i.external_attr >> 16), hashlib.sha256(data).hexdigest())",
                path(&dist.join(zip_name())),
            ])
            .output()
            .expect("python3"),
    );
    assert_eq!(
        listing.trim(),
        format!("{NAME}_v{VERSION} 0o100755 {}", sha256(Path::new(BINARY)))
    );

    // The same binary gives the same zip (fixed timestamps): a rebuild can be checked.
    let again = release(&tmp.path().join("again"));
    assert_eq!(
        std::fs::read(again.join(&sums)).unwrap(),
        sums_text.as_bytes()
    );
}

#[test]
fn the_mirror_installer_refuses_files_that_do_not_match_their_checksums() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = release(tmp.path());
    let manifest = dist.join(format!("{NAME}_{VERSION}_manifest.json"));
    std::fs::write(&manifest, "{\"version\": 1, \"metadata\": {}}\n").unwrap();
    let mirror = tmp.path().join("mirror");
    let out = script(
        "install-local-mirror.sh",
        &["--from", path(&dist), path(&mirror)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{NAME}_{VERSION}_manifest.json: FAILED")),
        "{stderr}"
    );
    assert!(
        !mirror.join("registry.terraform.io").exists(),
        "installed files that failed their checksums"
    );
}

/// A root configuration as a user writes it: the provider by its registry address, pinned to this
/// version; a fresh node provisioned and its status read.
fn user_config(endpoint: &str) -> String {
    let source = PROVIDER_SOURCE.trim_start_matches("registry.terraform.io/");
    format!(
        r#"terraform {{
  required_providers {{
    restate = {{
      source  = "{source}"
      version = "{VERSION}"
    }}
  }}
}}

provider "restate" {{
  endpoints    = ["{endpoint}"]
  cluster_name = "released"
}}

resource "restate_cluster_config" "this" {{
  provision       = true
  num_partitions  = 2
  log_provider    = "replicated"
  log_replication = "1"
}}

data "restate_cluster_status" "this" {{
  depends_on = [restate_cluster_config.this]
}}

output "provisioned" {{
  value = data.restate_cluster_status.this.provisioned
}}
"#
    )
}

/// The `hashes` of this provider's entry in `.terraform.lock.hcl`, checking that the entry names
/// the provider and this version.
#[track_caller]
fn locked_hashes(ws: &Workspace) -> Vec<String> {
    let lock_file = ws.dir.path().join(".terraform.lock.hcl");
    let lock = std::fs::read_to_string(&lock_file)
        .unwrap_or_else(|e| panic!("terraform init wrote no {lock_file:?}: {e}"));
    let entry = lock
        .split_once(&format!("provider \"{PROVIDER_SOURCE}\" {{"))
        .map(|(_, rest)| rest.split_once("\n}").map_or(rest, |(e, _)| e))
        .unwrap_or_else(|| panic!("the lock file names no {PROVIDER_SOURCE}:\n{lock}"));
    assert!(
        entry.contains(&format!("version     = \"{VERSION}\"")),
        "{lock}"
    );
    let hashes: Vec<String> = entry
        .split('"')
        .filter(|s| s.starts_with("h1:") || s.starts_with("zh:"))
        .map(str::to_string)
        .collect();
    assert!(!hashes.is_empty(), "no h1:/zh: hashes:\n{lock}");
    hashes
}

#[track_caller]
fn assert_installed_from_the_release(init: &support::terraform::Run, ws: &Workspace) {
    let source = PROVIDER_SOURCE.trim_start_matches("registry.terraform.io/");
    let text = init.text();
    assert!(
        text.contains(&format!("Installed {source} v{VERSION}")),
        "{text}"
    );
    assert!(!text.contains("Provider development overrides"), "{text}");
    let installed = ws.dir.path().join(format!(
        ".terraform/providers/{PROVIDER_SOURCE}/{VERSION}/linux_amd64/{NAME}_v{VERSION}"
    ));
    assert!(installed.is_file(), "{installed:?} missing:\n{text}");
}

#[test]
fn terraform_init_installs_the_release_offline_and_it_plans_and_applies() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = release(tmp.path());
    let packed = tmp.path().join("mirror");
    let unpacked = tmp.path().join("plugins");
    ok(
        "scripts/install-local-mirror.sh",
        script(
            "install-local-mirror.sh",
            &["--from", path(&dist), path(&packed)],
        ),
    );
    ok(
        "scripts/install-local-mirror.sh --unpacked",
        script(
            "install-local-mirror.sh",
            &["--from", path(&dist), "--unpacked", path(&unpacked)],
        ),
    );
    assert!(packed.join(PROVIDER_SOURCE).join(zip_name()).is_file());
    assert!(unpacked
        .join(PROVIDER_SOURCE)
        .join(format!("{VERSION}/linux_amd64/{NAME}_v{VERSION}"))
        .is_file());

    // A CLI configuration with a filesystem mirror and nothing else: no dev_overrides, no registry.
    let rc_dir = tempfile::tempdir().unwrap();
    let rc = write_mirror_cli_config(rc_dir.path(), &packed);
    let rc_text = std::fs::read_to_string(&rc).unwrap();
    assert!(
        rc_text.contains("filesystem_mirror") && !rc_text.contains("dev_overrides"),
        "{rc_text}"
    );
    let ws = Workspace::with_cli_config(rc);
    // The endpoint is not contacted by init; the node comes below (its port then).
    let endpoint_placeholder = "http://127.0.0.1:1";
    ws.write(&user_config(endpoint_placeholder));
    let init = ws.run(&["init", "-input=false", "-no-color"]).ok();
    assert_installed_from_the_release(&init, &ws);
    let hashes = locked_hashes(&ws);

    // `terraform init -plugin-dir` from the unpacked layout, with no CLI configuration at all,
    // installs the same package (the same h1: hash).
    let empty_rc = rc_dir.path().join("empty.tfrc");
    std::fs::write(&empty_rc, "").unwrap();
    let plugin_dir_ws = Workspace::with_cli_config(empty_rc);
    plugin_dir_ws.write(&user_config(endpoint_placeholder));
    let init = plugin_dir_ws
        .run(&[
            "init",
            "-input=false",
            "-no-color",
            &format!("-plugin-dir={}", path(&unpacked)),
        ])
        .ok();
    assert_installed_from_the_release(&init, &plugin_dir_ws);
    assert_eq!(locked_hashes(&plugin_dir_ws), hashes);

    // Plan and apply against a real node, with the provider init installed.
    crate::e2e!();
    support::restate::assert_private_network();
    let node = Node::start(NodeSpec::new("n1", "released", ALL_ROLES));
    ws.write(&user_config(&node.fabric_url()));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "expected changes:\n{}", plan.text());
    assert!(
        plan.stdout
            .contains("restate_cluster_config.this will be created"),
        "{}",
        plan.text()
    );
    let apply = ws.apply().ok();
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."),
        "{}",
        apply.text()
    );
    assert_eq!(ws.output_json()["provisioned"]["value"], true);
    let c = node.cluster_config();
    assert_eq!(
        (c.num_partitions.as_str(), c.log_provider.as_str()),
        ("2", "replicated"),
        "{c:?}"
    );
    ws.assert_plan_empty();
    // The lock file is unchanged by plan and apply.
    assert_eq!(locked_hashes(&ws), hashes);
}
