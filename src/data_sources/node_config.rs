//! `restate_node_config`: renders a node's `restate.toml` (for a VM's user data) and the same content
//! as `RESTATE_*` environment variables.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Block, Description, NestedBlock, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, DataSource, Diagnostics};

use crate::config::{self, validate, ConfigError, NodeConfigSpec, RestateVersion, SnapshotSpec};
use crate::tf::{computed, known_i64, known_str, known_vec, optional, required};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshots {
    #[serde(default)]
    pub destination: Value<String>,
    #[serde(default)]
    pub aws_region: Value<String>,
    #[serde(default)]
    pub aws_endpoint_url: Value<String>,
    #[serde(default)]
    pub aws_allow_http: Value<bool>,
    #[serde(default)]
    pub aws_access_key_id: Value<String>,
    #[serde(default)]
    pub aws_secret_access_key: Value<String>,
    #[serde(default)]
    pub aws_profile: Value<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub node_name: Value<String>,
    #[serde(default)]
    pub cluster_name: Value<String>,
    #[serde(default)]
    pub roles: Value<Vec<Value<String>>>,
    #[serde(default)]
    pub advertised_address: Value<String>,
    #[serde(default)]
    pub bind_address: Value<String>,
    #[serde(default)]
    pub metadata_client_addresses: Value<Vec<Value<String>>>,
    #[serde(default)]
    pub auto_provision: Value<bool>,
    #[serde(default)]
    pub default_num_partitions: Value<i64>,
    #[serde(default)]
    pub default_replication: Value<String>,
    #[serde(default)]
    pub log_provider: Value<String>,
    #[serde(default)]
    pub location: Value<String>,
    #[serde(default)]
    pub restate_version: Value<String>,
    #[serde(default, with = "crate::tf::optional_block")]
    pub snapshots: Value<Snapshots>,
    #[serde(default)]
    pub base_config: Value<String>,
    #[serde(default)]
    pub toml: Value<String>,
    #[serde(default)]
    pub environment: Value<BTreeMap<String, Value<String>>>,
}

pub struct NodeConfigDataSource;

fn report(diags: &mut Diagnostics, e: ConfigError) {
    let path = match e.attribute {
        // Point at the line in the block, not at the block.
        "snapshots" => AttributePath::new("snapshots")
            .index(0)
            .attribute("destination"),
        other => AttributePath::new(other),
    };
    diags.error(e.summary, e.detail, path);
}

fn opt_string(v: &Value<String>) -> Option<String> {
    known_str(v).map(str::to_string)
}

/// Reports every problem among the values that are known. Returns the version in use.
fn check(diags: &mut Diagnostics, c: &State) -> Option<RestateVersion> {
    let mut errors = Vec::new();
    for (name, v) in [
        ("node_name", &c.node_name),
        ("cluster_name", &c.cluster_name),
    ] {
        if known_str(v).is_some_and(|s| s.trim().is_empty()) {
            errors.push(ConfigError {
                attribute: name,
                summary: format!("Empty {name}"),
                detail: format!("{name} must not be empty."),
            });
        }
    }
    if let Some(roles) = known_vec(&c.roles) {
        errors.extend(validate::roles(&roles).err());
    }
    if let Some(a) = known_str(&c.advertised_address) {
        errors.extend(validate::fabric_url("advertised_address", a).err());
    }
    if let Some(b) = known_str(&c.bind_address) {
        errors.extend(validate::bind_address(b).err());
    }
    let addrs = known_vec(&c.metadata_client_addresses);
    for a in addrs.iter().flatten() {
        errors.extend(validate::fabric_url("metadata_client_addresses", a).err());
    }
    if let Some(n) = known_i64(&c.default_num_partitions) {
        errors.extend(validate::num_partitions(n).err());
    }
    if let Some(r) = known_str(&c.default_replication) {
        errors.extend(validate::replication("default_replication", r).err());
    }
    if let Some(p) = known_str(&c.log_provider) {
        errors.extend(validate::log_provider(p).err());
    }
    if let Some(l) = known_str(&c.location) {
        errors.extend(validate::location(l).err());
    }
    let version = match &c.restate_version {
        Value::Value(v) => match validate::version(v) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        Value::Null => Some(RestateVersion::NEWEST),
        Value::Unknown => None,
    };
    if let (Value::Value(s), Some(v)) = (&c.snapshots, version) {
        if let Some(d) = known_str(&s.destination) {
            errors.extend(validate::snapshot_destination(v, d).err());
        }
    }
    if let Value::Value(auto) = c.auto_provision {
        if !c.advertised_address.is_unknown() && !c.metadata_client_addresses.is_unknown() {
            errors.extend(
                validate::auto_provision(auto, known_str(&c.advertised_address), addrs.as_deref())
                    .err(),
            );
        }
    }
    if let Some(text) = known_str(&c.base_config) {
        errors.extend(config::parse_base(text).err());
    }
    let ok = errors.is_empty();
    for e in errors {
        report(diags, e);
    }
    ok.then_some(version).flatten()
}

fn spec_of(c: &State, version: RestateVersion) -> Option<NodeConfigSpec> {
    let snapshots = match &c.snapshots {
        Value::Value(s) => Some(SnapshotSpec {
            destination: opt_string(&s.destination)?,
            aws_region: opt_string(&s.aws_region),
            aws_endpoint_url: opt_string(&s.aws_endpoint_url),
            aws_allow_http: s.aws_allow_http.as_option(),
            aws_access_key_id: opt_string(&s.aws_access_key_id),
            aws_secret_access_key: opt_string(&s.aws_secret_access_key),
            aws_profile: opt_string(&s.aws_profile),
        }),
        _ => None,
    };
    Some(NodeConfigSpec {
        node_name: opt_string(&c.node_name)?,
        cluster_name: opt_string(&c.cluster_name)?,
        roles: known_vec(&c.roles)?,
        advertised_address: opt_string(&c.advertised_address),
        bind_address: opt_string(&c.bind_address),
        metadata_client_addresses: known_vec(&c.metadata_client_addresses),
        auto_provision: c.auto_provision.as_option().unwrap_or(false),
        default_num_partitions: known_i64(&c.default_num_partitions).map(|n| n as u16),
        default_replication: opt_string(&c.default_replication),
        log_provider: opt_string(&c.log_provider),
        location: opt_string(&c.location),
        version,
        snapshots,
        base_config: opt_string(&c.base_config),
    })
}

fn snapshots_block() -> Block {
    let s = |text: &str| optional(AttributeType::String, text);
    let secret = |text: &str| {
        let mut a = optional(AttributeType::String, text);
        a.sensitive = true;
        a
    };
    Block {
        version: 0,
        attributes: HashMap::from([
            ("destination".to_string(), required(AttributeType::String, "`[worker.snapshots] destination`: `s3://bucket/prefix`, `gs://…` or `az://…` (`file://` only before 1.6). Use a prefix per cluster.")),
            ("aws_region".to_string(), s("`aws-region`.")),
            ("aws_endpoint_url".to_string(), s("`aws-endpoint-url`, for S3-compatible stores.")),
            ("aws_allow_http".to_string(), optional(AttributeType::Bool, "`aws-allow-http`: allow a plain-HTTP endpoint.")),
            ("aws_access_key_id".to_string(), secret("`aws-access-key-id` (sensitive).")),
            ("aws_secret_access_key".to_string(), secret("`aws-secret-access-key` (sensitive).")),
            ("aws_profile".to_string(), s("`aws-profile`. With no keys and no profile, the SDK uses the VM's instance role.")),
        ]),
        blocks: HashMap::new(),
        description: Description::plain("Snapshot repository ([worker.snapshots])"),
        deprecated: false,
    }
}

#[async_trait]
impl DataSource for NodeConfigDataSource {
    type State<'a> = State;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, List, Map, Number, Set, String as Str};
        let strings = || List(Box::new(Str));
        let mut toml = computed(
            Str,
            "The rendered `restate.toml` (sensitive: it holds snapshot keys when given).",
        );
        toml.sensitive = true;
        let mut env = computed(Map(Box::new(Str)), "The same content as `RESTATE_*` environment variables (lists as `[a,b]`; arrays of tables are left out).");
        env.sensitive = true;
        let attributes = HashMap::from([
            ("node_name".to_string(), required(Str, "`node-name`.")),
            ("cluster_name".to_string(), required(Str, "`cluster-name`.")),
            ("roles".to_string(), required(Set(Box::new(Str)), "`roles`: worker, admin, metadata-server, log-server, http-ingress.")),
            ("advertised_address".to_string(), optional(Str, "`advertised-address`, the fabric URL other nodes use (`http://10.0.0.2:5122`).")),
            ("bind_address".to_string(), optional(Str, "`bind-address`, IP and port (`0.0.0.0:5122`).")),
            ("metadata_client_addresses".to_string(), optional(strings(), "`[metadata-client] addresses`: fabric URLs of the metadata servers to join.")),
            ("auto_provision".to_string(), optional(Bool, "`auto-provision` (default `false`). Must stay false on a node joining others, or it provisions a second cluster of the same name.")),
            ("default_num_partitions".to_string(), optional(Number, "`default-num-partitions`, used when the cluster is provisioned.")),
            ("default_replication".to_string(), optional(Str, "`default-replication` (1.2: the two per-kind keys), used when the cluster is provisioned.")),
            ("log_provider".to_string(), optional(Str, "`[bifrost] default-provider`: `local` or `replicated`.")),
            ("location".to_string(), optional(Str, "`location`: `region` or `region.zone`.")),
            ("restate_version".to_string(), optional(Str, "Restate version the file is for (`1.2` … `1.7`, patch allowed); picks the key names that version reads. Default: the newest supported.")),
            ("base_config".to_string(), optional(Str, "TOML the managed keys are merged into; everything else is kept as written.")),
            ("toml".to_string(), toml),
            ("environment".to_string(), env),
        ]);
        Some(Schema {
            version: 0,
            block: Block {
                version: 0,
                attributes,
                blocks: HashMap::from([(
                    "snapshots".to_string(),
                    NestedBlock::Optional(snapshots_block()),
                )]),
                description: Description::markdown(
                    "Renders a Restate node's `restate.toml`, to put into a VM's user data.",
                ),
                deprecated: false,
            },
        })
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
        let version = check(diags, &config)?;
        let Some(spec) = spec_of(&config, version) else {
            diags.root_error_short(
                "restate_node_config needs node_name, cluster_name and roles to be known",
            );
            return None;
        };
        let rendered = match config::render(&spec) {
            Ok(r) => r,
            Err(e) => {
                report(diags, e);
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
