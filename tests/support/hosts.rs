//! Test hosts for the fault suite: one network namespace per host, with its own address, joined by
//! a veth pair to a bridge in the suite's namespace (the private one scripts/in-private-netns.sh
//! makes, so nothing here can reach anything outside it). The bridge is 10.77.0.1/24; host `i` is
//! 10.77.0.(10+i). A node started on a host binds and advertises that address, with Restate's
//! default ports, so its peers, restatectl, terraform and the counter client reach it through the
//! bridge, and the host can be cut off from all of them ([`Host::cut_off`]: its link down) while
//! its process keeps running.
//!
//! A host is a holder process, `unshare --net -- sleep infinity`, whose new namespace gets the
//! veth peer as `eth0`; processes start in it with `nsenter --net=/proc/PID/ns/net`, so a node
//! killed with SIGKILL and started again comes back on the same host and address, as on a machine.
//! Works as root and in the user namespace scripts/in-private-netns.sh makes for other users
//! (`unshare --user --map-root-user --net`): the hosts' namespaces belong to that user namespace.

use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::restate::assert_private_network;

/// Every interface this module makes is named with this prefix, so the private-network check can
/// tell them from an interface that could lead outside the namespace (see `restate.rs`).
pub const PREFIX: &str = "rtf-";
const BRIDGE: &str = "rtf-br0";
/// The bridge's address: the suite's namespace as seen from the hosts (S3, the counter service).
pub const SUITE_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

/// The bridge with the suite's address, deleted when the last handle on it (each host holds one)
/// is gone. Hold one to serve the hosts from this namespace before any host exists (S3, the
/// counter service listen on [`SUITE_IP`]).
pub struct Bridge;

impl Bridge {
    pub fn get() -> Arc<Bridge> {
        static BRIDGE_REF: Mutex<Weak<Bridge>> = Mutex::new(Weak::new());
        let mut slot = BRIDGE_REF.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = slot.upgrade() {
            return b;
        }
        assert_private_network();
        // One left behind by a test process that was killed: start afresh.
        let _ = Command::new("ip")
            .args(["link", "del", BRIDGE])
            .stderr(Stdio::null())
            .status();
        run_ip(&["link", "add", BRIDGE, "type", "bridge"]);
        run_ip(&["addr", "add", &format!("{SUITE_IP}/24"), "dev", BRIDGE]);
        run_ip(&["link", "set", BRIDGE, "up"]);
        let b = Arc::new(Bridge);
        *slot = Arc::downgrade(&b);
        b
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", BRIDGE]).status();
    }
}

/// `ip ARGS` in the suite's namespace; panics with its stderr on failure.
#[track_caller]
fn run_ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Host numbers handed out in this process (1 is 10.77.0.11), so tests running at once never
/// share one.
fn next_index() -> u8 {
    static NEXT: Mutex<u8> = Mutex::new(1);
    let mut n = NEXT.lock().unwrap_or_else(|p| p.into_inner());
    let i = *n;
    assert!(i < 200, "out of host addresses");
    *n += 1;
    i
}

/// A test host: its own network namespace and address on the suite's bridge.
pub struct Host {
    pub index: u8,
    pub ip: Ipv4Addr,
    /// The host end of the veth pair, on the bridge.
    veth: String,
    holder: Child,
    _bridge: Arc<Bridge>,
}

impl Host {
    /// A new host at the next free address, its link up.
    pub fn new() -> Arc<Host> {
        let bridge = Bridge::get();
        let index = next_index();
        let ip = Ipv4Addr::new(10, 77, 0, 10 + index);
        let veth = format!("{PREFIX}v{index}");
        let mut holder = Command::new("unshare")
            .args(["--net", "--", "sleep", "infinity"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("unshare --net");
        // unshare makes the namespace, then execs sleep: wait until the process is in it.
        let own = std::fs::read_link("/proc/self/ns/net").expect("own netns");
        let pid = holder.id();
        let started = Instant::now();
        while std::fs::read_link(format!("/proc/{pid}/ns/net"))
            .ok()
            .as_ref()
            == Some(&own)
            || !std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "sleep")
        {
            if let Ok(Some(status)) = holder.try_wait() {
                panic!("unshare --net exited with {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the host's namespace did not appear"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let host = Host {
            index,
            ip,
            veth: veth.clone(),
            holder,
            _bridge: bridge,
        };
        run_ip(&[
            "link",
            "add",
            &veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &pid.to_string(),
        ]);
        run_ip(&["link", "set", &veth, "master", BRIDGE]);
        run_ip(&["link", "set", &veth, "up"]);
        host.ip_in(&["link", "set", "lo", "up"]);
        host.ip_in(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
        host.ip_in(&["link", "set", "eth0", "up"]);
        Arc::new(host)
    }

    /// A command that runs `program` in the host's namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/proc/{}/ns/net", self.holder.id()))
            .arg("--")
            .arg(program);
        c
    }

    /// `ip ARGS` inside the host.
    #[track_caller]
    fn ip_in(&self, args: &[&str]) {
        let out = self.command("ip").args(args).output().expect("nsenter ip");
        assert!(
            out.status.success(),
            "ip {} on host {}: {}",
            args.join(" "),
            self.ip,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Cuts the host off from every other host and the suite: its link to the bridge goes down.
    /// Its processes keep running; packets to and from it are dropped.
    pub fn cut_off(&self) {
        run_ip(&["link", "set", &self.veth, "down"]);
    }

    /// Connects the host again after [`cut_off`](Self::cut_off).
    pub fn reconnect(&self) {
        run_ip(&["link", "set", &self.veth, "up"]);
    }

    /// `http://IP:PORT`
    pub fn url(&self, port: u16) -> String {
        format!("http://{}:{port}", self.ip)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // The namespace goes when its last process does, and the veth pair with it.
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .stderr(Stdio::null())
            .status();
    }
}
