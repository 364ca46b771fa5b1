//! The counter service of `examples/single-to-multi-node/counter` (a real Restate service, on the
//! TypeScript SDK) and its client, which increments counters through the ingress and keeps the
//! books: what the end-to-end tests use to prove that no acknowledged write is lost.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::restate::{project_root, reserve_port};

/// The running service; stopped on drop.
pub struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn counter_dir() -> PathBuf {
    project_root().join("examples/single-to-multi-node/counter")
}

/// Starts the service on a free port and registers it with the admin API at `admin_url`.
pub fn start(admin_url: &str) -> Service {
    start_reached_at(admin_url, "127.0.0.1")
}

/// Like [`start`]; the nodes reach the service at `host` (the fault suite's bridge address). It
/// listens on every address of this namespace.
pub fn start_reached_at(admin_url: &str, host: &str) -> Service {
    // A free port, released for the service right as it starts.
    let port = reserve_port().release();
    let service = Service(
        Command::new("node")
            .arg("service.js")
            .arg(port.to_string())
            .current_dir(counter_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the service"),
    );
    client(&["register", admin_url, &format!("http://{host}:{port}")]);
    service
}

/// `node client.js ARGS`; panics (with its output) when it fails.
#[track_caller]
pub fn client(args: &[&str]) -> String {
    let out = Command::new("node")
        .arg(counter_dir().join("client.js"))
        .args(args)
        .output()
        .expect("run node client.js");
    assert!(
        out.status.success(),
        "client.js {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// One round: every one of `keys` counters incremented once through `urls` (comma-separated
/// ingress URLs), each acknowledged increment recorded in `ledger`.
#[track_caller]
pub fn add(urls: &str, ledger: &Path, keys: usize, round: usize) {
    client(&[
        "add",
        urls,
        ledger.to_str().expect("a UTF-8 path"),
        &keys.to_string(),
        &round.to_string(),
    ]);
}

/// Every counter holds exactly the increments `ledger` recorded: `keys` counters, `rounds` each.
#[track_caller]
pub fn verify(urls: &str, ledger: &Path, keys: usize, rounds: usize) {
    let verdict = client(&["verify", urls, ledger.to_str().expect("a UTF-8 path")]);
    assert!(
        verdict.contains(&format!(
            "all {keys} counters hold exactly the {} acknowledged increments",
            keys * rounds
        )),
        "{verdict}"
    );
}

/// What `client.js verify` found: every counter against the increments the ledger recorded.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub counters: usize,
    /// Acknowledged increments, per the ledger.
    pub acknowledged: u64,
    /// Acknowledged increments a counter does not hold (the sum over counters below the ledger).
    pub lost: u64,
    /// Increments a counter holds beyond the ledger (an increment counted twice).
    pub extra: u64,
    /// The client's report.
    pub report: String,
}

/// Checks every counter of `ledger` through `urls` and counts what is missing or extra, without
/// panicking (the fault suite reports the figures).
pub fn check(urls: &str, ledger: &Path) -> Verdict {
    let text = std::fs::read_to_string(ledger).unwrap_or_else(|_| "{}".into());
    let books: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("ledger JSON");
    let out = Command::new("node")
        .arg(counter_dir().join("client.js"))
        .args(["verify", urls, ledger.to_str().expect("a UTF-8 path")])
        .output()
        .expect("run node client.js");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v = Verdict {
        counters: books.len(),
        acknowledged: books.values().filter_map(serde_json::Value::as_u64).sum(),
        report: report.trim().to_string(),
        ..Verdict::default()
    };
    if out.status.success() {
        return v;
    }
    // `  c0007: 4 (expected 5)` for each wrong counter.
    let mut parsed = false;
    for line in report.lines() {
        let Some((_, rest)) = line.trim().split_once(": ") else {
            continue;
        };
        let Some((value, expected)) = rest.split_once(" (expected ") else {
            continue;
        };
        let (Ok(value), Ok(expected)) = (
            value.trim().parse::<u64>(),
            expected.trim_end_matches(')').parse::<u64>(),
        ) else {
            continue;
        };
        parsed = true;
        v.lost += expected.saturating_sub(value);
        v.extra += value.saturating_sub(expected);
    }
    assert!(
        parsed,
        "client.js verify failed without a verdict:\n{report}"
    );
    v
}

/// Load: rounds of increments of `keys` counters, one after the other on a thread of its own,
/// until [`finish`](Self::finish). A round that fails (no acknowledgement within the client's
/// limit) is run again with the same idempotency keys, so each increment still counts once, and
/// only a completed round is recorded in the ledger.
pub struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<LoadReport>>,
}

/// What a [`Load`] did.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Rounds completed (each acknowledged `keys` increments).
    pub rounds: usize,
    /// Round attempts that failed and were repeated.
    pub retried: usize,
    /// The slowest round.
    pub slowest: Duration,
}

impl Load {
    /// Starts rounds numbered from `first_round` through `urls` (comma-separated ingress URLs).
    pub fn start(urls: String, ledger: PathBuf, keys: usize, first_round: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut report = LoadReport::default();
            let mut round = first_round;
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                let out = Command::new("node")
                    .arg(counter_dir().join("client.js"))
                    .args([
                        "add",
                        &urls,
                        ledger.to_str().expect("a UTF-8 path"),
                        &keys.to_string(),
                        &round.to_string(),
                    ])
                    .output()
                    .expect("run node client.js");
                if out.status.success() {
                    report.rounds += 1;
                    report.slowest = report.slowest.max(started.elapsed());
                    round += 1;
                } else {
                    report.retried += 1;
                    eprintln!(
                        "load: round {round} failed, repeating it: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            report
        });
        Load {
            stop,
            thread: Some(thread),
        }
    }

    /// Lets the round under way complete and stops; what the load did.
    pub fn finish(mut self) -> LoadReport {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .expect("running")
            .join()
            .expect("the load thread panicked")
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
