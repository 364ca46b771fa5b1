//! End to end: `TF_LOG` shows the provider's own lines in Terraform's log, at their levels (each
//! RPC, each failover, each wait), and no secret ever appears in them.

mod support;

use std::time::Duration;

use support::restate::{refusing_port, Node, NodeSpec, ALL_ROLES};
use support::s3::{S3, SECRET_KEY};
use support::terraform::{provider_block, Workspace};

const NODE_CONFIG_SECRET: &str = "node-config-secret-4f1b";
const BASE_CONFIG_SECRET: &str = "base-config-secret-9c2e";

/// The lines Terraform logged for this provider.
fn provider_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-restate"))
        .collect()
}

#[test]
fn tf_log_shows_rpcs_and_waits_at_their_levels_without_secrets() {
    crate::e2e!();
    let s3 = S3::start("logs");
    let mut spec = NodeSpec::new("n1", "logs", ALL_ROLES);
    spec.extra_toml = s3.snapshots_toml("logs", "logs");
    let node = Node::start(spec);
    // The first endpoint refuses connections: calls fail over to the node.
    let dead = refusing_port();
    // n2 starts only once the apply runs, so its restate_node waits for it.
    let mut n2_spec = NodeSpec::new("n2", "logs", &["log-server"]);
    n2_spec.metadata_addresses = vec![node.fabric_url()];
    let n2 = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        Node::start(n2_spec)
    });
    let ws = Workspace::new();
    ws.write(&format!(
        r##"{provider}
data "restate_node_config" "n2" {{
  node_name    = "n2"
  cluster_name = "logs"
  roles        = ["worker"]
  base_config  = "# token = {BASE_CONFIG_SECRET}\n"
  snapshots {{
    destination           = "s3://logs/logs"
    aws_access_key_id     = "key-id"
    aws_secret_access_key = "{NODE_CONFIG_SECRET}"
  }}
}}

resource "restate_cluster_config" "this" {{
  provision          = true
  provision_endpoint = "{endpoint}"
  num_partitions     = 2
  log_provider       = "replicated"
  log_replication    = "1"
}}

resource "restate_node" "n2" {{
  name       = "n2"
  roles      = ["log-server"]
  on_destroy = "forget"
  timeouts {{
    create = "2m"
  }}
}}

resource "restate_partition_snapshot" "this" {{
  depends_on = [restate_cluster_config.this]
}}

output "toml" {{
  value     = data.restate_node_config.n2.toml
  sensitive = true
}}
"##,
        provider = provider_block(&[dead.url(), node.fabric_url()], ""),
        endpoint = node.fabric_url()
    ));
    let run = ws.run_with_env(
        &["apply", "-auto-approve", "-no-color", "-input=false"],
        &[("TF_LOG", "debug")],
    );
    let n2 = n2.join().expect("n2 started");
    assert_eq!(run.code, 0, "{}", run.text());
    let lines = provider_lines(&run.stderr);
    let has = |level: &str, needle: &str| {
        lines
            .iter()
            .any(|l| l.contains(&format!("[{level}]")) && l.contains(needle))
    };
    // Each RPC at DEBUG, with its endpoint, method, status and duration.
    let endpoint = node.fabric_url();
    for needle in [
        "RPC NodeCtlSvc/GetIdent to ".to_string(),
        format!("endpoint={endpoint}"),
        "status=OK".to_string(),
        "RPC NodeCtlSvc/ProvisionCluster".to_string(),
        "RPC MetadataProxySvc/Get".to_string(),
        "RPC ClusterCtrlSvc/CreatePartitionSnapshot".to_string(),
        "elapsed_ms=".to_string(),
    ] {
        assert!(
            has("DEBUG", &needle),
            "no DEBUG line with {needle:?}:\n{}",
            lines.join("\n")
        );
    }
    // Provisioning at INFO.
    assert!(
        has("INFO", "provisioned the cluster"),
        "{}",
        lines.join("\n")
    );
    // Each wait at INFO, with what it waits for.
    assert!(
        has("INFO", "waiting for node n2"),
        "no wait line:\n{}",
        lines.join("\n")
    );
    // No secret in any provider line: not the node's S3 key, not the rendered ones.
    let rendered = ws.output_json()["toml"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(rendered.contains(NODE_CONFIG_SECRET) && rendered.contains(BASE_CONFIG_SECRET));
    for secret in [SECRET_KEY, NODE_CONFIG_SECRET, BASE_CONFIG_SECRET] {
        assert!(
            !lines.iter().any(|l| l.contains(secret)),
            "{secret} appears in the provider's log"
        );
    }

    // A failover at DEBUG, naming the endpoint that failed: an import's first call asks the
    // endpoints in order (in the apply above, calls made after one reached the node start there).
    let import = Workspace::new();
    import.write(&format!(
        "{}resource \"restate_cluster_config\" \"this\" {{\n  log_provider = \"replicated\"\n}}\n",
        provider_block(&[dead.url(), node.fabric_url()], "")
    ));
    let run = import.run_with_env(
        &["import", "-no-color", "restate_cluster_config.this", "logs"],
        &[("TF_LOG", "debug")],
    );
    assert_eq!(run.code, 0, "{}", run.text());
    let lines = provider_lines(&run.stderr);
    assert!(
        lines.iter().any(|l| l.contains("[DEBUG]")
            && l.contains("trying the next endpoint")
            && l.contains(&dead.url())),
        "no failover line:\n{}",
        lines.join("\n")
    );

    // TF_LOG_PROVIDER=info: the configuration write at INFO, and nothing below INFO.
    ws.write(&format!(
        "{}resource \"restate_cluster_config\" \"this\" {{\n  log_provider     = \"replicated\"\n  log_replication  = \"1\"\n  log_nodeset_size = 1\n}}\n",
        provider_block(&[node.fabric_url()], "")
    ));
    let run = ws.run_with_env(
        &["apply", "-auto-approve", "-no-color", "-input=false"],
        &[("TF_LOG_PROVIDER", "info")],
    );
    assert_eq!(run.code, 0, "{}", run.text());
    let lines = provider_lines(&run.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[INFO]") && l.contains("setting the cluster configuration")),
        "{}",
        lines.join("\n")
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("[DEBUG]") || l.contains("[TRACE]")),
        "{}",
        lines.join("\n")
    );
    // Without TF_LOG the provider writes nothing.
    let run = ws.plan();
    assert!(provider_lines(&run.stderr).is_empty(), "{}", run.stderr);
    drop(n2);
}
