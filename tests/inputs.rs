//! Every input of the provider, its resources and its data sources, with the values it refuses:
//! one table, run through the real `terraform plan -json`, each case asserted at the diagnostic's
//! address and attribute (the line and name Terraform points at), not at a substring of the
//! output. The table must cover every input attribute of the schema: a new attribute fails
//! `every_input_has_its_cases` until it has a case, or an entry saying why any value is valid.
//!
//! Nothing here needs a cluster: the provider points at a port that refuses connections, and
//! every check runs before anything is sent.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::docgen::provider_schema;
use support::restate::refusing_port;
use support::terraform::{required_providers, Diagnostic, Workspace, PROVIDER_SOURCE};

/// A bad input and what it must produce.
struct Case {
    /// `provider`, a resource type (`restate_node`) or `data.` and a data source type.
    on: &'static str,
    /// The attribute; `block.attribute` inside a nested block.
    attribute: &'static str,
    /// HCL set in the block: the bad value, and any sibling it needs. The diagnostic must point
    /// at the line that sets `attribute`.
    hcl: &'static str,
    severity: Severity,
    summary: &'static str,
    /// Words the detail must contain: what is wrong, and what to write instead.
    detail: &'static [&'static str],
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Severity {
    Error,
    Warning,
}
use Severity::{Error, Warning};

const fn refused(
    on: &'static str,
    attribute: &'static str,
    hcl: &'static str,
    summary: &'static str,
    detail: &'static [&'static str],
) -> Case {
    Case {
        on,
        attribute,
        hcl,
        severity: Error,
        summary,
        detail,
    }
}

const NODE: &str = "restate_node";
const CONFIG: &str = "restate_cluster_config";
const SNAPSHOT: &str = "restate_partition_snapshot";
const GATE: &str = "restate_restart_gate";
const NODE_CONFIG: &str = "data.restate_node_config";
const PROVIDER: &str = "provider";

/// The inputs that accept every value of their type, and why.
const ANY_VALUE: &[(&str, &str, &str)] = &[
    (
        GATE,
        "allow_downtime",
        "a bool: whether the node may stop without waiting for its turn",
    ),
    (
        NODE,
        "metadata_server_member",
        "a bool: whether the node is a metadata server member",
    ),
    (
        CONFIG,
        "provision",
        "a bool: whether this resource may provision the cluster",
    ),
    (
        CONFIG,
        "skip_safety_checks",
        "a bool: whether capacity checks are skipped",
    ),
    (
        CONFIG,
        "wait_for_logs",
        "a bool: whether apply waits for the logs",
    ),
    (
        CONFIG,
        "allow_lower_replication",
        "a bool: whether create may lower replication",
    ),
    (
        SNAPSHOT,
        "trim_log",
        "a bool; how far it trims is the cluster's to say",
    ),
    (
        SNAPSHOT,
        "triggers",
        "any map of strings: a change only replaces the resource",
    ),
    (
        NODE_CONFIG,
        "snapshots.aws_allow_http",
        "a bool; an http:// aws_endpoint_url without it is refused at aws_endpoint_url",
    ),
    (
        NODE_CONFIG,
        "tls.cert_file",
        "a path on the node; the node reads it when it starts",
    ),
    (
        NODE_CONFIG,
        "tls.key_file",
        "a path on the node; the node reads it when it starts",
    ),
    (
        NODE_CONFIG,
        "tls.ca_files",
        "paths on the node; the node reads them when it starts",
    ),
    (
        NODE_CONFIG,
        "tls.allowed_subject_names",
        "glob patterns; an empty list with require_client_auth is refused at require_client_auth",
    ),
    (
        NODE_CONFIG,
        "snapshots.aws_region",
        "any region name: the object store client checks it when the node starts",
    ),
];

const CASES: &[Case] = &[
    // --- provider ---------------------------------------------------------------------------
    refused(PROVIDER, "endpoints", "endpoints = []", "Empty endpoints", &["at least one node"]),
    refused(
        PROVIDER,
        "endpoints",
        r#"endpoints = ["http://127.0.0.1"]"#,
        "Invalid endpoint",
        &["no port", "http://127.0.0.1:5122"],
    ),
    refused(
        PROVIDER,
        "endpoints",
        r#"endpoints = ["HTTP://127.0.0.1:5122"]"#,
        "Invalid endpoint",
        &["lowercase"],
    ),
    refused(
        PROVIDER,
        "endpoints",
        r#"endpoints = ["http://admin:secret@127.0.0.1:5122"]"#,
        "Invalid endpoint",
        &["user"],
    ),
    refused(
        PROVIDER,
        "endpoints",
        r#"endpoints = ["127.0.0.1:5122"]"#,
        "Invalid endpoint",
        &["http://"],
    ),
    refused(
        PROVIDER,
        "cluster_name",
        r#"cluster_name = " prod""#,
        "cluster_name has surrounding spaces",
        &["write \"prod\""],
    ),
    refused(PROVIDER, "cluster_name", r#"cluster_name = """#, "Empty cluster_name", &[]),
    refused(
        PROVIDER,
        "request_timeout",
        r#"request_timeout = "10000000000000000000s""#,
        "Invalid duration",
        &["maximum of 7days"],
    ),
    refused(
        PROVIDER,
        "request_timeout",
        r#"request_timeout = "8d""#,
        "Invalid duration",
        &["maximum of 7days"],
    ),
    refused(PROVIDER, "request_timeout", r#"request_timeout = "0s""#, "Invalid duration", &["zero"]),
    refused(
        PROVIDER,
        "request_timeout",
        r#"request_timeout = "fast""#,
        "Invalid duration",
        &["\"30s\""],
    ),
    refused(
        PROVIDER,
        "tls.ca_cert",
        "tls {\nca_cert = \"not a certificate\"\n}",
        "Invalid CA certificate",
        &["BEGIN CERTIFICATE", "ca_cert_file"],
    ),
    refused(
        PROVIDER,
        "tls.ca_cert",
        "tls {\nca_cert = \"x\"\nca_cert_file = \"/nonexistent/ca.pem\"\n}",
        "Conflicting TLS settings",
        &["not both"],
    ),
    refused(
        PROVIDER,
        "tls.ca_cert_file",
        "tls {\nca_cert_file = \"/nonexistent/ca.pem\"\n}",
        "Invalid provider TLS settings",
        &["cannot read", "/nonexistent/ca.pem"],
    ),
    refused(
        PROVIDER,
        "tls.client_cert",
        "tls {\nclient_cert = \"not a certificate\"\nclient_key = \"not a key\"\n}",
        "Invalid client certificate",
        &["BEGIN CERTIFICATE"],
    ),
    refused(
        PROVIDER,
        "tls.client_cert_file",
        "tls {\nclient_cert_file = \"/nonexistent/client.pem\"\n}",
        "Incomplete client certificate",
        &["client_key", "needs both"],
    ),
    refused(
        PROVIDER,
        "tls.client_key",
        "tls {\nclient_key = \"not a key\"\n}",
        "Incomplete client certificate",
        &["client_cert"],
    ),
    refused(
        PROVIDER,
        "tls.client_key_file",
        "tls {\nclient_cert = \"not read before the key\"\nclient_key_file = \"/nonexistent/client.key\"\n}",
        "Invalid provider TLS settings",
        &["cannot read", "/nonexistent/client.key"],
    ),
    refused(
        PROVIDER,
        "tls.server_name",
        "tls {\nserver_name = \"not a name!\"\n}",
        "Invalid server name",
        &["DNS name"],
    ),
    // --- restate_cluster_config --------------------------------------------------------------
    refused(CONFIG, "log_provider", r#"log_provider = "kafka""#, "Unknown log provider", &["kafka"]),
    refused(
        CONFIG,
        "log_replication",
        r#"log_replication = " 2""#,
        "Invalid log_replication",
        &["surrounding spaces", "write \"2\""],
    ),
    refused(
        CONFIG,
        "log_replication",
        r#"log_replication = "0""#,
        "Invalid log_replication",
        &["at least 1"],
    ),
    refused(
        CONFIG,
        "log_replication",
        "log_provider = \"local\"\nlog_replication = \"2\"",
        "log_replication needs the replicated log provider",
        &[],
    ),
    refused(
        CONFIG,
        "partition_replication",
        r#"partition_replication = "{rack: 2}""#,
        "Invalid partition_replication",
        &["unknown scope \"rack\""],
    ),
    refused(
        CONFIG,
        "partition_replication",
        r#"partition_replication = "2 ""#,
        "Invalid partition_replication",
        &["surrounding spaces"],
    ),
    refused(
        CONFIG,
        "log_nodeset_size",
        "log_nodeset_size = 200",
        "log_nodeset_size out of range",
        &["0 (automatic) up to 128"],
    ),
    refused(
        CONFIG,
        "num_partitions",
        "num_partitions = 0",
        "num_partitions out of range",
        &[],
    ),
    refused(
        CONFIG,
        "num_partitions",
        "num_partitions = 100000",
        "num_partitions out of range",
        &[],
    ),
    refused(
        CONFIG,
        "provision_endpoint",
        r#"provision_endpoint = "10.0.0.1:5122""#,
        "Invalid address",
        &["http://"],
    ),
    refused(
        CONFIG,
        "timeouts.create",
        "timeouts {\ncreate = \"10000000000000000000s\"\n}",
        "Invalid duration",
        &[],
    ),
    refused(
        CONFIG,
        "timeouts.update",
        "timeouts {\nupdate = \"soon\"\n}",
        "Invalid duration",
        &["\"soon\" is not a duration"],
    ),
    // --- restate_node ------------------------------------------------------------------------
    refused(NODE, "name", r#"name = " n1""#, "name has surrounding spaces", &["write \"n1\""]),
    refused(NODE, "name", r#"name = "  ""#, "Empty name", &[]),
    refused(NODE, "roles", r#"roles = ["wroker"]"#, "Unknown role", &["\"wroker\" is not a Restate role"]),
    refused(NODE, "roles", "roles = []", "No roles", &[]),
    refused(
        NODE,
        "expected_version",
        r#"expected_version = "latest""#,
        "Invalid expected_version",
        &["\"1.7.12\""],
    ),
    refused(
        NODE,
        "timeouts.create",
        "timeouts {\ncreate = \"10000000000000000000s\"\n}",
        "Invalid duration",
        &[],
    ),
    refused(NODE, "timeouts.update", "timeouts {\nupdate = \"-1s\"\n}", "Invalid duration", &[]),
    refused(NODE, "timeouts.delete", "timeouts {\ndelete = \"later\"\n}", "Invalid duration", &[]),
    refused(
        NODE,
        "worker_state",
        r#"worker_state = "paused""#,
        "Invalid worker_state",
        &["\"paused\"", "active, draining, disabled"],
    ),
    refused(
        NODE,
        "log_server_storage_state",
        r#"log_server_storage_state = "rw""#,
        "Invalid log_server_storage_state",
        &["\"rw\"", "read-write, read-only, disabled"],
    ),
    refused(
        NODE,
        "on_destroy",
        r#"on_destroy = "delete""#,
        "Invalid on_destroy",
        &["\"remove\" or \"forget\""],
    ),
    // --- restate_restart_gate ----------------------------------------------------------------
    refused(GATE, "node", r#"node = " n1""#, "node has surrounding spaces", &["write \"n1\""]),
    refused(GATE, "roles", r#"roles = ["wroker"]"#, "Unknown role", &["\"wroker\" is not a Restate role"]),
    refused(
        GATE,
        "expected_version",
        r#"expected_version = "newest""#,
        "Invalid expected_version",
        &["\"1.7.12\""],
    ),
    refused(GATE, "timeouts.create", "timeouts {\ncreate = \"soon\"\n}", "Invalid duration", &[]),
    refused(GATE, "timeouts.delete", "timeouts {\ndelete = \"-5m\"\n}", "Invalid duration", &[]),
    // --- restate_partition_snapshot ----------------------------------------------------------
    refused(SNAPSHOT, "partition_ids", "partition_ids = []", "Empty partition_ids", &[]),
    refused(SNAPSHOT, "partition_ids", "partition_ids = [-1]", "Invalid partition id", &[]),
    refused(
        SNAPSHOT,
        "timeouts.create",
        "timeouts {\ncreate = \"10000000000000000000s\"\n}",
        "Invalid duration",
        &[],
    ),
    // --- data.restate_node_config ------------------------------------------------------------
    refused(NODE_CONFIG, "node_name", r#"node_name = "n1 ""#, "node_name has surrounding spaces", &[]),
    refused(NODE_CONFIG, "cluster_name", r#"cluster_name = """#, "Empty cluster_name", &[]),
    refused(
        NODE_CONFIG,
        "roles",
        r#"roles = ["wroker"]"#,
        "Unknown role",
        &["\"wroker\" is not a Restate role"],
    ),
    refused(NODE_CONFIG, "roles", "roles = []", "No roles", &["at least one role"]),
    refused(
        NODE_CONFIG,
        "advertised_address",
        r#"advertised_address = "http://10.0.0.1""#,
        "Invalid address",
        &["port"],
    ),
    refused(
        NODE_CONFIG,
        "bind_address",
        r#"bind_address = "localhost:5122""#,
        "Invalid bind address",
        &["\"0.0.0.0:5122\""],
    ),
    refused(
        NODE_CONFIG,
        "metadata_client_addresses",
        r#"metadata_client_addresses = ["http://10.0.0.1"]"#,
        "Invalid address",
        &["no port"],
    ),
    refused(
        NODE_CONFIG,
        "metadata_client_addresses",
        r#"metadata_client_addresses = ["http://"]"#,
        "Invalid address",
        &["no host"],
    ),
    refused(
        NODE_CONFIG,
        "auto_provision",
        "auto_provision = true\nadvertised_address = \"http://10.0.0.2:5122\"\nmetadata_client_addresses = [\"http://10.0.0.1:5122\", \"http://10.0.0.2:5122\"]",
        "A joining node must not auto-provision",
        &["provision = true"],
    ),
    refused(
        NODE_CONFIG,
        "default_num_partitions",
        "default_num_partitions = 0",
        "default_num_partitions out of range",
        &[],
    ),
    refused(
        NODE_CONFIG,
        "default_replication",
        r#"default_replication = " 2""#,
        "Invalid default_replication",
        &["surrounding spaces"],
    ),
    refused(
        NODE_CONFIG,
        "default_replication",
        r#"default_replication = "{zone: 3, node: 2}""#,
        "Invalid default_replication",
        &["3 copies across zones"],
    ),
    refused(NODE_CONFIG, "log_provider", r#"log_provider = "kafka""#, "Unknown log provider", &[]),
    refused(NODE_CONFIG, "location", r#"location = "a.b.c""#, "Invalid location", &["region.zone"]),
    refused(
        NODE_CONFIG,
        "restate_version",
        r#"restate_version = "1.1""#,
        "Unsupported restate_version",
        &[],
    ),
    refused(
        NODE_CONFIG,
        "base_config",
        "base_config = \"a = 1\\nb = = 2\\n\"",
        "Invalid TOML in base_config",
        &["line 2, column 5"],
    ),
    Case {
        on: NODE_CONFIG,
        attribute: "base_config",
        hcl: "base_config = \"[worker]\\nnum_timers_in_memory_limit = 10\\n\"",
        severity: Warning,
        summary: "base_config key `worker.num_timers_in_memory_limit` has an underscore",
        detail: &["Write it as `worker.num-timers-in-memory-limit`", "ignores"],
    },
    Case {
        on: NODE_CONFIG,
        attribute: "base_config",
        hcl: "base_config = \"[admin_x]\\nquery-engine = { memory_size = 1 }\\n\"",
        severity: Warning,
        summary: "base_config key `admin_x` has an underscore",
        detail: &["Write it as `admin-x`"],
    },
    refused(
        NODE_CONFIG,
        "snapshots.destination",
        "snapshots {\ndestination = \"file:///tmp/snap\"\n}",
        "Snapshot destination not supported by this Restate version",
        &["s3://"],
    ),
    refused(
        NODE_CONFIG,
        "snapshots.destination",
        "snapshots {\ndestination = \"s3://\"\n}",
        "Invalid snapshot destination",
        &["names no bucket"],
    ),
    Case {
        on: NODE_CONFIG,
        attribute: "snapshots.destination",
        hcl: "snapshots {\ndestination = \"s3://shared/snapshots\"\n}",
        severity: Warning,
        summary: "The snapshot destination does not name the cluster",
        detail: &["such as s3://shared/snapshots/c"],
    },
    refused(
        NODE_CONFIG,
        "snapshots.aws_endpoint_url",
        "snapshots {\ndestination = \"s3://b/c\"\naws_endpoint_url = \"http://127.0.0.1:9000\"\n}",
        "Invalid snapshot store settings",
        &["aws-allow-http"],
    ),
    refused(
        NODE_CONFIG,
        "snapshots.aws_endpoint_url",
        "snapshots {\ndestination = \"s3://b/c\"\naws_endpoint_url = \"127.0.0.1:9000\"\n}",
        "Invalid snapshot store settings",
        &["https://"],
    ),
    refused(
        NODE_CONFIG,
        "snapshots.aws_access_key_id",
        "snapshots {\ndestination = \"s3://b/c\"\naws_access_key_id = \"AKIA\"\n}",
        "Invalid snapshot store settings",
        &["needs its secret access key"],
    ),
    refused(
        NODE_CONFIG,
        "snapshots.aws_secret_access_key",
        "snapshots {\ndestination = \"s3://b/c\"\naws_secret_access_key = \"s\"\n}",
        "Invalid snapshot store settings",
        &["needs its access key id"],
    ),
    refused(
        NODE_CONFIG,
        "snapshots.aws_session_token",
        "snapshots {\ndestination = \"s3://b/c\"\naws_session_token = \"t\"\n}",
        "Invalid snapshot store settings",
        &["temporary access key id"],
    ),
    refused(
        NODE_CONFIG,
        "snapshots.aws_profile",
        "snapshots {\ndestination = \"s3://b/c\"\naws_profile = \"p\"\naws_access_key_id = \"AKIA\"\naws_secret_access_key = \"s\"\n}",
        "Invalid snapshot store settings",
        &["exclude each other"],
    ),
    refused(
        NODE_CONFIG,
        "tls.mode",
        "tls {\nmode = \"strict\"\ncert_file = \"n.pem\"\nkey_file = \"n.key\"\nca_files = [\"ca.pem\"]\n}",
        "Invalid TLS settings",
        &["off, allow, prefer, require"],
    ),
    refused(
        NODE_CONFIG,
        "tls.mode",
        "restate_version = \"1.7.2\"\ntls {\nmode = \"allow\"\ncert_file = \"n.pem\"\nkey_file = \"n.key\"\nca_files = [\"ca.pem\"]\n}",
        "Invalid TLS settings",
        &["1.7.3"],
    ),
    refused(
        NODE_CONFIG,
        "tls.mode",
        "advertised_address = \"http://10.0.0.1:5122\"\ntls {\nmode = \"require\"\ncert_file = \"n.pem\"\nkey_file = \"n.key\"\nca_files = [\"ca.pem\"]\n}",
        "Invalid TLS settings",
        &["https:// advertised_address"],
    ),
    refused(
        NODE_CONFIG,
        "tls.require_client_auth",
        "tls {\nmode = \"allow\"\ncert_file = \"n.pem\"\nkey_file = \"n.key\"\nca_files = [\"ca.pem\"]\nrequire_client_auth = true\n}",
        "Invalid TLS settings",
        &["allowed_subject_names", "[\"*\"]"],
    ),
];

/// What each block needs besides the case (lines whose attribute the case sets are left out).
fn base(on: &str) -> &'static [&'static str] {
    match on {
        CONFIG => &["log_provider = \"replicated\""],
        NODE => &["name = \"n1\"", "roles = [\"worker\"]"],
        GATE => &["node = \"n1\""],
        NODE_CONFIG => &[
            "node_name = \"n1\"",
            "cluster_name = \"c\"",
            "roles = [\"worker\"]",
        ],
        _ => &[],
    }
}

/// Every input attribute (required or optional) of every type in the schema, as
/// (`on`, `attribute`) with `block.attribute` for nested blocks.
fn schema_inputs(schema: &Value) -> BTreeSet<(String, String)> {
    fn walk(on: &str, block: &Value, prefix: &str, out: &mut BTreeSet<(String, String)>) {
        if let Some(attributes) = block["attributes"].as_object() {
            for (name, a) in attributes {
                if a["optional"] == true || a["required"] == true {
                    out.insert((on.to_string(), format!("{prefix}{name}")));
                }
            }
        }
        if let Some(blocks) = block["block_types"].as_object() {
            for (name, b) in blocks {
                walk(on, &b["block"], &format!("{prefix}{name}."), out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(PROVIDER, &schema["provider"]["block"], "", &mut out);
    for (kind, prefix) in [("resource_schemas", ""), ("data_source_schemas", "data.")] {
        for (name, s) in schema[kind].as_object().into_iter().flatten() {
            walk(&format!("{prefix}{name}"), &s["block"], "", &mut out);
        }
    }
    out
}

#[test]
fn every_input_has_its_cases() {
    let inputs = schema_inputs(&provider_schema());
    assert!(inputs.len() > 30, "too few inputs found: {inputs:?}");
    let covered: BTreeSet<(String, String)> = CASES
        .iter()
        .map(|c| (c.on, c.attribute))
        .chain(ANY_VALUE.iter().map(|(on, a, _)| (*on, *a)))
        .map(|(on, a)| (on.to_string(), a.to_string()))
        .collect();
    let missing: Vec<_> = inputs.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "inputs without a bad-input case in tests/inputs.rs (add one, or an ANY_VALUE entry saying \
         why every value is valid): {missing:?}"
    );
    let stale: Vec<_> = covered.difference(&inputs).collect();
    assert!(
        stale.is_empty(),
        "cases for attributes the schema does not have: {stale:?}"
    );
    let both: Vec<_> = CASES
        .iter()
        .map(|c| (c.on, c.attribute))
        .filter(|(on, a)| ANY_VALUE.iter().any(|(o, x, _)| o == on && x == a))
        .collect();
    assert!(
        both.is_empty(),
        "listed as accepting any value, yet with refusals: {both:?}"
    );
}

/// Where a case is in the generated configuration.
struct Placed<'c> {
    case: &'c Case,
    address: String,
    /// 1-based line of main.tf that sets the attribute.
    line: u64,
}

/// One configuration holding every case in a block of its own (an aliased provider per provider
/// case), so that one plan validates them all.
fn configuration(refusing: &str) -> (String, Vec<Placed<'static>>) {
    let mut tf = required_providers();
    tf.push_str(&format!(
        "provider \"restate\" {{\n  endpoints = [\"{refusing}\"]\n}}\n\n"
    ));
    let mut placed = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let name = format!("case_{i}");
        let (header, address, extra) = match case.on {
            PROVIDER => (
                format!("provider \"restate\" {{\n  alias = \"{name}\""),
                format!("provider[\"{PROVIDER_SOURCE}\"].{name}"),
                // A data source that uses the aliased provider, so that Terraform configures it.
                format!("data \"restate_cluster_status\" \"{name}\" {{\n  provider = restate.{name}\n}}\n\n"),
            ),
            on => {
                let (keyword, ty) = match on.strip_prefix("data.") {
                    Some(ty) => ("data", ty),
                    None => ("resource", on),
                };
                (
                    format!("{keyword} \"{ty}\" \"{name}\" {{"),
                    format!("{}{ty}.{name}", if keyword == "data" { "data." } else { "" }),
                    String::new(),
                )
            }
        };
        let mut lines: Vec<String> = vec![header];
        let sets = |line: &str, attr: &str| {
            line.trim_start()
                .strip_prefix(attr)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        };
        let case_attrs: Vec<&str> = case
            .hcl
            .lines()
            .filter_map(|l| l.split_once('=').map(|(a, _)| a.trim()))
            .collect();
        for b in base(case.on) {
            if !case_attrs.iter().any(|a| sets(b, a)) {
                lines.push(format!("  {b}"));
            }
        }
        let leaf = case.attribute.rsplit('.').next().unwrap_or(case.attribute);
        let mut line = None;
        for l in case.hcl.lines() {
            if line.is_none() && sets(l, leaf) {
                let above =
                    tf.lines().count() + lines.iter().map(|l| l.lines().count()).sum::<usize>();
                line = Some(above as u64 + 1);
            }
            lines.push(format!("  {l}"));
        }
        lines.push("}\n".into());
        tf.push_str(&lines.join("\n"));
        tf.push('\n');
        tf.push_str(&extra);
        placed.push(Placed {
            case,
            address,
            line: line.unwrap_or_else(|| panic!("case {i} does not set {leaf}: {}", case.hcl)),
        });
    }
    (tf, placed)
}

fn matches(d: &Diagnostic, p: &Placed) -> bool {
    let leaf = p.case.attribute.rsplit('.').next().unwrap_or_default();
    let severity = match p.case.severity {
        Error => "error",
        Warning => "warning",
    };
    d.severity == severity
        && d.summary == p.case.summary
        && d.address.as_deref() == Some(p.address.as_str())
        && d.attribute() == Some(leaf)
        && d.range
            .as_ref()
            .map(|r| (r.filename.as_str(), r.start_line))
            == Some(("main.tf", p.line))
}

#[test]
fn every_bad_input_is_refused_at_its_attribute_at_plan_time() {
    let refusing = refusing_port();
    let (tf, placed) = configuration(&refusing.url());
    let ws = Workspace::new();
    ws.write(&tf);
    let plan = ws.plan_diagnostics();
    assert_ne!(plan.run.code, 0, "the plan must fail");
    let mut failures = Vec::new();
    for p in &placed {
        match plan.diagnostics.iter().find(|d| matches(d, p)) {
            None => {
                let near: Vec<String> = plan
                    .diagnostics
                    .iter()
                    .filter(|d| d.address.as_deref() == Some(p.address.as_str()))
                    .map(|d| {
                        format!(
                            "{} {:?} at {:?} line {:?}: {}",
                            d.severity,
                            d.summary,
                            d.attribute(),
                            d.range.as_ref().map(|r| r.start_line),
                            d.detail
                        )
                    })
                    .collect();
                failures.push(format!(
                    "{} {} ({}, line {}): no {:?} {:?} there; its diagnostics: {near:#?}",
                    p.case.on, p.case.attribute, p.address, p.line, p.case.severity, p.case.summary
                ));
            }
            Some(d) => {
                for needle in p.case.detail {
                    if !d.detail.contains(needle) {
                        failures.push(format!(
                            "{} {}: {needle:?} not in the detail {:?}",
                            p.case.on, p.case.attribute, d.detail
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}\n\nmain.tf:\n{tf}",
        failures.len(),
        placed.len(),
        failures.join("\n")
    );
}
