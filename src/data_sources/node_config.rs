//! `restate_node_config`: renders a node's `restate.toml` (for a VM's user data) and the same content
//! as `RESTATE_*` environment variables.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, DataSource, Diagnostics};

use crate::domain::role::parse_roles;
use crate::domain::{rules, Endpoint, Location, LogProvider, Replication, Role, Version};
use crate::render::{self, NodeConfigSpec, SnapshotSpec};
use crate::tf::schema::{block, computed, optional, required, schema, sensitive};
use crate::tf::value::{known_str, known_vec};
use crate::tf::{diag, validate};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshots {
    pub destination: Value<String>,
    pub aws_region: Value<String>,
    pub aws_endpoint_url: Value<String>,
    pub aws_allow_http: Value<bool>,
    pub aws_access_key_id: Value<String>,
    pub aws_secret_access_key: Value<String>,
    pub aws_session_token: Value<String>,
    pub aws_profile: Value<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub node_name: Value<String>,
    pub cluster_name: Value<String>,
    pub roles: Value<Vec<Value<String>>>,
    pub advertised_address: Value<String>,
    pub bind_address: Value<String>,
    pub metadata_client_addresses: Value<Vec<Value<String>>>,
    pub auto_provision: Value<bool>,
    pub default_num_partitions: Value<i64>,
    pub default_replication: Value<String>,
    pub log_provider: Value<String>,
    pub location: Value<String>,
    pub restate_version: Value<String>,
    #[serde(with = "crate::tf::value::optional_block")]
    pub snapshots: Value<Snapshots>,
    #[serde(with = "crate::tf::value::optional_block")]
    pub tls: Value<super::node_tls::Tls>,
    pub base_config: Value<String>,
    pub toml: Value<String>,
    pub environment: Value<BTreeMap<String, Value<String>>>,
}

pub struct NodeConfigDataSource;

/// The checked values, for rendering.
struct Checked {
    roles: Option<Vec<Role>>,
    version: Option<Version>,
    default_num_partitions: Option<u32>,
    default_replication: Option<Replication>,
    log_provider: Option<LogProvider>,
}

/// Reports every problem among the values that are known. None when one was reported.
fn check(diags: &mut Diagnostics, c: &State) -> Option<Checked> {
    let before = diags.errors.len();
    validate::name(diags, "node_name", &c.node_name);
    validate::name(diags, "cluster_name", &c.cluster_name);
    let roles = match known_vec(&c.roles) {
        Some(roles) => parse_roles(&roles)
            .map_err(|e| diag::input(diags, AttributePath::new("roles"), "roles", &e))
            .ok(),
        None => None,
    };
    validate::check(diags, "advertised_address", &c.advertised_address, |a| {
        Endpoint::parse(a)
    });
    validate::check(diags, "bind_address", &c.bind_address, |b| {
        rules::bind_address(b)
    });
    validate::check_each(
        diags,
        "metadata_client_addresses",
        &c.metadata_client_addresses,
        |a| Endpoint::parse(a),
    );
    let default_num_partitions = validate::check(
        diags,
        "default_num_partitions",
        &c.default_num_partitions,
        |n| rules::num_partitions(*n),
    );
    let default_replication =
        validate::check(diags, "default_replication", &c.default_replication, |r| {
            Replication::parse_input(r)
        });
    let log_provider = validate::check(diags, "log_provider", &c.log_provider, |p| {
        LogProvider::parse(p)
    });
    validate::check(diags, "location", &c.location, |l| Location::parse(l));
    let version = match &c.restate_version {
        Value::Null => Some(Version::NEWEST_RENDERED),
        v => validate::check(diags, "restate_version", v, |v| Version::renderable(v)),
    };
    if let Value::Value(s) = &c.snapshots {
        check_snapshots(diags, s, version.as_ref(), known_str(&c.cluster_name));
    }
    if let Value::Value(t) = &c.tls {
        super::node_tls::check(diags, t, version.as_ref(), &c.advertised_address);
    }
    if let Value::Value(auto) = c.auto_provision {
        if !c.advertised_address.is_unknown() && !c.metadata_client_addresses.is_unknown() {
            let addrs = known_vec(&c.metadata_client_addresses);
            let own = known_str(&c.advertised_address);
            if let Err(e) = rules::auto_provision(auto, own, addrs.as_deref()) {
                diag::refused(diags, &e);
            }
        }
    }
    if let Some(doc) = validate::check(diags, "base_config", &c.base_config, |t| {
        render::parse_base(t)
    }) {
        // A misspelled table is one warning, not one per key in it.
        render::visit_keys(&doc, |path, _| match rules::base_config_key(path) {
            Some(a) => {
                diag::advice(diags, &a);
                false
            }
            None => true,
        });
    }
    (diags.errors.len() == before).then_some(Checked {
        roles,
        version,
        default_num_partitions,
        default_replication,
        log_provider,
    })
}

/// The snapshot repository settings: the destination for the version, the settings that must
/// go together, and a warning when the destination's prefix does not name the cluster.
fn check_snapshots(
    diags: &mut Diagnostics,
    s: &Snapshots,
    version: Option<&Version>,
    cluster_name: Option<&str>,
) {
    let at = |setting: &str| {
        AttributePath::new("snapshots")
            .index(0)
            .attribute(setting.to_string())
    };
    if let Some(v) = version {
        validate::check_at(
            diags,
            at("destination"),
            "destination",
            &s.destination,
            |d| rules::snapshot_destination(v, d),
        );
    }
    let settings = rules::SnapshotSettings {
        destination: known_str(&s.destination),
        aws_endpoint_url: known_str(&s.aws_endpoint_url),
        aws_allow_http: s.aws_allow_http.as_option(),
        aws_access_key_id: known_str(&s.aws_access_key_id),
        aws_secret_access_key: known_str(&s.aws_secret_access_key),
        aws_session_token: known_str(&s.aws_session_token),
        aws_profile: known_str(&s.aws_profile),
    };
    // Settings still unknown are checked once known.
    let unknown = [
        s.aws_endpoint_url.is_unknown(),
        s.aws_allow_http.is_unknown(),
        s.aws_access_key_id.is_unknown(),
        s.aws_secret_access_key.is_unknown(),
        s.aws_session_token.is_unknown(),
        s.aws_profile.is_unknown(),
    ];
    if !unknown.contains(&true) {
        for (setting, e) in rules::snapshot_settings(&settings) {
            diag::input(diags, at(setting), setting, &e);
        }
    }
    // Only about a destination that is valid otherwise.
    let destination_ok = version.is_some_and(|v| {
        settings
            .destination
            .is_some_and(|d| rules::snapshot_destination(v, d).is_ok())
    });
    if let (Some(d), Some(name), true) = (settings.destination, cluster_name, destination_ok) {
        if let Some(a) = rules::snapshot_prefix_names_cluster(d, name) {
            diag::advice_at(diags, at("destination"), &a);
        }
    }
}

fn opt_string(v: &Value<String>) -> Option<String> {
    known_str(v).map(str::to_string)
}

fn spec_of(c: &State, checked: Checked) -> Option<NodeConfigSpec> {
    let snapshots = match &c.snapshots {
        Value::Value(s) => Some(SnapshotSpec {
            destination: opt_string(&s.destination)?,
            aws_region: opt_string(&s.aws_region),
            aws_endpoint_url: opt_string(&s.aws_endpoint_url),
            aws_allow_http: s.aws_allow_http.as_option(),
            aws_access_key_id: opt_string(&s.aws_access_key_id),
            aws_secret_access_key: opt_string(&s.aws_secret_access_key),
            aws_session_token: opt_string(&s.aws_session_token),
            aws_profile: opt_string(&s.aws_profile),
        }),
        _ => None,
    };
    Some(NodeConfigSpec {
        node_name: opt_string(&c.node_name)?,
        cluster_name: opt_string(&c.cluster_name)?,
        roles: checked.roles?,
        advertised_address: opt_string(&c.advertised_address),
        bind_address: opt_string(&c.bind_address),
        metadata_client_addresses: known_vec(&c.metadata_client_addresses),
        auto_provision: c.auto_provision.as_option().unwrap_or(false),
        default_num_partitions: checked.default_num_partitions,
        default_replication: checked.default_replication,
        log_provider: checked.log_provider,
        location: opt_string(&c.location),
        version: checked.version?,
        snapshots,
        tls: match &c.tls {
            Value::Value(t) => Some(super::node_tls::spec(t)?),
            _ => None,
        },
        base_config: opt_string(&c.base_config),
    })
}

fn snapshots_block() -> tf_provider::schema::NestedBlock {
    use AttributeType::{Bool, String as Str};
    tf_provider::schema::NestedBlock::Optional(block(
        "The snapshot repository (`[worker.snapshots]`).",
        vec![
            (
                "destination",
                required(
                    Str,
                    "`destination`: `s3://bucket/prefix`, `gs://…` or `az://…` (`file://` only before 1.6). \
                     Use a prefix per cluster: a prefix that does not name the cluster is a warning, \
                     since nodes of a cluster with another name refuse the snapshots they find there.",
                ),
            ),
            ("aws_region", optional(Str, "`aws-region`.")),
            (
                "aws_endpoint_url",
                optional(
                    Str,
                    "`aws-endpoint-url`, for S3-compatible stores: an `http://` or `https://` URL; \
                     plain HTTP needs `aws_allow_http = true`.",
                ),
            ),
            (
                "aws_allow_http",
                optional(Bool, "`aws-allow-http`: allow a plain-HTTP endpoint."),
            ),
            (
                "aws_access_key_id",
                sensitive(optional(
                    Str,
                    "`aws-access-key-id`; needs `aws_secret_access_key`, excludes `aws_profile`.",
                )),
            ),
            (
                "aws_secret_access_key",
                sensitive(optional(Str, "`aws-secret-access-key`; needs `aws_access_key_id`.")),
            ),
            (
                "aws_session_token",
                sensitive(optional(
                    Str,
                    "`aws-session-token`, for temporary credentials; needs the temporary key pair.",
                )),
            ),
            (
                "aws_profile",
                optional(
                    Str,
                    "`aws-profile`. With no keys and no profile, the SDK uses the VM's instance role.",
                ),
            ),
        ],
        vec![],
    ))
}

#[async_trait]
impl DataSource for NodeConfigDataSource {
    type State<'a> = State;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, List, Map, Number, Set, String as Str};
        Some(schema(
            "Renders a Restate node's `restate.toml`, to put into a VM's user data, for Restate 1.2 to 1.7 \
             (each version's key names).",
            vec![
                (
                    "node_name",
                    required(Str, "`node-name`; not empty, no surrounding spaces."),
                ),
                (
                    "cluster_name",
                    required(Str, "`cluster-name`; not empty, no surrounding spaces."),
                ),
                (
                    "roles",
                    required(
                        Set(Box::new(Str)),
                        "`roles`: `worker`, `admin`, `metadata-server`, `log-server`, `http-ingress` (at least \
                         one; rendered as `metadata-store` for 1.2).",
                    ),
                ),
                (
                    "advertised_address",
                    optional(
                        Str,
                        "`advertised-address`, the fabric URL other nodes use (`http://10.0.0.2:5122`).",
                    ),
                ),
                (
                    "bind_address",
                    optional(Str, "`bind-address`, IP and port (`0.0.0.0:5122`)."),
                ),
                (
                    "metadata_client_addresses",
                    optional(
                        List(Box::new(Str)),
                        "`[metadata-client] addresses`: fabric URLs of the metadata servers to join.",
                    ),
                ),
                (
                    "auto_provision",
                    optional(
                        Bool,
                        "`auto-provision` (default `false`). Refused unless `metadata_client_addresses` is \
                         unset or names only this node itself: a node that lists other nodes provisions a \
                         cluster of its own when it starts before it sees theirs, so nodes started together \
                         could provision one cluster each. Provision once with `restate_cluster_config` \
                         (`provision = true`) instead.",
                    ),
                ),
                (
                    "default_num_partitions",
                    optional(
                        Number,
                        "`default-num-partitions` (1 to 65535), used when the cluster is provisioned.",
                    ),
                ),
                (
                    "default_replication",
                    optional(
                        Str,
                        "`default-replication` (1.2: the two per-kind keys), used when the cluster is \
                         provisioned; replication grammar as in `restate_cluster_config`.",
                    ),
                ),
                (
                    "log_provider",
                    optional(Str, "`[bifrost] default-provider`: `local` or `replicated`."),
                ),
                (
                    "location",
                    optional(Str, "`location`: `region` or `region.zone`."),
                ),
                (
                    "restate_version",
                    optional(
                        Str,
                        "Restate version the file is for (`1.2` … `1.7`, patch allowed); picks the key names \
                         that version reads. Default: the newest supported.",
                    ),
                ),
                (
                    "base_config",
                    sensitive(optional(
                        Str,
                        "TOML the managed keys are merged into; everything else (comments and order \
                         included) is kept as written. A syntax error is reported with its line and column, \
                         never its text. Sensitive: it may hold secrets.",
                    )),
                ),
                (
                    "toml",
                    sensitive(computed(
                        Str,
                        "The rendered `restate.toml` (sensitive: it holds snapshot keys when given).",
                    )),
                ),
                (
                    "environment",
                    sensitive(computed(
                        Map(Box::new(Str)),
                        "The same content as `RESTATE_*` environment variables (lists as `[a,b]`; arrays of \
                         tables are left out).",
                    )),
                ),
            ],
            vec![
                ("snapshots", snapshots_block()),
                ("tls", super::node_tls::tls_block()),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: State) -> Option<()> {
        check(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: State,
        _meta: ValueEmpty,
    ) -> Option<State> {
        let checked = check(diags, &config)?;
        let Some(spec) = spec_of(&config, checked) else {
            diag::unknown_at_read(
                diags,
                "restate_node_config",
                "node_name, cluster_name and roles",
            );
            return None;
        };
        let rendered = match render::render(&spec) {
            Ok(r) => r,
            Err(e) => {
                diag::input(diags, AttributePath::new("base_config"), "base_config", &e);
                return None;
            }
        };
        let mut state = config;
        state.toml = Value::Value(rendered.toml);
        state.environment = Value::Value(
            rendered
                .environment
                .into_iter()
                .map(|(k, v)| (k, Value::Value(v)))
                .collect(),
        );
        Some(state)
    }
}
