//! `restate_node`: waits until a node has joined the cluster with the intended roles (and version),
//! and tracks it in state. The node itself is started elsewhere (a VM with the rendered config).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Block, Description, NestedBlock, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::client::upgrade::{check_upgrade, BinaryVersion};
use crate::client::{ClusterView, NodeView};
use crate::config::validate;
use crate::provider::Shared;
use crate::tf::{self, computed, known_str, optional, required};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    #[serde(default)]
    pub create: Value<String>,
    #[serde(default)]
    pub update: Value<String>,
    #[serde(default)]
    pub delete: Value<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub id: Value<String>,
    #[serde(default)]
    pub name: Value<String>,
    #[serde(default)]
    pub roles: Value<Vec<Value<String>>>,
    #[serde(default)]
    pub expected_version: Value<String>,
    #[serde(default, with = "crate::tf::optional_block")]
    pub timeouts: Value<Timeouts>,
    #[serde(default)]
    pub node_id: Value<i64>,
    #[serde(default)]
    pub generation: Value<i64>,
    #[serde(default)]
    pub alive: Value<bool>,
    #[serde(default)]
    pub binary_version: Value<String>,
    #[serde(default)]
    pub address: Value<String>,
    #[serde(default)]
    pub log_server_storage_state: Value<String>,
    #[serde(default)]
    pub worker_state: Value<String>,
    #[serde(default)]
    pub metadata_server_state: Value<String>,
}

pub struct NodeResource {
    shared: Arc<Shared>,
}

impl NodeResource {
    pub fn new(shared: Arc<Shared>) -> Self {
        NodeResource { shared }
    }
}

/// Role names as 1.7 spells them (1.2 reports the metadata role as `metadata-store`).
fn normalize_role(r: &str) -> String {
    if r == "metadata-store" {
        "metadata-server".into()
    } else {
        r.to_string()
    }
}

fn role_set(v: &Value<Vec<Value<String>>>) -> Option<BTreeSet<String>> {
    tf::known_vec(v).map(|roles| roles.iter().map(|r| normalize_role(r)).collect())
}

fn reported_roles(n: &NodeView) -> BTreeSet<String> {
    n.record.roles.iter().map(|r| normalize_role(r)).collect()
}

fn find<'a>(view: &'a ClusterView, name: &str) -> Option<&'a NodeView> {
    view.nodes.iter().find(|n| n.record.name == name)
}

/// What the cluster reports about `name`, for messages.
fn describe(view: &ClusterView, name: &str) -> String {
    match find(view, name) {
        Some(n) => format!(
            "node {name} is N{}:{} with roles [{}], {}, version {}, log-server storage {}, worker {}, metadata server {}",
            n.record.node_id,
            n.record.generation,
            reported_roles(n).into_iter().collect::<Vec<_>>().join(", "),
            if n.alive { "alive" } else { "not alive" },
            or_none(&n.record.binary_version),
            or_none(&n.record.log_server_storage_state),
            or_none(&n.record.worker_state),
            or_none(&n.record.metadata_server_state),
        ),
        None => {
            let names: Vec<&str> = view.nodes.iter().map(|n| n.record.name.as_str()).collect();
            format!(
                "no node named {name} is part of cluster \"{}\" (its nodes: {})",
                view.cluster_name,
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )
        }
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// Whether the node is there as wanted; the reason it is not, otherwise.
fn ready(view: &ClusterView, want: &State) -> Result<(), String> {
    let name = known_str(&want.name).unwrap_or_default();
    let node = find(view, name).ok_or_else(|| describe(view, name))?;
    if !node.alive {
        return Err(describe(view, name));
    }
    if let Some(roles) = role_set(&want.roles) {
        if reported_roles(node) != roles {
            return Err(describe(view, name));
        }
    }
    // A role still provisioning is not usable yet (a log server takes writes once read-write).
    let has = |r: &str| node.record.has_role(r);
    if (has("log-server") && node.record.log_server_storage_state == "provisioning")
        || (has("worker") && node.record.worker_state == "provisioning")
    {
        return Err(describe(view, name));
    }
    if let Some(v) = known_str(&want.expected_version).and_then(BinaryVersion::parse) {
        let reported = BinaryVersion::parse(&node.record.binary_version);
        if !reported.is_some_and(|r| v.matches(&r)) {
            return Err(describe(view, name));
        }
    }
    Ok(())
}

/// Copies what the cluster reports into the computed attributes (and `roles`, so drift shows).
fn absorb(state: &mut State, n: &NodeView) {
    state.id = Value::Value(n.record.name.clone());
    state.name = Value::Value(n.record.name.clone());
    let mut roles: Vec<String> = reported_roles(n).into_iter().collect();
    roles.sort();
    state.roles = Value::Value(roles.into_iter().map(Value::Value).collect());
    state.node_id = Value::Value(n.record.node_id as i64);
    state.generation = Value::Value(n.record.generation as i64);
    state.alive = Value::Value(n.alive);
    state.binary_version = Value::Value(n.record.binary_version.clone());
    state.address = Value::Value(n.record.address.clone());
    state.log_server_storage_state = Value::Value(n.record.log_server_storage_state.clone());
    state.worker_state = Value::Value(n.record.worker_state.clone());
    state.metadata_server_state = Value::Value(n.record.metadata_server_state.clone());
}

fn check_config(diags: &mut Diagnostics, c: &State) {
    if known_str(&c.name).is_some_and(|s| s.trim().is_empty()) {
        diags.error(
            "Empty name",
            "name must be the node's node-name.",
            AttributePath::new("name"),
        );
    }
    if let Some(roles) = tf::known_vec(&c.roles) {
        if let Err(e) = validate::roles(&roles) {
            diags.error(e.summary, e.detail, AttributePath::new("roles"));
        }
    }
    if let Some(v) = known_str(&c.expected_version) {
        if BinaryVersion::parse(v).is_none() {
            diags.error(
                "Invalid expected_version",
                format!("\"{v}\" is not a version; write it like \"1.7.12\" (or \"1.7\" for any 1.7 release)."),
                AttributePath::new("expected_version"),
            );
        }
    }
    if let Value::Value(t) = &c.timeouts {
        let ops = [
            ("create", &t.create),
            ("update", &t.update),
            ("delete", &t.delete),
        ];
        tf::check_timeouts(diags, &ops);
    }
}

impl NodeResource {
    /// The upgrade rule for `expected_version`, checked when the cluster answers quickly (at plan
    /// time its nodes may not exist yet).
    async fn check_version_plan(&self, diags: &mut Diagnostics, planned: &State) {
        let Some(target) = known_str(&planned.expected_version).and_then(BinaryVersion::parse)
        else {
            return;
        };
        let Some(client) = self.shared.client_if_known() else {
            return;
        };
        let probe = self.shared.cluster_view(&client, false);
        let Ok(Ok(view)) = tokio::time::timeout(Duration::from_secs(3), probe).await else {
            return;
        };
        let running: Vec<BinaryVersion> = view
            .nodes
            .iter()
            .filter_map(|n| BinaryVersion::parse(&n.record.binary_version))
            .collect();
        if let Err(e) = check_upgrade(&target, &running) {
            diags.error(
                "Unsupported version change",
                e,
                AttributePath::new("expected_version"),
            );
        }
    }

    /// Polls the cluster until the node is there as wanted, or the timeout passes.
    async fn wait(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        timeout: Duration,
    ) -> Option<State> {
        let client = self.shared.client(diags)?;
        let name = known_str(&planned.name).unwrap_or_default().to_string();
        let started = Instant::now();
        loop {
            let outcome = match self.shared.cluster_view(&client, true).await {
                Ok(view) => match ready(&view, &planned) {
                    Ok(()) => {
                        let mut state = planned;
                        if let Some(n) = find(&view, &name) {
                            absorb(&mut state, n);
                        }
                        return Some(state);
                    }
                    Err(why) => why,
                },
                Err(e)
                    if e.is_transient()
                        || matches!(e, crate::client::Error::NotProvisioned { .. }) =>
                {
                    format!("the cluster could not be read: {e}")
                }
                Err(e) => {
                    tf::client_error(diags, "Reading the cluster failed", &e);
                    return None;
                }
            };
            if started.elapsed() >= timeout {
                let roles = role_set(&planned.roles).unwrap_or_default();
                let version = known_str(&planned.expected_version)
                    .map(|v| format!(", version {v}"))
                    .unwrap_or_default();
                diags.error(
                    format!("Node {name} did not join as intended"),
                    format!(
                        "Waited {} for node {name} to be alive with roles [{}]{version}. Now {outcome}. Check \
                         that the node runs with the rendered configuration (same cluster-name, \
                         metadata-client addresses reachable, auto-provision = false), or raise timeouts.",
                        humantime::format_duration(Duration::from_secs(started.elapsed().as_secs())),
                        roles.into_iter().collect::<Vec<_>>().join(", "),
                    ),
                    AttributePath::new("name"),
                );
                return None;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[async_trait]
impl Resource for NodeResource {
    type State<'a> = State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, Number, Set, String as Str};
        let attributes = HashMap::from([
            ("id".to_string(), computed(Str, "The node name.")),
            ("name".to_string(), required(Str, "The node's `node-name`. Changing it replaces the resource.")),
            ("roles".to_string(), required(Set(Box::new(Str)), "The roles the node must report: worker, admin, metadata-server, log-server, http-ingress.")),
            ("expected_version".to_string(), optional(Str, "Apply waits until the node reports this version (`1.7.12`, or `1.7` for any 1.7 release). A change that skips a minor version relative to the lowest version in the cluster, or downgrades by more than one minor, is refused at plan time.")),
            ("node_id".to_string(), computed(Number, "Plain node id (2 for N2).")),
            ("generation".to_string(), computed(Number, "Generation: grows each time the node restarts.")),
            ("alive".to_string(), computed(Bool, "Whether the cluster controller sees the node alive.")),
            ("binary_version".to_string(), computed(Str, "The Restate version the node runs.")),
            ("address".to_string(), computed(Str, "The node's advertised fabric address.")),
            ("log_server_storage_state".to_string(), computed(Str, "Log-server storage state (provisioning, read-write, read-only, …).")),
            ("worker_state".to_string(), computed(Str, "Worker state (provisioning, active, draining, disabled).")),
            ("metadata_server_state".to_string(), computed(Str, "Metadata server state (member, standby, provisioning).")),
        ]);
        Some(Schema {
            version: 0,
            block: Block {
                version: 0,
                attributes,
                blocks: HashMap::from([(
                    "timeouts".to_string(),
                    NestedBlock::Optional(tf::timeouts_block(&["create", "update", "delete"])),
                )]),
                description: Description::markdown(
                    "A node of the cluster: apply waits until it has joined, alive, with the intended roles. \
                     Destroying it only stops tracking it: the node stays a cluster member.",
                ),
                deprecated: false,
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: State) -> Option<()> {
        check_config(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let client = self.shared.client(diags)?;
        let view = tf::ok_or_report(
            diags,
            "Reading the cluster failed",
            self.shared.cluster_view(&client, false).await,
        )?;
        let name = known_str(&state.name)
            .or(known_str(&state.id))
            .unwrap_or_default()
            .to_string();
        let mut state = state;
        match find(&view, &name) {
            Some(n) => {
                absorb(&mut state, n);
                Some((state, private))
            }
            // Gone from the cluster: no state, so Terraform drops it and plans to create it again.
            None => None,
        }
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: State,
        config: State,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        check_config(diags, &config);
        let mut planned = proposed;
        planned.id = planned.name.clone();
        planned.node_id = Value::Unknown;
        mark_observed_unknown(&mut planned);
        self.check_version_plan(diags, &planned).await;
        Some((planned, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        proposed: State,
        config: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty, Vec<AttributePath>)> {
        check_config(diags, &config);
        let mut planned = proposed;
        let mut replace = Vec::new();
        if planned.name != prior.name {
            replace.push(AttributePath::new("name"));
            planned.id = planned.name.clone();
            planned.node_id = Value::Unknown;
            mark_observed_unknown(&mut planned);
        } else if role_set(&planned.roles) != role_set(&prior.roles)
            || planned.expected_version != prior.expected_version
        {
            // The node restarts with its new config: what it reports will change.
            mark_observed_unknown(&mut planned);
            if planned.expected_version != prior.expected_version {
                self.check_version_plan(diags, &planned).await;
            }
        }
        Some((planned, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        _config: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let t = tf::timeout_of(&planned.timeouts, |t: &Timeouts| &t.create);
        Some((self.wait(diags, planned, t).await?, private))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: State,
        planned: State,
        _config: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let t = tf::timeout_of(&planned.timeouts, |t: &Timeouts| &t.update);
        Some((self.wait(diags, planned, t).await?, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let name = known_str(&prior.name).unwrap_or("?");
        diags.root_warning(
            format!("Node {name} is still a cluster member"),
            format!(
                "restate_node only stopped tracking node {name}. It stays in the cluster's nodes configuration, \
                 and its log-server and metadata-server state are unchanged; stopping its VM makes it a dead \
                 member. Remove it from the cluster with restatectl (nodes set-storage-state, metadata-server \
                 remove-node, nodes remove) before you stop it."
            ),
        );
        Some(())
    }

    async fn import<'a>(&self, diags: &mut Diagnostics, id: String) -> Option<(State, ValueEmpty)> {
        if id.trim().is_empty() {
            diags.root_error_short(
                "Import needs the node name: terraform import restate_node.NAME <node name>",
            );
            return None;
        }
        let state = State {
            id: Value::Value(id.clone()),
            name: Value::Value(id),
            ..Default::default()
        };
        Some((state, ValueEmpty::default()))
    }
}

fn mark_observed_unknown(s: &mut State) {
    s.generation = Value::Unknown;
    s.alive = Value::Unknown;
    s.binary_version = Value::Unknown;
    s.address = Value::Unknown;
    s.log_server_storage_state = Value::Unknown;
    s.worker_state = Value::Unknown;
    s.metadata_server_state = Value::Unknown;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::metadata::NodeRecord;

    fn view(roles: &[&str], alive: bool, version: &str) -> ClusterView {
        ClusterView {
            cluster_name: "c".into(),
            cluster_fingerprint: 1,
            nodes: vec![NodeView {
                alive,
                record: NodeRecord {
                    node_id: 2,
                    generation: 1,
                    name: "n2".into(),
                    address: "http://10.0.0.2:5122/".into(),
                    roles: roles.iter().map(|r| r.to_string()).collect(),
                    location: String::new(),
                    log_server_storage_state: "read-write".into(),
                    worker_state: "active".into(),
                    metadata_server_state: "member".into(),
                    binary_version: version.into(),
                },
            }],
            processors: Vec::new(),
        }
    }

    fn want(name: &str, roles: &[&str], version: Option<&str>) -> State {
        State {
            name: Value::Value(name.into()),
            roles: Value::Value(roles.iter().map(|r| Value::Value(r.to_string())).collect()),
            expected_version: version.map_or(Value::Null, |v| Value::Value(v.into())),
            ..Default::default()
        }
    }

    #[test]
    fn ready_needs_the_node_alive_with_exactly_its_roles_and_version() {
        let v = view(&["worker", "log-server"], true, "1.7.12");
        assert!(ready(&v, &want("n2", &["log-server", "worker"], None)).is_ok());
        assert!(ready(&v, &want("n2", &["log-server", "worker"], Some("1.7"))).is_ok());
        let e = ready(&v, &want("n2", &["worker"], None)).unwrap_err();
        assert!(e.contains("roles [log-server, worker]"), "{e}");
        assert!(ready(&v, &want("n2", &["worker", "log-server"], Some("1.8.0"))).is_err());
        let e = ready(&v, &want("n3", &["worker"], None)).unwrap_err();
        assert!(
            e.contains("no node named n3") && e.contains("its nodes: n2"),
            "{e}"
        );
        let mut provisioning = view(&["worker", "log-server"], true, "1.7.12");
        provisioning.nodes[0].record.log_server_storage_state = "provisioning".into();
        assert!(
            ready(&provisioning, &want("n2", &["worker", "log-server"], None))
                .unwrap_err()
                .contains("log-server storage provisioning")
        );
        let dead = view(&["worker"], false, "1.7.12");
        assert!(ready(&dead, &want("n2", &["worker"], None))
            .unwrap_err()
            .contains("not alive"));
        // 1.2 spells the metadata role metadata-store
        let old = view(&["metadata-store"], true, "1.2.2");
        assert!(ready(&old, &want("n2", &["metadata-server"], None)).is_ok());
    }

    #[test]
    fn config_errors_name_their_attribute() {
        let mut diags = Diagnostics::default();
        check_config(&mut diags, &want("n2", &["wroker"], Some("latest")));
        let attrs: Vec<String> = diags
            .errors
            .iter()
            .map(|d| format!("{:?}", d.attribute))
            .collect();
        assert_eq!(diags.errors.len(), 2, "{attrs:?}");
        assert!(
            attrs[0].contains("roles") && attrs[1].contains("expected_version"),
            "{attrs:?}"
        );
    }
}
