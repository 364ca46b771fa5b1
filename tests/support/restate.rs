//! Real Restate nodes for tests: the pinned npm binaries, nodes on free loopback ports with temporary
//! base dirs, health waits, and shortcuts to the `restatectl` readers of [`ctl`](super::ctl) for
//! independent checks. Every node is stopped when its handle drops, also when a test fails.

use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::ctl::{self, ClusterConfigView};
use super::hosts::{self, Host};
use super::{http, quoted_list};

/// The Restate version the project is tested against, and the end-to-end tests' default.
pub const DEFAULT_RESTATE_VERSION: &str = "1.7.12";

/// The environment variable that selects another Restate server version for the end-to-end tests
/// (`RESTATE_TF_TEST_VERSION=1.6.2 scripts/test.sh`).
pub const VERSION_VAR: &str = "RESTATE_TF_TEST_VERSION";

/// The version of the Restate server under test (`1.7.12`): `RESTATE_TF_TEST_VERSION`, else
/// [`DEFAULT_RESTATE_VERSION`]. Nodes run it, rendered configurations name it, and the nodes
/// report it. restatectl may be newer (see [`binaries`]).
pub fn restate_version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let v = std::env::var(VERSION_VAR)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_RESTATE_VERSION.to_string());
        assert!(
            parse_version(&v).is_some(),
            "{VERSION_VAR}={v:?} is not a version like 1.7.12"
        );
        v
    })
}

/// `1.7.12` -> (1, 7, 12)
fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
    let t = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(t)
}

/// (major, minor, patch) of [`restate_version`].
pub fn version_triple() -> (u32, u32, u32) {
    parse_version(restate_version()).expect("checked in restate_version")
}

/// Whether the server under test is `major.minor` or later: for the few checks that hold only
/// from some release on (each says which and why).
pub fn version_at_least(major: u32, minor: u32) -> bool {
    let (ma, mi, _) = version_triple();
    (ma, mi) >= (major, minor)
}

/// Every role a node can have (the same in 1.6 and 1.7).
pub const ALL_ROLES: &[&str] = &[
    "worker",
    "admin",
    "metadata-server",
    "log-server",
    "http-ingress",
];

pub struct Binaries {
    pub server: PathBuf,
    pub ctl: PathBuf,
}

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The server of [`restate_version`] and a restatectl, installed into `.tools/restate-<version>/`
/// by `scripts/install-restate.sh` (which scripts/test.sh runs before the tests, outside the
/// network namespace). restatectl is the server's version, or 1.7.12 when npm has no restatectl of
/// that version (it has none before 1.7.10).
pub fn binaries() -> &'static Binaries {
    static BIN: OnceLock<Binaries> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = project_root();
        let version = restate_version();
        let status = Command::new(root.join("scripts/install-restate.sh"))
            .arg(version)
            .status()
            .expect("run scripts/install-restate.sh");
        assert!(status.success(), "installing Restate {version} failed");
        let base = root.join(format!(".tools/restate-{version}/node_modules/@restatedev"));
        let b = Binaries {
            server: base.join("restate-server-linux-x64/bin/restate-server"),
            ctl: base.join("restatectl-linux-x64/bin/restatectl"),
        };
        assert!(
            b.server.exists() && b.ctl.exists(),
            "Restate binaries missing under {base:?}"
        );
        b
    })
}

/// The network rule: test nodes run only where nothing but loopback exists (a private network
/// namespace, as `scripts/test.sh` sets up), so no node can reach the cloud metadata address or
/// the internet.
pub fn assert_private_network() {
    let others = other_interfaces();
    assert!(
        others.is_empty() || host_network_allowed(),
        "refusing to start Restate nodes: network interfaces {others:?} exist besides lo. Run the tests \
         through scripts/test.sh, which runs them in a private network namespace."
    );
}

/// Whether this test process may start Restate nodes. Under scripts/test.sh (which says so with
/// RESTATE_TF_IN_PRIVATE_NETNS=1) it must: a namespace with more than loopback is then an error.
/// Under a plain `cargo test` outside a namespace it may not, and the end-to-end tests are skipped.
pub fn may_start_nodes() -> bool {
    if std::env::var("RESTATE_TF_IN_PRIVATE_NETNS").as_deref() == Ok("1") {
        assert_private_network();
        return true;
    }
    host_network_allowed() || other_interfaces().is_empty()
}

fn host_network_allowed() -> bool {
    std::env::var("RESTATE_TF_TEST_HOST_NETWORK").as_deref() == Ok("1")
}

/// The interfaces of this process's network namespace besides loopback (/proc/net/dev) and the
/// fault suite's own: its bridge and the veth ends of its test hosts (named `rtf-…`, see
/// [`hosts`]), which lead only to namespaces made inside this one.
fn other_interfaces() -> Vec<String> {
    let dev = std::fs::read_to_string("/proc/net/dev").expect("read /proc/net/dev");
    dev.lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim().to_string()))
        .filter(|n| n != "lo" && !n.starts_with(hosts::PREFIX))
        .collect()
}

/// A free loopback port, kept bound until the process meant to use it is about to start: a port
/// found free, closed, and handed out later could meanwhile be given to another test of the same
/// binary. Nothing accepts on the listener; [`release`](Self::release) it right before spawning.
pub struct PortReservation {
    port: u16,
    _listener: TcpListener,
}

impl PortReservation {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Frees the port for the process about to bind it; returns it.
    pub fn release(self) -> u16 {
        self.port
    }
}

pub fn reserve_port() -> PortReservation {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    PortReservation {
        port: listener.local_addr().expect("local addr").port(),
        _listener: listener,
    }
}

/// A loopback port that refuses connections for as long as this lives, and that nothing else can
/// get meanwhile: it is the local end of an open loopback connection, so it is bound (neither
/// [`reserve_port`] nor a server can have it) but nothing listens on it. A reserved port held by
/// a listener would not do: the kernel accepts connections into its backlog.
pub struct RefusingPort {
    port: u16,
    _ends: (TcpStream, TcpStream),
}

pub fn refusing_port() -> RefusingPort {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    RefusingPort {
        port: client.local_addr().expect("local addr").port(),
        _ends: (client, server),
    }
}

impl RefusingPort {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`: a dead endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// How a node is configured; rendered to `restate.toml`.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    pub cluster: String,
    pub roles: Vec<String>,
    pub auto_provision: bool,
    pub num_partitions: u16,
    /// `[bifrost] default-provider`
    pub log_provider: Option<String>,
    /// `[metadata-client] addresses`; empty = this node only.
    pub metadata_addresses: Vec<String>,
    /// Appended verbatim.
    pub extra_toml: String,
}

impl NodeSpec {
    pub fn new(name: &str, cluster: &str, roles: &[&str]) -> Self {
        NodeSpec {
            name: name.into(),
            cluster: cluster.into(),
            roles: roles.iter().map(|s| s.to_string()).collect(),
            auto_provision: false,
            num_partitions: 4,
            log_provider: None,
            metadata_addresses: Vec::new(),
            extra_toml: String::new(),
        }
    }
}

pub struct Ports {
    pub fabric: u16,
    pub admin: u16,
    pub ingress: u16,
}

pub struct Node {
    pub spec: NodeSpec,
    pub ports: Ports,
    /// The address it binds and advertises: loopback, or its test host's.
    pub ip: IpAddr,
    /// The test host it runs on (see [`hosts`]); None: this namespace, on loopback ports.
    pub host: Option<Arc<Host>>,
    pub dir: tempfile::TempDir,
    /// A configuration rendered elsewhere (by `restate_node_config`); replaces the spec's.
    pub toml: Option<String>,
    /// `ports`, held until the first launch.
    reserved: Vec<PortReservation>,
    child: Option<Child>,
}

impl Node {
    /// Starts a node and waits until its fabric port answers `/health`.
    pub fn start(spec: NodeSpec) -> Node {
        let mut node = Node::prepare(spec);
        node.launch();
        node
    }

    /// Reserves the node's ports (held until it starts) and makes its base dir without starting
    /// it, so its configuration can be rendered elsewhere; start it with
    /// [`launch_toml`](Self::launch_toml).
    pub fn prepare(spec: NodeSpec) -> Node {
        assert_private_network();
        let dir = tempfile::Builder::new()
            .prefix(&format!("restate-{}-", spec.name))
            .tempdir()
            .expect("temp dir");
        let reserved: Vec<PortReservation> = (0..3).map(|_| reserve_port()).collect();
        let ports = Ports {
            fabric: reserved[0].port(),
            admin: reserved[1].port(),
            ingress: reserved[2].port(),
        };
        Node {
            spec,
            ports,
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            host: None,
            dir,
            toml: None,
            reserved,
            child: None,
        }
    }

    /// Like [`prepare`](Self::prepare), for a node on its own test host: it binds and advertises
    /// the host's address, with Restate's default ports (fabric 5122, admin 9070, ingress 8080).
    pub fn prepare_on(spec: NodeSpec, host: Arc<Host>) -> Node {
        let mut node = Node::prepare(spec);
        node.reserved.clear();
        node.ports = Ports {
            fabric: 5122,
            admin: 9070,
            ingress: 8080,
        };
        node.ip = IpAddr::V4(host.ip);
        node.host = Some(host);
        node
    }

    /// Starts a node on its own test host (see [`prepare_on`](Self::prepare_on)) and waits until
    /// it answers `/health`.
    pub fn start_on(spec: NodeSpec, host: Arc<Host>) -> Node {
        let mut node = Node::prepare_on(spec, host);
        node.launch();
        node
    }

    /// Starts the node again (same configuration, data and address) without waiting for it.
    pub fn respawn(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts the node again and waits until it answers `/health`.
    pub fn relaunch(&mut self) {
        self.respawn();
        self.wait_health(Duration::from_secs(60));
    }

    /// The process id of the running node.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the node's process runs (not exited, not killed).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// A crash: SIGKILL, no shutdown; the data stays. Start it again with
    /// [`relaunch`](Self::relaunch).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `http://IP:PORT` of the node's admin API (for registering services).
    pub fn admin_url(&self) -> String {
        format!("http://{}:{}", self.ip, self.ports.admin)
    }

    /// `http://IP:PORT` of the node's ingress.
    pub fn ingress_url(&self) -> String {
        format!("http://{}:{}", self.ip, self.ports.ingress)
    }

    /// (Re)starts the node with a configuration rendered elsewhere.
    pub fn launch_toml(&mut self, toml: &str) {
        self.spawn_toml(toml);
        self.wait_health(Duration::from_secs(60));
    }

    /// Like [`launch_toml`](Self::launch_toml), without waiting for the node to answer: for
    /// nodes that must start at the same time.
    pub fn spawn_toml(&mut self, toml: &str) {
        self.stop();
        self.toml = Some(toml.to_string());
        self.spawn();
    }

    /// The lines a rendered config needs to run here: data in the node's temp dir, admin and
    /// ingress on its own loopback ports, TCP only, no telemetry.
    pub fn local_base_config(&self) -> String {
        format!(
            "base-dir = {:?}\nlisten-mode = \"tcp\"\ndisable-telemetry = true\n\n[admin]\nbind-address = \"{}:{}\"\n\n[ingress]\nbind-address = \"{}:{}\"\n",
            self.dir.path().join("data"),
            self.ip,
            self.ports.admin,
            self.ip,
            self.ports.ingress
        )
    }

    pub fn fabric_url(&self) -> String {
        format!("http://{}:{}", self.ip, self.ports.fabric)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("restate.log")
    }

    fn render(&self) -> String {
        let s = &self.spec;
        let mut t = format!(
            "node-name = {:?}\ncluster-name = {:?}\nbase-dir = {:?}\nroles = {}\nauto-provision = {}\n\
             default-num-partitions = {}\nbind-address = \"{ip}:{}\"\n\
             advertised-address = \"http://{ip}:{}/\"\nlisten-mode = \"tcp\"\ndisable-telemetry = true\n\n\
             [admin]\nbind-address = \"{ip}:{}\"\n\n[ingress]\nbind-address = \"{ip}:{}\"\n",
            s.name,
            s.cluster,
            self.dir.path().join("data"),
            quoted_list(&s.roles),
            s.auto_provision,
            s.num_partitions,
            self.ports.fabric,
            self.ports.fabric,
            self.ports.admin,
            self.ports.ingress,
            ip = self.ip,
        );
        if let Some(p) = &s.log_provider {
            t.push_str(&format!("\n[bifrost]\ndefault-provider = {p:?}\n"));
        }
        if !s.metadata_addresses.is_empty() {
            t.push_str(&format!(
                "\n[metadata-client]\naddresses = {}\n",
                quoted_list(&s.metadata_addresses)
            ));
        }
        t.push_str(&s.extra_toml);
        t
    }

    fn launch(&mut self) {
        self.spawn();
        self.wait_health(Duration::from_secs(60));
    }

    fn spawn(&mut self) {
        let config = self.dir.path().join("restate.toml");
        let text = self.toml.clone().unwrap_or_else(|| self.render());
        std::fs::write(&config, text).expect("write restate.toml");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open node log");
        self.reserved.clear();
        let mut command = match &self.host {
            Some(host) => host.command(&binaries().server),
            None => Command::new(&binaries().server),
        };
        let child = command
            .arg("--config-file")
            .arg(&config)
            .env_remove("RUST_BACKTRACE")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn restate-server");
        self.child = Some(child);
    }

    /// Waits until `/health` on the fabric port answers; returns its JSON.
    pub fn wait_health(&mut self, limit: Duration) -> serde_json::Value {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "node {} exited with {status}; log:\n{}",
                        self.spec.name,
                        self.log_tail(40)
                    );
                }
            }
            if let Some(body) = http::get_at(self.ip, self.ports.fabric, "/health") {
                if let Ok(v) = serde_json::from_str(&body) {
                    return v;
                }
            }
            assert!(
                started.elapsed() < limit,
                "node {} did not answer /health within {limit:?}; log:\n{}",
                self.spec.name,
                self.log_tail(40)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Provisions the cluster with restatectl (`local`, or `replicated` with one copy) and waits
    /// until the node is alive.
    pub fn provision(&mut self, log_provider: &str) {
        let mut args = vec!["provision", "--log-provider", log_provider];
        if log_provider == "replicated" {
            args.extend(["--log-replication", "1"]);
        }
        args.push("--yes");
        self.ctl(&args);
        self.wait_alive(Duration::from_secs(60));
    }

    /// Waits until the node's own `/health` reports `status` = "Alive".
    pub fn wait_alive(&mut self, limit: Duration) {
        let started = Instant::now();
        while self.wait_health(limit)["status"] != "Alive" {
            assert!(
                started.elapsed() < limit,
                "node {} is not Alive within {limit:?}",
                self.spec.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM first for a clean shutdown, then SIGKILL.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the node, lets `change` edit its spec, and starts it again on the same data and ports.
    pub fn restart_with(&mut self, change: impl FnOnce(&mut NodeSpec)) {
        self.stop();
        change(&mut self.spec);
        self.launch();
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// `restatectl` against this node; returns stdout, panics with stderr on failure.
    #[track_caller]
    pub fn ctl(&self, args: &[&str]) -> String {
        ctl::run(&self.fabric_url(), args)
    }

    pub fn ctl_output(&self, args: &[&str]) -> std::process::Output {
        ctl::output(&self.fabric_url(), args)
    }

    /// [`ctl::metadata`] from this node.
    #[track_caller]
    pub fn metadata(&self, key: &str) -> serde_json::Value {
        ctl::metadata(&self.fabric_url(), key)
    }

    /// [`ctl::cluster_config`] from this node.
    #[track_caller]
    pub fn cluster_config(&self) -> ClusterConfigView {
        ctl::cluster_config(&self.fabric_url())
    }

    /// (kind, replication) of every log's tail, from [`ctl::log_tails`].
    #[track_caller]
    pub fn log_tails(&self) -> Vec<(String, Option<serde_json::Value>)> {
        ctl::log_tails(&self.fabric_url())
            .into_iter()
            .map(|t| (t.kind, t.replication))
            .collect()
    }

    /// Waits until the nodes configuration shows this node's log server in `read-write` state.
    pub fn wait_log_server_read_write(&self, limit: Duration) {
        let started = Instant::now();
        loop {
            let state = ctl::try_metadata(&self.fabric_url(), "nodes_config")
                .and_then(|nc| ctl::nodes_from(&nc).remove(&self.spec.name))
                .and_then(|n| n.log_server_state);
            if state.as_deref() == Some("read-write") {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "log server of {} not read-write within {limit:?}: {state:?}",
                self.spec.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- log of node {} ---\n{}",
                self.spec.name,
                self.log_tail(30)
            );
        }
        self.stop();
    }
}

pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().to_string()
}
