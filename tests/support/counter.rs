//! The counter service of `examples/single-to-multi-node/counter` (a real Restate service, on the
//! TypeScript SDK) and its client, which increments counters through the ingress and keeps the
//! books: what the end-to-end tests use to prove that no acknowledged write is lost.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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
    client(&["register", admin_url, &format!("http://127.0.0.1:{port}")]);
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
