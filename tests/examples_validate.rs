//! The examples in the registry's layout, validated: every Terraform root and module under
//! `examples/` passes `terraform init -backend=false` and `terraform validate` against the
//! provider's real schema, the provider installed by `terraform init` from a filesystem mirror of
//! the release files (no `dev_overrides`, which `init` would answer by asking the registry);
//! `examples/modules/restate-node` passes its `terraform test` files; every resource and data
//! source has the examples the registry's docs use; one provider source address everywhere.
//! (`terraform fmt -check -recursive examples/` is tests/examples.rs's.)

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use support::docgen;
use support::restate::project_root;
use support::terraform::{release_mirror, terraform_version, Workspace, PROVIDER_SOURCE};

/// Set to a filesystem mirror (Terraform's layout: `DIR/<host>/hashicorp/aws/...`) holding the
/// providers an example needs besides this one (the AWS example's `hashicorp/aws`), to validate
/// those examples too; without it they are skipped, saying so. Nothing is ever downloaded.
const EXTRA_MIRROR_VAR: &str = "RESTATE_TF_EXAMPLES_PROVIDER_MIRROR";

/// The registry layout's per-type examples: snippets that show one resource, data source or the
/// provider block, validated one directory at a time.
fn is_snippet_dir(rel: &str) -> bool {
    rel == "provider" || rel.starts_with("resources/") || rel.starts_with("data-sources/")
}

fn examples_dir() -> PathBuf {
    project_root().join("examples")
}

/// This run's provider in a filesystem mirror (unpacked: nothing to unzip per init), made once per
/// test binary under Cargo's tmp dir, and a CLI configuration that installs from it (and from the
/// extra mirror, when set) and from nowhere else.
fn cli_config() -> &'static Path {
    static CONFIG: OnceLock<PathBuf> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("examples-validate");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mirror = release_mirror(&dir, true);
        let mut text = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"{PROVIDER_SOURCE}\"]\n  }}\n",
            mirror.to_string_lossy()
        );
        if let Some(extra) = std::env::var_os(EXTRA_MIRROR_VAR) {
            text.push_str(&format!(
                "  filesystem_mirror {{\n    path    = {:?}\n    exclude = [\"{PROVIDER_SOURCE}\"]\n  }}\n",
                extra.to_string_lossy()
            ));
        }
        text.push_str("}\n");
        let path = dir.join("terraformrc");
        std::fs::write(&path, text).expect("write terraformrc");
        path
    })
}

/// Every directory under `examples/` holding `.tf` files, relative to `examples/`, sorted.
fn terraform_dirs() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, found: &mut Vec<String>) {
        let mut has_tf = false;
        for entry in std::fs::read_dir(dir).expect("read examples").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                if !matches!(
                    name.as_str(),
                    ".terraform" | "node_modules" | ".demo" | "tests"
                ) {
                    walk(&path, root, found);
                }
            } else if name.ends_with(".tf") {
                has_tf = true;
            }
        }
        if has_tf {
            let rel = dir.strip_prefix(root).expect("under examples");
            found.push(rel.to_string_lossy().into_owned());
        }
    }
    let mut found = Vec::new();
    walk(&examples_dir(), &examples_dir(), &mut found);
    found.sort();
    found
}

/// The text of every `.tf` file in `dir` and below.
fn tf_sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if entry.file_name() != ".terraform" {
                out.extend(tf_sources(&path));
            }
        } else if path.extension().is_some_and(|e| e == "tf") {
            out.push((path.clone(), std::fs::read_to_string(&path).expect("read")));
        }
    }
    out
}

/// The values of `source = "..."` lines (provider and module sources).
fn sources(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (key, value) = l.trim().split_once('=')?;
            (key.trim() == "source").then(|| value.trim().trim_matches('"').to_string())
        })
        .collect()
}

/// Providers besides this one (and Terraform's built-ins) that the `.tf` files in `dir` and
/// below require.
fn other_providers(dir: &Path) -> BTreeSet<String> {
    let ours = PROVIDER_SOURCE.trim_start_matches("registry.terraform.io/");
    tf_sources(dir)
        .iter()
        .flat_map(|(_, text)| sources(text))
        .filter(|s| !s.starts_with('.') && s != ours)
        .collect()
}

/// `init -backend=false` and `validate -json` of one example directory; the error, if any.
fn init_and_validate(rel: &str) -> Result<(), String> {
    let ws = if is_snippet_dir(rel) {
        let ws = Workspace::from_example(&examples_dir().join(rel));
        // A snippet shows its type alone; the source address comes from the provider's example.
        let declares = tf_sources(&ws.work_dir())
            .iter()
            .any(|(_, t)| t.contains("required_providers"));
        if !declares {
            std::fs::write(
                ws.work_dir().join("terraform.tf"),
                support::terraform::required_providers(),
            )
            .expect("write terraform.tf");
        }
        ws
    } else {
        // The whole tree: examples use the modules beside them.
        Workspace::from_examples_tree(rel)
    };
    let ws = ws.using_cli_config(cli_config().to_path_buf());
    let init = ws.run(&["init", "-backend=false", "-input=false", "-no-color"]);
    if init.code != 0 {
        return Err(format!("terraform init failed:\n{}", init.text()));
    }
    let validate = ws.validate_diagnostics();
    let summary: serde_json::Value = serde_json::from_str(&validate.run.stdout).unwrap_or_default();
    if validate.run.code != 0 || summary["valid"] != true || !validate.diagnostics.is_empty() {
        return Err(format!(
            "terraform validate: {:#?}\n{}",
            validate.diagnostics,
            validate.run.text()
        ));
    }
    Ok(())
}

#[test]
fn every_example_inits_and_validates_against_the_provider_schema() {
    let dirs = terraform_dirs();
    // The walk finds them all (and would find a new one by itself).
    for expected in [
        "provider",
        "resources/restate_cluster_config",
        "data-sources/restate_node_config",
        "quickstart",
        "single-to-multi-node",
        "modules/restate-node",
        "local-cluster",
        "local-cluster/modules/local-node",
        "aws-cluster",
        "aws-cluster/modules/aws-node",
    ] {
        assert!(
            dirs.iter().any(|d| d == expected),
            "{expected} not in {dirs:?}"
        );
    }
    let extra_mirror = std::env::var_os(EXTRA_MIRROR_VAR).is_some();
    let mut validated = Vec::new();
    let mut failures = Vec::new();
    for rel in &dirs {
        let others = other_providers(&examples_dir().join(rel));
        if !others.is_empty() && !extra_mirror {
            // Terraform cannot install them here: no registry is reachable, and no test may try.
            eprintln!(
                "NOT VALIDATED: examples/{rel} needs {others:?}, which cannot be installed here \
                 (no registry); `terraform fmt` still checks it. Put those providers into a \
                 filesystem mirror and set {EXTRA_MIRROR_VAR}=DIR to validate it."
            );
            continue;
        }
        match init_and_validate(rel) {
            Ok(()) => validated.push(rel.clone()),
            Err(e) => failures.push(format!("examples/{rel}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("validated: {validated:?}");
    // Only the AWS example and its module need another provider.
    let skipped: Vec<&String> = dirs.iter().filter(|d| !validated.contains(d)).collect();
    if !extra_mirror {
        assert_eq!(
            skipped,
            ["aws-cluster", "aws-cluster/modules/aws-node"],
            "only the AWS example may go unvalidated"
        );
    }
}

/// The module's `tests/*.tftest.hcl`: plans of its rendering and of its restate_node, and its
/// variable validations (`expect_failures`); no cluster is needed.
#[test]
fn the_restate_node_module_passes_its_terraform_tests() {
    let (major, minor) = terraform_version();
    assert!(
        (major, minor) >= (1, 7),
        "examples/modules/restate-node/tests need Terraform >= 1.7 (terraform test, \
         override_resource); this terraform is {major}.{minor}: put a newer one on PATH or set TERRAFORM"
    );
    let module = examples_dir().join("modules/restate-node");
    let runs: usize = std::fs::read_dir(module.join("tests"))
        .expect("examples/modules/restate-node/tests")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tftest.hcl"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("run \""))
                .count()
        })
        .sum();
    assert!(runs >= 5, "only {runs} runs in the module's tests");
    let ws = Workspace::from_example(&module).using_cli_config(cli_config().to_path_buf());
    ws.run(&["init", "-backend=false", "-input=false", "-no-color"])
        .ok();
    let test = ws.run(&["test", "-no-color"]);
    assert_eq!(test.code, 0, "terraform test failed:\n{}", test.text());
    assert!(
        test.stdout
            .contains(&format!("Success! {runs} passed, 0 failed.")),
        "expected all {runs} runs to pass:\n{}",
        test.text()
    );
}

/// The registry's layout: the provider's example, and for every resource and data source in the
/// schema its example (and `import.sh` exactly for the resources that can be imported), each
/// used by its docs template.
#[test]
fn every_resource_and_data_source_has_its_registry_examples() {
    let root = project_root();
    let schema = docgen::provider_schema();
    let mut problems = Vec::new();
    // The example at `path` exists and the docs template includes it.
    let check = |path: String, template: String| -> Vec<String> {
        let mut found = Vec::new();
        if !root.join(&path).is_file() {
            found.push(format!("{path} is missing"));
        }
        let text = std::fs::read_to_string(root.join(&template)).unwrap_or_default();
        if !text.contains(&format!("\"{path}\"")) {
            found.push(format!("{template} does not include {path}"));
        }
        found
    };
    problems.extend(check(
        "examples/provider/provider.tf".into(),
        "templates/index.md.tmpl".into(),
    ));
    for (kind, dir, file) in [
        ("resource_schemas", "resources", "resource.tf"),
        ("data_source_schemas", "data-sources", "data-source.tf"),
    ] {
        let types = schema[kind].as_object().cloned().unwrap_or_default();
        assert!(!types.is_empty(), "no {kind} in the schema");
        for name in types.keys() {
            let short = name.trim_start_matches("restate_");
            let template = format!("templates/{dir}/{short}.md.tmpl");
            problems.extend(check(
                format!("examples/{dir}/{name}/{file}"),
                template.clone(),
            ));
            if dir == "resources" {
                let import = format!("examples/{dir}/{name}/import.sh");
                let text = std::fs::read_to_string(root.join(&template)).unwrap_or_default();
                if text.contains("Import is not supported") {
                    if root.join(&import).exists() {
                        problems.push(format!(
                            "{import} exists, but {template} says import is not supported"
                        ));
                    }
                } else {
                    problems.extend(check(import, template));
                }
            }
        }
    }
    // The guides the README and the reference point to.
    for guide in [
        "single-to-multi-node",
        "upgrading",
        "removing-a-node",
        "replacing-a-failed-node",
    ] {
        let path = format!("docs/guides/{guide}.md");
        if !root.join(&path).is_file() {
            problems.push(format!("{path} is missing"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every provider source, module source and registry address in examples/, docs/, templates/,
/// tests/ and the README names this provider as `terraform-provider-restate/restate` (or the AWS
/// example's `hashicorp/aws`); a `.tf` root that requires providers requires this one by it.
#[test]
fn one_provider_source_address_everywhere() {
    let root = project_root();
    let ours = PROVIDER_SOURCE.trim_start_matches("registry.terraform.io/");
    let mut files = Vec::new();
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(
                    name.as_str(),
                    ".terraform" | "node_modules" | ".demo" | "fixtures"
                ) {
                    walk(&path, files);
                }
            } else if [".tf", ".md", ".tmpl", ".rs", ".sh", ".hcl", ".tftpl"]
                .iter()
                .any(|s| name.ends_with(s))
            {
                files.push(path);
            }
        }
    }
    for dir in ["examples", "docs", "templates", "tests", "scripts"] {
        walk(&root.join(dir), &mut files);
    }
    files.push(root.join("README.md"));
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        for source in sources(&text) {
            let ok = source.starts_with('.')
                || source == ours
                || source == "hashicorp/aws"
                || source == "..."
                || source.contains('{');
            if !ok {
                problems.push(format!("{rel}: source = {source:?}"));
            }
        }
        for (i, _) in text.match_indices("registry.terraform.io/") {
            let address: String = text[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || "./-_".contains(*c))
                .collect();
            let address = address.trim_end_matches(['/', '.']);
            // Other providers by their own addresses: the AWS example's, and the null provider
            // the benchmarks measure against.
            let others = [
                "registry.terraform.io/hashicorp/aws",
                "registry.terraform.io/hashicorp/null",
            ];
            if address != PROVIDER_SOURCE
                && address != "registry.terraform.io"
                && !others.contains(&address)
            {
                problems.push(format!("{rel}: {address}"));
            }
        }
        // A provider named by a bare `<namespace>/restate` anywhere else.
        for (i, _) in text.match_indices("/restate\"") {
            let start = text[..i]
                .rfind(|c: char| c == '"' || c.is_whitespace())
                .map_or(0, |s| s + 1);
            let name = &text[start..i + "/restate".len()];
            let parts: Vec<&str> = name.split('/').collect();
            if parts.len() == 2 && !parts[0].is_empty() && name != ours {
                problems.push(format!("{rel}: {name}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
