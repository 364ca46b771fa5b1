//! Rendering a node's `restate.toml` (and the same content as `RESTATE_*` environment variables)
//! for a version of Restate, merged into the operator's base config.

mod env;
mod toml;

use std::collections::BTreeMap;

use toml_edit::{DocumentMut, InlineTable};

pub(crate) use self::env::{environment, visit_keys};
pub use self::toml::parse_base;
use self::toml::{set, string_array};
use crate::domain::tls::TlsMode;
use crate::domain::{Error, LogProvider, Replication, Role, Version};

/// `[worker.snapshots]`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotSpec {
    pub destination: String,
    pub aws_region: Option<String>,
    pub aws_endpoint_url: Option<String>,
    pub aws_allow_http: Option<bool>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub aws_session_token: Option<String>,
    pub aws_profile: Option<String>,
}

/// `[tls]` (1.7.3 and later): TLS on the fabric port, for peers and for this provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSpec {
    pub mode: TlsMode,
    pub cert_file: String,
    pub key_file: String,
    pub ca_files: Vec<String>,
    pub require_client_auth: Option<bool>,
    pub allowed_subject_names: Option<Vec<String>>,
}

/// Everything that goes into one node's configuration; values already checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfigSpec {
    pub node_name: String,
    pub cluster_name: String,
    pub roles: Vec<Role>,
    pub advertised_address: Option<String>,
    pub bind_address: Option<String>,
    pub metadata_client_addresses: Option<Vec<String>>,
    pub auto_provision: bool,
    pub default_num_partitions: Option<u32>,
    pub default_replication: Option<Replication>,
    pub log_provider: Option<LogProvider>,
    pub location: Option<String>,
    pub version: Version,
    pub snapshots: Option<SnapshotSpec>,
    pub tls: Option<TlsSpec>,
    pub base_config: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub toml: String,
    pub environment: BTreeMap<String, String>,
}

/// Renders the node's configuration. Only the base config can still fail (to parse).
pub fn render(spec: &NodeConfigSpec) -> Result<Rendered, Error> {
    let mut doc = match &spec.base_config {
        Some(text) => parse_base(text)?,
        None => DocumentMut::new(),
    };
    let v = &spec.version;
    set(&mut doc, &[], "node-name", spec.node_name.as_str());
    set(&mut doc, &[], "cluster-name", spec.cluster_name.as_str());
    let roles: Vec<&str> = spec.roles.iter().map(|r| r.spelled_for(v)).collect();
    set(&mut doc, &[], "roles", string_array(&roles));
    set(&mut doc, &[], "auto-provision", spec.auto_provision);
    if let Some(a) = &spec.advertised_address {
        set(&mut doc, &[], "advertised-address", a.as_str());
    }
    if let Some(b) = &spec.bind_address {
        set(&mut doc, &[], "bind-address", b.as_str());
    }
    if let Some(n) = spec.default_num_partitions {
        set(&mut doc, &[], "default-num-partitions", i64::from(n));
    }
    if let Some(r) = &spec.default_replication {
        let r = r.to_string();
        if v.has_default_replication() {
            set(&mut doc, &[], "default-replication", r);
        } else {
            // 1.2: partition replication is a tagged enum (`everywhere` or `{ limit = "..." }`).
            let mut limit = InlineTable::new();
            limit.insert("limit", r.as_str().into());
            set(&mut doc, &["admin"], "default-partition-replication", limit);
            set(
                &mut doc,
                &["bifrost", "replicated-loglet"],
                "default-log-replication",
                r,
            );
        }
    }
    if let Some(p) = &spec.log_provider {
        set(&mut doc, &["bifrost"], "default-provider", p.as_str());
    }
    if let Some(l) = &spec.location {
        set(&mut doc, &[], "location", l.as_str());
    }
    if let Some(addrs) = &spec.metadata_client_addresses {
        set(
            &mut doc,
            &["metadata-client"],
            "addresses",
            string_array(addrs),
        );
    }
    if v.has_metadata_server_type() && spec.roles.contains(&Role::MetadataServer) {
        // Up to 1.3 a multi-node cluster needs the replicated (Raft) metadata server.
        set(&mut doc, &["metadata-server"], "type", "replicated");
    }
    if let Some(s) = &spec.snapshots {
        let table = ["worker", "snapshots"];
        set(&mut doc, &table, "destination", s.destination.as_str());
        for (k, val) in [
            ("aws-region", &s.aws_region),
            ("aws-endpoint-url", &s.aws_endpoint_url),
            ("aws-access-key-id", &s.aws_access_key_id),
            ("aws-secret-access-key", &s.aws_secret_access_key),
            ("aws-session-token", &s.aws_session_token),
            ("aws-profile", &s.aws_profile),
        ] {
            if let Some(val) = val {
                set(&mut doc, &table, k, val.as_str());
            }
        }
        if let Some(allow) = s.aws_allow_http {
            set(&mut doc, &table, "aws-allow-http", allow);
        }
    }
    if let Some(t) = &spec.tls {
        let table = ["tls"];
        set(&mut doc, &table, "mode", t.mode.as_str());
        set(&mut doc, &table, "cert-file", t.cert_file.as_str());
        set(&mut doc, &table, "key-file", t.key_file.as_str());
        set(&mut doc, &table, "ca-files", string_array(&t.ca_files));
        if let Some(auth) = t.require_client_auth {
            set(&mut doc, &table, "require-client-auth", auth);
        }
        if let Some(names) = &t.allowed_subject_names {
            set(
                &mut doc,
                &table,
                "allowed-subject-names",
                string_array(names),
            );
        }
    }
    Ok(Rendered {
        toml: doc.to_string(),
        environment: env::environment(&doc),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(version: &str) -> NodeConfigSpec {
        NodeConfigSpec {
            node_name: "n2".into(),
            cluster_name: "my-cluster".into(),
            roles: vec![
                Role::Worker,
                Role::Admin,
                Role::MetadataServer,
                Role::LogServer,
            ],
            advertised_address: Some("http://10.0.0.2:5122".into()),
            bind_address: Some("0.0.0.0:5122".into()),
            metadata_client_addresses: Some(vec!["http://10.0.0.1:5122".into()]),
            auto_provision: false,
            default_num_partitions: Some(24),
            default_replication: Some(Replication::nodes(2)),
            log_provider: Some(LogProvider::Replicated),
            location: Some("us-east-1.us-east-1a".into()),
            version: Version::renderable(version).unwrap(),
            snapshots: Some(SnapshotSpec {
                destination: "s3://bucket/prefix".into(),
                aws_region: Some("us-east-1".into()),
                aws_endpoint_url: Some("http://127.0.0.1:9000".into()),
                aws_allow_http: Some(true),
                aws_access_key_id: Some("AKID".into()),
                aws_secret_access_key: Some("SECRET".into()),
                aws_session_token: Some("TOKEN".into()),
                aws_profile: None,
            }),
            tls: None,
            base_config: None,
        }
    }

    #[test]
    fn renders_the_tls_section() {
        let mut s = spec("1.7.12");
        s.tls = Some(TlsSpec {
            mode: TlsMode::Require,
            cert_file: "/etc/restate/node.pem".into(),
            key_file: "/etc/restate/node.key".into(),
            ca_files: vec!["/etc/restate/ca.pem".into()],
            require_client_auth: Some(true),
            allowed_subject_names: Some(vec!["restate-*".into()]),
        });
        let r = render(&s).unwrap();
        assert!(
            r.toml.ends_with(
                "[tls]\nmode = \"require\"\ncert-file = \"/etc/restate/node.pem\"\n\
                 key-file = \"/etc/restate/node.key\"\nca-files = [\"/etc/restate/ca.pem\"]\n\
                 require-client-auth = true\nallowed-subject-names = [\"restate-*\"]\n"
            ),
            "{}",
            r.toml
        );
        assert_eq!(r.environment["RESTATE_TLS__MODE"], "require");
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
aws-session-token = "TOKEN"
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
        parse_base(&r.toml).unwrap();
    }

    #[test]
    fn a_value_where_a_managed_table_goes_becomes_a_table_that_parses() {
        // Found by the property tests (src/fuzzing.rs): the comment above `bifrost = "local"`
        // was kept as decor of the key, and landed inside the header: `[# the guide's\nbifrost ]`.
        let mut s = spec("1.7.12");
        s.snapshots = None;
        s.base_config = Some(
            "# the guide's provider\nbifrost = \"local\"\n# old TLS\n tls = { mode = \"off\", extra = 1 }\n"
                .into(),
        );
        s.tls = Some(TlsSpec {
            mode: TlsMode::Allow,
            cert_file: "c".into(),
            key_file: "k".into(),
            ca_files: vec![],
            require_client_auth: None,
            allowed_subject_names: None,
        });
        let r = render(&s).unwrap();
        parse_base(&r.toml).unwrap_or_else(|e| panic!("{e}:\n{}", r.toml));
        assert!(
            r.toml
                .contains("# the guide's provider\n[bifrost]\ndefault-provider = \"replicated\"\n"),
            "{}",
            r.toml
        );
        assert!(
            r.toml
                .contains("# old TLS\n [tls]\nmode = \"allow\"\nextra = 1\n"),
            "{}",
            r.toml
        );
        assert_eq!(r.environment["RESTATE_TLS__EXTRA"], "1");
        assert_eq!(r.environment["RESTATE_TLS__MODE"], "allow");
    }

    #[test]
    fn a_bad_base_config_reports_line_and_column() {
        let mut s = spec("1.7");
        s.base_config = Some("a = 1\nb = = 2\n".into());
        let e = render(&s).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidToml {
                    line: 2,
                    column: 5,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("line 2, column 5"), "{e}");
    }
}
