//! A provider binary started as Terraform starts it: go-plugin's environment, with a client
//! certificate of the kind Terraform makes, up to the handshake line the plugin prints. For the
//! tests and benchmarks that talk to the plugin port, or time its start, themselves.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::CertificateDer;

/// The cookie Terraform sets so that a plugin binary knows it was started as a plugin.
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// A self-signed CA-flagged certificate and its key, as go-plugin makes for Terraform.
pub struct Identity {
    pub pem: String,
    pub der: CertificateDer<'static>,
    pub key: KeyPair,
}

pub fn identity() -> Identity {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("certificate");
    Identity {
        pem: cert.pem(),
        der: cert.der().clone(),
        key,
    }
}

/// A started plugin, killed when dropped.
pub struct Plugin {
    child: Child,
    /// The handshake line, trimmed: core protocol | plugin protocol | network | address |
    /// protocol | server certificate.
    pub handshake: String,
}

impl Plugin {
    /// The handshake line's fields.
    pub fn fields(&self) -> Vec<&str> {
        self.handshake.split('|').collect()
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` as Terraform does, offering plugin `protocol` ("5", "6") and trusting
/// `client_cert_pem`, and returns once it has printed its handshake line.
pub fn start(binary: &Path, protocol: &str, client_cert_pem: &str) -> Plugin {
    let mut child = Command::new(binary)
        .env("PLUGIN_CLIENT_CERT", client_cert_pem)
        .env("PLUGIN_PROTOCOL_VERSIONS", protocol)
        .env("PLUGIN_MIN_PORT", "20000")
        .env("PLUGIN_MAX_PORT", "29999")
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the provider");
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    let plugin = Plugin {
        child,
        handshake: line.trim().to_string(),
    };
    read.expect("handshake line");
    plugin
}
