//! `restate_node`: waits until a node has joined the cluster with the intended roles (and version),
//! and tracks it in state. The node itself is started elsewhere (a VM with the rendered config).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::domain::role::parse_roles;
use crate::domain::rules::{self, NodeWant};
use crate::domain::version::check_upgrade;
use crate::domain::{ClusterView, NodeView, Version};
use crate::ops;
use crate::tf::context::probe;
use crate::tf::schema::{computed, optional, required, schema};
use crate::tf::value::{known_str, string_list};
use crate::tf::{diag, plan, validate, Op, ProviderContext, Timeouts};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub id: Value<String>,
    pub cluster_fingerprint: Value<String>,
    pub name: Value<String>,
    pub roles: Value<Vec<Value<String>>>,
    pub expected_version: Value<String>,
    #[serde(with = "crate::tf::value::optional_block")]
    pub timeouts: Value<Timeouts>,
    pub node_id: Value<i64>,
    pub generation: Value<i64>,
    pub alive: Value<bool>,
    pub binary_version: Value<String>,
    pub address: Value<String>,
    pub log_server_storage_state: Value<String>,
    pub worker_state: Value<String>,
    pub metadata_server_state: Value<String>,
}

pub struct NodeResource {
    ctx: Arc<ProviderContext>,
}

impl NodeResource {
    pub fn new(ctx: Arc<ProviderContext>) -> Self {
        NodeResource { ctx }
    }
}

/// How the node should be, from checked values. None when a value is refused (reported).
fn want(diags: &mut Diagnostics, c: &State) -> Option<NodeWant> {
    let before = diags.errors.len();
    validate::name(diags, "name", &c.name);
    let roles = match crate::tf::value::known_vec(&c.roles) {
        Some(roles) => parse_roles(&roles)
            .map_err(|e| diag::input(diags, AttributePath::new("roles"), "roles", &e))
            .ok()
            .map(|r| r.into_iter().collect()),
        None => None,
    };
    let version = validate::check(diags, "expected_version", &c.expected_version, |v| {
        Version::parse(v)
    });
    Timeouts::check(diags, &c.timeouts);
    (diags.errors.len() == before).then(|| NodeWant {
        name: known_str(&c.name).unwrap_or_default().to_string(),
        roles,
        version,
    })
}

/// The cluster in `view` must be the one recorded in `state` (same fingerprint).
fn check_cluster(
    diags: &mut Diagnostics,
    state: &State,
    view: &ClusterView,
    endpoint: &str,
) -> bool {
    let recorded = known_str(&state.cluster_fingerprint).and_then(|f| f.parse().ok());
    rules::check_fingerprint(
        recorded,
        endpoint,
        &view.cluster_name,
        view.cluster_fingerprint,
    )
    .map_err(|e| diag::refused(diags, &e))
    .is_ok()
}

/// Copies what the cluster reports into the computed attributes (and `roles`, so drift shows).
fn absorb(state: &mut State, n: &NodeView, fingerprint: u64) {
    state.cluster_fingerprint = Value::Value(fingerprint.to_string());
    let r = &n.record;
    state.id = Value::Value(r.name.clone());
    state.name = Value::Value(r.name.clone());
    let mut roles: Vec<&str> = r.roles.iter().map(|r| r.as_str()).collect();
    roles.sort_unstable();
    state.roles = string_list(roles);
    state.node_id = Value::Value(i64::from(r.node_id));
    state.generation = Value::Value(i64::from(r.generation));
    state.alive = Value::Value(n.alive);
    state.binary_version = Value::Value(r.binary_version.clone());
    state.address = Value::Value(r.address.clone());
    state.log_server_storage_state = Value::Value(r.log_server_storage_state.clone());
    state.worker_state = Value::Value(r.worker_state.clone());
    state.metadata_server_state = Value::Value(r.metadata_server_state.clone());
}

/// What the node reports changes when it restarts with a new configuration.
fn observed_unknown(s: &mut State) {
    plan::unknown(&mut [
        &mut s.binary_version,
        &mut s.address,
        &mut s.log_server_storage_state,
        &mut s.worker_state,
        &mut s.metadata_server_state,
    ]);
    plan::unknown(&mut [&mut s.generation]);
    plan::unknown(&mut [&mut s.alive]);
}

impl NodeResource {
    /// The upgrade rule for `expected_version`, checked when the cluster answers quickly (at plan
    /// time its nodes may not exist yet).
    async fn check_version_plan(&self, diags: &mut Diagnostics, want: &NodeWant) {
        let (Some(target), Some(api)) = (want.version, self.ctx.api_if_known()) else {
            return;
        };
        let Some(view) = probe(self.ctx.view(api.as_ref(), false)).await else {
            return;
        };
        let running = rules::running_versions(&view);
        if let Err(e) = check_upgrade(&target, &running) {
            diag::refused(diags, &e);
        }
    }

    /// Waits until the node is there as wanted, and returns the new state.
    async fn wait(&self, diags: &mut Diagnostics, planned: State, op: Op) -> Option<State> {
        let want = want(diags, &planned)?;
        let api = self.ctx.api_or_report(diags)?;
        let timeout = Timeouts::of(&planned.timeouts, op);
        if let Err(e) = ops::nodes::check_version(api.as_ref(), &want).await {
            diag::ops(diags, &e);
            return None;
        }
        let found = ops::nodes::wait_until_ready(api.as_ref(), &want, timeout).await;
        self.ctx.invalidate().await;
        let (node, view) = found.map_err(|e| diag::ops(diags, &e)).ok()?;
        if !check_cluster(diags, &planned, &view, &api.endpoints().join(", ")) {
            return None;
        }
        let mut state = planned;
        absorb(&mut state, &node, view.cluster_fingerprint);
        Some(state)
    }
}

#[async_trait]
impl Resource for NodeResource {
    type State<'a> = State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, Number, Set, String as Str};
        Some(schema(
            "A node of the cluster: apply waits until it has joined, alive, with the intended roles (and \
             version). Destroying it only stops tracking it: the node stays a cluster member.",
            vec![
                ("id", computed(Str, "The node name.")),
                (
                    "cluster_fingerprint",
                    computed(
                        Str,
                        "The fingerprint of the node's cluster: a later read or apply that reaches a cluster \
                         with another fingerprint, whatever its name, is an error, and the state is kept.",
                    ),
                ),
                (
                    "name",
                    required(Str, "The node's `node-name`. Changing it replaces the resource."),
                ),
                (
                    "roles",
                    required(
                        Set(Box::new(Str)),
                        "The roles the node must report: `worker`, `admin`, `metadata-server`, `log-server`, \
                         `http-ingress` (a Restate 1.2 node's `metadata-store` is reported as \
                         `metadata-server`). A change shows as drift when the node reports other roles.",
                    ),
                ),
                (
                    "expected_version",
                    optional(
                        Str,
                        "Apply waits until the node reports this version (`1.7.12`, or `1.7` for any 1.7 \
                         release). A change that skips a minor version relative to the lowest version in the \
                         cluster, or downgrades by more than one minor, is refused at plan time.",
                    ),
                ),
                ("node_id", computed(Number, "Plain node id (2 for N2).")),
                (
                    "generation",
                    computed(Number, "Generation: grows each time the node restarts."),
                ),
                (
                    "alive",
                    computed(Bool, "Whether the cluster controller sees the node alive."),
                ),
                (
                    "binary_version",
                    computed(Str, "The Restate version the node runs (reported from 1.6 on)."),
                ),
                ("address", computed(Str, "The node's advertised fabric address.")),
                (
                    "log_server_storage_state",
                    computed(
                        Str,
                        "Log-server storage state (`provisioning`, `read-write`, `read-only`, …).",
                    ),
                ),
                (
                    "worker_state",
                    computed(
                        Str,
                        "Worker state (`provisioning`, `active`, `draining`, `disabled`).",
                    ),
                ),
                (
                    "metadata_server_state",
                    computed(Str, "Metadata server state (`member`, `standby`, `provisioning`)."),
                ),
            ],
            vec![(
                "timeouts",
                Timeouts::block(&[
                    (Op::Create, "the wait for the node to join"),
                    (
                        Op::Update,
                        "the wait for the node to report its new roles or version",
                    ),
                ]),
            )],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: State) -> Option<()> {
        want(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let api = self.ctx.api_or_report(diags)?;
        let view = diag::client_ok(
            diags,
            "Reading the cluster failed",
            self.ctx.view(api.as_ref(), false).await,
        )?;
        let name = known_str(&state.name)
            .or(known_str(&state.id))
            .unwrap_or_default()
            .to_string();
        // Another cluster (same name or not) is an error, and the state stays as it is.
        if !check_cluster(diags, &state, &view, &api.endpoints().join(", ")) {
            return None;
        }
        let mut state = state;
        // Gone from this cluster: no state, so Terraform drops it and plans to create it again.
        let node = view.node(&name)?;
        absorb(&mut state, node, view.cluster_fingerprint);
        Some((state, private))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: State,
        config: State,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let want = want(diags, &config);
        let mut planned = proposed;
        planned.id = planned.name.clone();
        plan::unknown(&mut [&mut planned.node_id]);
        plan::unknown(&mut [&mut planned.cluster_fingerprint]);
        observed_unknown(&mut planned);
        if let Some(want) = want {
            self.check_version_plan(diags, &want).await;
        }
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
        let want = want(diags, &config);
        let mut planned = proposed;
        let mut replace = Vec::new();
        plan::requires_replace(&mut replace, "name", &prior.name, &planned.name);
        let roles_change = crate::tf::value::known_vec(&planned.roles).map(|mut r| {
            r.sort();
            r
        }) != crate::tf::value::known_vec(&prior.roles).map(|mut r| {
            r.sort();
            r
        });
        let version_changes = planned.expected_version != prior.expected_version;
        if !replace.is_empty() {
            planned.id = planned.name.clone();
            plan::unknown(&mut [&mut planned.node_id]);
            observed_unknown(&mut planned);
        } else if roles_change || version_changes {
            // The node restarts with its new config: what it reports will change.
            observed_unknown(&mut planned);
            if let (true, Some(want)) = (version_changes, want) {
                self.check_version_plan(diags, &want).await;
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
        Some((self.wait(diags, planned, Op::Create).await?, private))
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
        Some((self.wait(diags, planned, Op::Update).await?, private))
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
