//! Rendering a node's `restate.toml` (and the same content as `RESTATE_*` environment variables).
//!
//! The keys this module manages overwrite the same keys of the operator's base config; everything
//! else in the base config is kept as written, comments and order included (`toml_edit`).

pub mod validate;
pub mod version;

use std::collections::BTreeMap;

use toml_edit::{Array, DocumentMut, Item, Table, Value};

pub use version::RestateVersion;

use crate::client::Replication;

/// `[worker.snapshots]`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotSpec {
    pub destination: String,
    pub aws_region: Option<String>,
    pub aws_endpoint_url: Option<String>,
    pub aws_allow_http: Option<bool>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub aws_profile: Option<String>,
}

/// Everything that goes into one node's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfigSpec {
    pub node_name: String,
    pub cluster_name: String,
    pub roles: Vec<String>,
    pub advertised_address: Option<String>,
    pub bind_address: Option<String>,
    pub metadata_client_addresses: Option<Vec<String>>,
    pub auto_provision: bool,
    pub default_num_partitions: Option<u16>,
    pub default_replication: Option<String>,
    pub log_provider: Option<String>,
    pub location: Option<String>,
    pub version: RestateVersion,
    pub snapshots: Option<SnapshotSpec>,
    pub base_config: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub toml: String,
    pub environment: BTreeMap<String, String>,
}

/// A problem with one input, named by its Terraform attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub attribute: &'static str,
    pub summary: String,
    pub detail: String,
}

/// Parses a base config, reporting the line and column of a syntax error.
pub fn parse_base(text: &str) -> Result<DocumentMut, ConfigError> {
    text.parse::<DocumentMut>().map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        ConfigError {
            attribute: "base_config",
            summary: "Invalid TOML in base_config".into(),
            detail: format!("line {line}, column {col}: {}", e.message()),
        }
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Sets `path` (table names, then key) to `value`, creating tables as needed and replacing a
/// non-table value that stands in the way.
fn set(doc: &mut DocumentMut, path: &[&str], value: impl Into<Value>) {
    let (key, tables) = path.split_last().expect("non-empty path");
    let mut table: &mut Table = doc.as_table_mut();
    for name in tables {
        let item = table.entry(name).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        if let Item::Value(Value::InlineTable(inline)) = item {
            // An inline table in the base config: turn it into a regular table to extend it.
            *item = Item::Table(std::mem::take(inline).into_table());
        }
        if !item.is_table() {
            let mut t = Table::new();
            t.set_implicit(true);
            *item = Item::Table(t);
        }
        table = item.as_table_mut().expect("just made a table");
    }
    let mut v: Value = value.into();
    match table.get_mut(key) {
        // Replace in place: the key keeps the comments above it, the value its trailing comment.
        Some(Item::Value(old)) => {
            *v.decor_mut() = old.decor().clone();
            *old = v;
        }
        _ => {
            table.insert(key, Item::Value(v));
        }
    }
}

fn string_array(items: &[String]) -> Array {
    items.iter().map(String::as_str).collect()
}

/// Renders the node's configuration. Inputs are assumed validated (see [`validate`]); only the
/// base config can still fail to parse.
pub fn render(spec: &NodeConfigSpec) -> Result<Rendered, ConfigError> {
    let mut doc = match &spec.base_config {
        Some(text) => parse_base(text)?,
        None => DocumentMut::new(),
    };
    let v = spec.version;
    set(&mut doc, &["node-name"], spec.node_name.as_str());
    set(&mut doc, &["cluster-name"], spec.cluster_name.as_str());
    let roles: Vec<String> = spec
        .roles
        .iter()
        .map(|r| {
            if r == "metadata-server" {
                v.metadata_role().to_string()
            } else {
                r.clone()
            }
        })
        .collect();
    set(&mut doc, &["roles"], string_array(&roles));
    set(&mut doc, &["auto-provision"], spec.auto_provision);
    if let Some(a) = &spec.advertised_address {
        set(&mut doc, &["advertised-address"], a.as_str());
    }
    if let Some(b) = &spec.bind_address {
        set(&mut doc, &["bind-address"], b.as_str());
    }
    if let Some(n) = spec.default_num_partitions {
        set(&mut doc, &["default-num-partitions"], n as i64);
    }
    if let Some(r) = &spec.default_replication {
        let canonical = r
            .parse::<Replication>()
            .map_or(r.clone(), |r| r.to_string());
        if v.has_default_replication() {
            set(&mut doc, &["default-replication"], canonical);
        } else {
            // 1.2: partition replication is a tagged enum (`everywhere` or `{ limit = "..." }`).
            let mut limit = toml_edit::InlineTable::new();
            limit.insert("limit", canonical.as_str().into());
            set(&mut doc, &["admin", "default-partition-replication"], limit);
            set(
                &mut doc,
                &["bifrost", "replicated-loglet", "default-log-replication"],
                canonical,
            );
        }
    }
    if let Some(p) = &spec.log_provider {
        set(&mut doc, &["bifrost", "default-provider"], p.as_str());
    }
    if let Some(l) = &spec.location {
        set(&mut doc, &["location"], l.as_str());
    }
    if let Some(addrs) = &spec.metadata_client_addresses {
        set(
            &mut doc,
            &["metadata-client", "addresses"],
            string_array(addrs),
        );
    }
    if v.has_metadata_server_type() && spec.roles.iter().any(|r| r == "metadata-server") {
        // Up to 1.3 a multi-node cluster needs the replicated (Raft) metadata server.
        set(&mut doc, &["metadata-server", "type"], "replicated");
    }
    if let Some(s) = &spec.snapshots {
        let base = ["worker", "snapshots"];
        let key = |k: &'static str| [base[0], base[1], k];
        set(&mut doc, &key("destination"), s.destination.as_str());
        for (k, val) in [
            ("aws-region", &s.aws_region),
            ("aws-endpoint-url", &s.aws_endpoint_url),
            ("aws-access-key-id", &s.aws_access_key_id),
            ("aws-secret-access-key", &s.aws_secret_access_key),
            ("aws-profile", &s.aws_profile),
        ] {
            if let Some(val) = val {
                set(&mut doc, &key(k), val.as_str());
            }
        }
        if let Some(allow) = s.aws_allow_http {
            set(&mut doc, &key("aws-allow-http"), allow);
        }
    }
    let toml = doc.to_string();
    let environment = environment(&doc);
    Ok(Rendered { toml, environment })
}

/// The document as `RESTATE_*` variables: `RESTATE_` + the key path upper-cased, `-` as `_`,
/// tables joined with `__`; lists as `[a,b]`. Arrays of tables have no such form and are left out.
pub fn environment(doc: &DocumentMut) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten(doc.as_table(), &mut Vec::new(), &mut out);
    out
}

fn env_name(path: &[String]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|p| p.to_uppercase().replace('-', "_"))
        .collect();
    format!("RESTATE_{}", parts.join("__"))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.value().clone(),
        Value::Integer(i) => i.value().to_string(),
        Value::Float(f) => f.value().to_string(),
        Value::Boolean(b) => b.value().to_string(),
        Value::Datetime(d) => d.value().to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(scalar).collect::<Vec<_>>().join(",")),
        Value::InlineTable(t) => t.to_string(),
    }
}

fn flatten(
    table: &dyn toml_edit::TableLike,
    path: &mut Vec<String>,
    out: &mut BTreeMap<String, String>,
) {
    for (k, item) in table.iter() {
        path.push(k.to_string());
        match item {
            Item::Table(t) => flatten(t, path, out),
            Item::Value(Value::InlineTable(t)) => flatten(t, path, out),
            Item::Value(v) => {
                out.insert(env_name(path), scalar(v));
            }
            Item::ArrayOfTables(_) | Item::None => {}
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(version: &str) -> NodeConfigSpec {
        NodeConfigSpec {
            node_name: "n2".into(),
            cluster_name: "my-cluster".into(),
            roles: vec![
                "worker".into(),
                "admin".into(),
                "metadata-server".into(),
                "log-server".into(),
            ],
            advertised_address: Some("http://10.0.0.2:5122".into()),
            bind_address: Some("0.0.0.0:5122".into()),
            metadata_client_addresses: Some(vec!["http://10.0.0.1:5122".into()]),
            auto_provision: false,
            default_num_partitions: Some(24),
            default_replication: Some("2".into()),
            log_provider: Some("replicated".into()),
            location: Some("us-east-1.us-east-1a".into()),
            version: RestateVersion::parse(version).unwrap(),
            snapshots: Some(SnapshotSpec {
                destination: "s3://bucket/prefix".into(),
                aws_region: Some("us-east-1".into()),
                aws_endpoint_url: Some("http://127.0.0.1:9000".into()),
                aws_allow_http: Some(true),
                aws_access_key_id: Some("AKID".into()),
                aws_secret_access_key: Some("SECRET".into()),
                aws_profile: None,
            }),
            base_config: None,
        }
    }

    #[test]
    fn renders_1_7() {
        let r = render(&spec("1.7")).unwrap();
        assert_eq!(
            r.toml,
            r#"node-name = "n2"
cluster-name = "my-cluster"
roles = ["worker", "admin", "metadata-server", "log-server"]
auto-provision = false
advertised-address = "http://10.0.0.2:5122"
bind-address = "0.0.0.0:5122"
default-num-partitions = 24
default-replication = "{node: 2}"
location = "us-east-1.us-east-1a"

[bifrost]
default-provider = "replicated"

[metadata-client]
addresses = ["http://10.0.0.1:5122"]

[worker.snapshots]
destination = "s3://bucket/prefix"
aws-region = "us-east-1"
aws-endpoint-url = "http://127.0.0.1:9000"
aws-access-key-id = "AKID"
aws-secret-access-key = "SECRET"
aws-allow-http = true
"#
        );
        assert_eq!(
            r.environment["RESTATE_ROLES"],
            "[worker,admin,metadata-server,log-server]"
        );
        assert_eq!(
            r.environment["RESTATE_METADATA_CLIENT__ADDRESSES"],
            "[http://10.0.0.1:5122]"
        );
        assert_eq!(
            r.environment["RESTATE_WORKER__SNAPSHOTS__AWS_ALLOW_HTTP"],
            "true"
        );
        assert_eq!(r.environment["RESTATE_AUTO_PROVISION"], "false");
        assert_eq!(
            r.environment["RESTATE_BIFROST__DEFAULT_PROVIDER"],
            "replicated"
        );
    }

    #[test]
    fn renders_1_3_with_the_replicated_metadata_server() {
        let r = render(&spec("1.3.2")).unwrap();
        assert!(
            r.toml.contains("default-replication = \"{node: 2}\""),
            "{}",
            r.toml
        );
        assert!(
            r.toml.contains("[metadata-server]\ntype = \"replicated\""),
            "{}",
            r.toml
        );
        assert!(r.toml.contains("\"metadata-server\""), "{}", r.toml);
        assert_eq!(r.environment["RESTATE_METADATA_SERVER__TYPE"], "replicated");
    }

    #[test]
    fn renders_1_2_with_its_own_key_names() {
        let r = render(&spec("1.2")).unwrap();
        assert!(!r.toml.contains("default-replication ="), "{}", r.toml);
        assert!(
            r.toml
                .contains("[admin]\ndefault-partition-replication = { limit = \"{node: 2}\" }"),
            "{}",
            r.toml
        );
        assert!(
            r.toml
                .contains("[bifrost.replicated-loglet]\ndefault-log-replication = \"{node: 2}\""),
            "{}",
            r.toml
        );
        assert!(
            r.toml
                .contains("roles = [\"worker\", \"admin\", \"metadata-store\", \"log-server\"]"),
            "{}",
            r.toml
        );
        assert!(
            r.toml.contains("[metadata-server]\ntype = \"replicated\""),
            "{}",
            r.toml
        );
        assert!(
            r.toml.contains("auto-provision = false"),
            "1.2 already reads auto-provision: {}",
            r.toml
        );
        assert_eq!(
            r.environment["RESTATE_ADMIN__DEFAULT_PARTITION_REPLICATION__LIMIT"],
            "{node: 2}"
        );
    }

    #[test]
    fn no_metadata_server_type_from_1_4() {
        for v in ["1.4", "1.5", "1.6", "1.7"] {
            assert!(!render(&spec(v)).unwrap().toml.contains("type ="), "{v}");
        }
    }

    #[test]
    fn base_config_is_kept_and_managed_keys_win() {
        let mut s = spec("1.7");
        s.snapshots = None;
        s.base_config = Some(
            r#"# operator's settings
node-name = "old"   # replaced
base-dir = "/var/lib/restate"

[admin]
# the admin API
bind-address = "0.0.0.0:9070"

[bifrost]
default-provider = "local" # the guide's start
"#
            .into(),
        );
        let r = render(&s).unwrap();
        assert!(r.toml.starts_with("# operator's settings\nnode-name = \"n2\"   # replaced\nbase-dir = \"/var/lib/restate\"\n"), "{}", r.toml);
        assert!(
            r.toml
                .contains("[admin]\n# the admin API\nbind-address = \"0.0.0.0:9070\"\n"),
            "{}",
            r.toml
        );
        assert!(
            r.toml
                .contains("default-provider = \"replicated\" # the guide's start"),
            "{}",
            r.toml
        );
        assert_eq!(r.environment["RESTATE_BASE_DIR"], "/var/lib/restate");
        assert_eq!(r.environment["RESTATE_ADMIN__BIND_ADDRESS"], "0.0.0.0:9070");
        // the rendered file parses back
        r.toml.parse::<DocumentMut>().unwrap();
    }

    #[test]
    fn a_bad_base_config_reports_line_and_column() {
        let mut s = spec("1.7");
        s.base_config = Some("a = 1\nb = = 2\n".into());
        let e = render(&s).unwrap_err();
        assert_eq!(e.attribute, "base_config");
        assert!(e.detail.starts_with("line 2, column 5"), "{}", e.detail);
    }
}
