//! TLS and mTLS to the nodes, end to end: three Restate nodes whose `[tls]` section
//! `restate_node_config` rendered (`mode = "require"`, `require-client-auth = true`), with
//! certificates this test makes; the migration's stages that apply to a fresh cluster
//! (provision, replication 2, the nodes joined, a snapshot of every partition, the status)
//! through `https://` endpoints and the provider's `tls` block; and each way a connection can be
//! set up wrong failing at once with its cause: plain `http://` to the TLS-only nodes, a CA that
//! did not sign them, no client certificate, a client certificate from another CA.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType,
};
use support::restate::{
    may_start_nodes, path_str, restate_version, version_triple, Node, NodeSpec, ALL_ROLES,
};
use support::s3::{ACCESS_KEY, REGION, S3, SECRET_KEY};
use support::terraform::{provider_block, required_providers, Workspace};
use support::{ctl, quoted_list};

const CLUSTER: &str = "tls-cluster";
const BUCKET: &str = "snapshots";

/// A CA, and the certificates it signs, written as PEM files into a directory.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).expect("CA certificate");
        Ca { cert, key }
    }

    fn write(&self, dir: &Path, name: &str) -> String {
        let path = dir.join(format!("{name}.pem"));
        std::fs::write(&path, self.cert.pem()).expect("write CA");
        path_str(&path)
    }

    /// A certificate for `cn`, valid for 127.0.0.1 and localhost, for servers and clients;
    /// returns the paths of its certificate and key.
    fn issue(&self, dir: &Path, cn: &str) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("sign certificate");
        let (cert_path, key_path) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
        std::fs::write(&cert_path, cert.pem()).expect("write certificate");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        (path_str(&cert_path), path_str(&key_path))
    }
}

/// Files the test hands to nodes, the provider and restatectl.
struct Pki {
    _dir: tempfile::TempDir,
    ca: String,
    node_cert: String,
    node_key: String,
    client_cert: String,
    client_key: String,
    other_ca: String,
    other_client_cert: String,
    other_client_key: String,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = Ca::new("restate-test-ca");
    let other = Ca::new("someone-elses-ca");
    let (node_cert, node_key) = ca.issue(dir.path(), "restate-node");
    let (client_cert, client_key) = ca.issue(dir.path(), "terraform");
    let (other_client_cert, other_client_key) = other.issue(dir.path(), "terraform-elsewhere");
    Pki {
        ca: ca.write(dir.path(), "ca"),
        other_ca: other.write(dir.path(), "other-ca"),
        node_cert,
        node_key,
        client_cert,
        client_key,
        other_client_cert,
        other_client_key,
        _dir: dir,
    }
}

fn https(node: &Node) -> String {
    format!("https://127.0.0.1:{}", node.ports.fabric)
}

/// Waits until the node answers `/health` over mTLS (curl: the test's own TLS client).
fn wait_https_health(node: &Node, pki: &Pki) {
    let started = Instant::now();
    loop {
        let out = Command::new("curl")
            .args(["-sf", "--max-time", "2", "--cacert", &pki.ca, "--cert"])
            .args([&pki.client_cert, "--key", &pki.client_key])
            .arg(format!("{}/health", https(node)))
            .output()
            .expect("run curl");
        if out.status.success() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "node {} did not answer /health over TLS; log:\n{}",
            node.spec.name,
            node.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn tls_block(ca: &str, client: Option<(&str, &str)>) -> String {
    let mut b = format!("  tls {{\n    ca_cert = file({ca:?})\n");
    if let Some((cert, key)) = client {
        b.push_str(&format!(
            "    client_cert_file = {cert:?}\n    client_key = file({key:?})\n"
        ));
    }
    b.push_str("  }\n");
    b
}

/// `restate_node_config` for each node, with the `[tls]` section and the snapshot store.
fn node_configs(nodes: &[Node], pki: &Pki, s3: &S3) -> String {
    let addresses: Vec<String> = nodes.iter().map(https).collect();
    let mut tf = required_providers();
    tf.push_str("provider \"restate\" {}\n\n");
    for n in nodes {
        tf.push_str(&format!(
            r#"data "restate_node_config" "{name}" {{
  node_name                 = "{name}"
  cluster_name              = "{CLUSTER}"
  roles                     = {roles}
  advertised_address        = "{address}"
  bind_address              = "127.0.0.1:{port}"
  metadata_client_addresses = {addresses}
  default_num_partitions    = 4
  restate_version           = "{version}"
  base_config               = {base:?}
  snapshots {{
    destination           = "s3://{BUCKET}/{CLUSTER}"
    aws_region            = "{REGION}"
    aws_endpoint_url      = "{endpoint}"
    aws_allow_http        = true
    aws_access_key_id     = "{ACCESS_KEY}"
    aws_secret_access_key = "{SECRET_KEY}"
  }}
  tls {{
    mode                  = "require"
    cert_file             = "{cert}"
    key_file              = "{key}"
    ca_files              = ["{ca}"]
    require_client_auth   = true
    allowed_subject_names = ["restate-*", "terraform"]
  }}
}}

output "{name}" {{
  value     = data.restate_node_config.{name}.toml
  sensitive = true
}}

"#,
            name = n.spec.name,
            roles = quoted_list(ALL_ROLES),
            address = https(n),
            port = n.ports.fabric,
            addresses = quoted_list(&addresses),
            version = restate_version(),
            base = n.local_base_config(),
            endpoint = s3.endpoint(),
            cert = pki.node_cert,
            key = pki.node_key,
            ca = pki.ca,
        ));
    }
    tf
}

/// The stages of the migration that apply to a fresh cluster, through TLS.
fn cluster_tf(nodes: &[Node], pki: &Pki) -> String {
    let endpoints: Vec<String> = nodes.iter().map(https).collect();
    let mut tf = provider_block(
        &endpoints,
        &tls_block(&pki.ca, Some((&pki.client_cert, &pki.client_key))),
    );
    tf.push_str(
        r#"resource "restate_cluster_config" "this" {
  provision             = true
  log_provider          = "replicated"
  log_replication       = "2"
  partition_replication = "2"
}

"#,
    );
    for n in nodes {
        tf.push_str(&format!(
            r#"resource "restate_node" "{name}" {{
  name       = "{name}"
  roles      = {roles}
  depends_on = [restate_cluster_config.this]
}}

"#,
            name = n.spec.name,
            roles = quoted_list(ALL_ROLES),
        ));
    }
    tf.push_str(
        r#"resource "restate_partition_snapshot" "all" {
  depends_on = [restate_node.n1, restate_node.n2, restate_node.n3]
}

data "restate_cluster_status" "now" {
  depends_on = [restate_partition_snapshot.all]
}

output "alive" {
  value = [for n in data.restate_cluster_status.now.nodes : n.name if n.alive]
}
"#,
    );
    tf
}

/// A plan that must fail at once, with `cause` in its error.
#[track_caller]
fn refused_at_once(endpoint: &str, tls: &str, cause: &[&str]) {
    let ws = Workspace::new();
    ws.write(&format!(
        "{}data \"restate_cluster_status\" \"s\" {{}}\n",
        provider_block(&[endpoint.to_string()], tls)
    ));
    let started = Instant::now();
    let run = ws.plan().failed_with(cause);
    // The retry window is 30 s: a TLS cause is a setting to fix, never retried.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}, so it was retried:\n{}",
        started.elapsed(),
        run.text()
    );
}

#[test]
fn a_cluster_that_requires_mtls_is_managed_through_tls() {
    if !may_start_nodes() {
        return;
    }
    if version_triple() < (1, 7, 3) {
        eprintln!(
            "skipped: Restate {} has no [tls] (1.7.3 and later)",
            restate_version()
        );
        return;
    }
    let pki = pki();
    let s3 = S3::start(BUCKET);
    let mut nodes: Vec<Node> = ["n1", "n2", "n3"]
        .iter()
        .map(|name| Node::prepare(NodeSpec::new(name, CLUSTER, ALL_ROLES)))
        .collect();

    // restate_node_config renders each node's [tls]; the nodes start from what it rendered.
    let render = Workspace::new();
    render.write(&node_configs(&nodes, &pki, &s3));
    render.apply().ok();
    let outputs = render.output_json();
    for n in nodes.iter_mut() {
        let toml = outputs[n.spec.name.as_str()]["value"]
            .as_str()
            .expect("rendered toml")
            .to_string();
        assert!(toml.contains("[tls]\nmode = \"require\""), "{toml}");
        n.spawn_toml(&toml);
    }
    for n in &nodes {
        wait_https_health(n, &pki);
    }
    let n1 = https(&nodes[0]);

    // Each way to get TLS wrong fails at once, naming its cause, before anything is provisioned.
    refused_at_once(
        &format!("http://127.0.0.1:{}", nodes[0].ports.fabric),
        "",
        &["accepts only TLS", "Use an https:// endpoint"],
    );
    refused_at_once(
        &n1,
        &tls_block(&pki.other_ca, Some((&pki.client_cert, &pki.client_key))),
        &["not signed by a trusted CA", "tls.ca_cert"],
    );
    refused_at_once(
        &n1,
        &tls_block(&pki.ca, None),
        &["requires a client certificate", "tls.client_cert"],
    );
    refused_at_once(
        &n1,
        &tls_block(
            &pki.ca,
            Some((&pki.other_client_cert, &pki.other_client_key)),
        ),
        &["refused the client certificate", "allowed-subject-names"],
    );

    // Provision, replicate, join, snapshot, status: all through https:// and the client
    // certificate.
    let ws = Workspace::new();
    ws.write(&cluster_tf(&nodes, &pki));
    ws.apply().ok();
    ws.assert_plan_empty();
    let alive = ws.output_json()["alive"]["value"].clone();
    assert_eq!(
        support::sorted_strings(&alive),
        vec!["n1", "n2", "n3"],
        "{alive}"
    );
    let snapshot = ws.resource_values("restate_partition_snapshot.all");
    assert_eq!(
        snapshot["snapshots"].as_array().map(Vec::len),
        Some(4),
        "{snapshot}"
    );
    assert!(
        !s3.list(BUCKET, CLUSTER).is_empty(),
        "no snapshot in the store"
    );

    // What restatectl (its own TLS client) reads back agrees.
    std::env::set_var("RESTATECTL_TLS_CA", &pki.ca);
    std::env::set_var("RESTATECTL_TLS_CERT", &pki.client_cert);
    std::env::set_var("RESTATECTL_TLS_KEY", &pki.client_key);
    let config = ctl::cluster_config(&n1);
    assert_eq!(config.log_provider, "replicated", "{config:?}");
    assert_eq!(
        config.log_replication.as_deref(),
        Some("{node: 2}"),
        "{config:?}"
    );
    assert_eq!(config.partition_replication, "{node: 2}", "{config:?}");
    let members = ctl::nodes(&n1);
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(
        members.values().all(|n| n.address.starts_with("https://")),
        "{members:?}"
    );
}
