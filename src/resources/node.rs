//! `restate_node`: waits until a node has joined the cluster with the intended roles (and version),
//! and tracks it in state. The node itself is started elsewhere (a VM with the rendered config).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use std::time::{Duration, Instant};

use crate::domain::lifecycle::{self, StorageState, WorkerState};
use crate::domain::role::parse_roles;
use crate::domain::rules::{self, NodeWant};
use crate::domain::version::check_upgrade;
use crate::domain::{ClusterView, NodeView, Version};
use crate::ops;
use crate::ops::AdminApi;
use crate::tf::context::probe;
use crate::tf::schema::{computed, optional, optional_computed, required, schema};
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
    pub metadata_server_member: Value<bool>,
    pub on_destroy: Value<String>,
}

/// What destroying the resource does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnDestroy {
    /// Remove the node from the cluster, safely (the default).
    Remove,
    /// Only stop tracking it (the whole cluster is going away, or the node is removed by hand).
    Forget,
}

impl OnDestroy {
    const ALLOWED: &'static str = "\"remove\" or \"forget\"";

    fn parse(text: &str) -> Result<OnDestroy, crate::domain::Error> {
        match text {
            "remove" => Ok(OnDestroy::Remove),
            "forget" => Ok(OnDestroy::Forget),
            other => Err(crate::domain::Error::UnknownState {
                what: "on_destroy",
                value: other.to_string(),
                allowed: OnDestroy::ALLOWED.into(),
            }),
        }
    }

    /// From a state: unset (a state written before the attribute existed) is the default.
    fn of(state: &State) -> OnDestroy {
        known_str(&state.on_destroy)
            .and_then(|s| OnDestroy::parse(s).ok())
            .unwrap_or(OnDestroy::Remove)
    }
}

/// The lifecycle states the configuration asks for (None: not managed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct LifecycleWant {
    worker: Option<WorkerState>,
    storage: Option<StorageState>,
    member: Option<bool>,
}

fn lifecycle_want(diags: &mut Diagnostics, c: &State) -> LifecycleWant {
    LifecycleWant {
        worker: validate::check(diags, "worker_state", &c.worker_state, |v| {
            WorkerState::parse(v)
        }),
        storage: validate::check(
            diags,
            "log_server_storage_state",
            &c.log_server_storage_state,
            |v| StorageState::parse(v),
        ),
        member: match c.metadata_server_member {
            Value::Value(b) => Some(b),
            _ => None,
        },
    }
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
    validate::check(diags, "on_destroy", &c.on_destroy, |v| OnDestroy::parse(v));
    lifecycle_want(diags, c);
    let want = node_want(
        diags,
        ("name", &c.name),
        &c.roles,
        &c.expected_version,
        &c.timeouts,
    );
    want.filter(|_| diags.errors.len() == before)
}

/// A node as `restate_node` and `restate_restart_gate` wait for it: named by the attribute
/// `name_attribute`, with `roles` and `expected_version`. None when a value is refused
/// (reported at its attribute).
pub(crate) fn node_want(
    diags: &mut Diagnostics,
    (name_attribute, name): (&'static str, &Value<String>),
    roles: &Value<Vec<Value<String>>>,
    expected_version: &Value<String>,
    timeouts: &Value<Timeouts>,
) -> Option<NodeWant> {
    let before = diags.errors.len();
    validate::name(diags, name_attribute, name);
    let roles = match crate::tf::value::known_vec(roles) {
        Some(roles) => parse_roles(&roles)
            .map_err(|e| diag::input(diags, AttributePath::new("roles"), "roles", &e))
            .ok()
            .map(|r| r.into_iter().collect()),
        None => None,
    };
    let version = validate::check(diags, "expected_version", expected_version, |v| {
        Version::parse(v)
    });
    Timeouts::check(diags, timeouts);
    (diags.errors.len() == before).then(|| NodeWant {
        name: known_str(name).unwrap_or_default().to_string(),
        roles,
        version,
    })
}

/// The fingerprint recorded in `state`, if any.
fn recorded_fingerprint(state: &State) -> Option<u64> {
    known_str(&state.cluster_fingerprint).and_then(|f| f.parse().ok())
}

/// The cluster in `view` must be the one recorded in `state` (same fingerprint).
fn check_cluster(
    diags: &mut Diagnostics,
    state: &State,
    view: &ClusterView,
    endpoint: &str,
) -> bool {
    rules::check_fingerprint(
        recorded_fingerprint(state),
        endpoint,
        &view.cluster_name,
        view.cluster_fingerprint,
    )
    .map_err(|e| diag::refused(diags, &e))
    .is_ok()
}

/// The cluster `facts` were read from must be the one recorded in `state`.
fn check_facts_cluster(
    diags: &mut Diagnostics,
    api: &dyn AdminApi,
    state: &State,
    facts: &ops::lifecycle::Facts,
) -> bool {
    ops::lifecycle::check_cluster(api, facts, recorded_fingerprint(state))
        .map_err(|e| diag::ops(diags, &e))
        .is_ok()
}

/// Whether an update changes only what the provider itself uses (`on_destroy`, `timeouts`):
/// then there is nothing to ask of the cluster (so a teardown can set `on_destroy = "forget"`
/// on nodes that are gone).
fn only_provider_settings_change(prior: &State, planned: &State) -> bool {
    let rest = |s: &State| State {
        on_destroy: Value::Null,
        timeouts: Value::Null,
        // A set: the order is not a change.
        roles: match crate::tf::value::known_vec(&s.roles) {
            Some(mut roles) => {
                roles.sort();
                string_list(roles)
            }
            None => s.roles.clone(),
        },
        ..s.clone()
    };
    rest(prior) == rest(planned)
}

/// Copies what the cluster reports into the computed attributes (and `roles`, so drift shows);
/// `member` is the node's metadata-server membership.
fn absorb(state: &mut State, n: &NodeView, fingerprint: u64, member: bool) {
    state.metadata_server_member = Value::Value(member);
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

/// What the node reports changes when it restarts with a new configuration (the lifecycle
/// states too, unless configured: then apply makes them so).
fn observed_unknown(s: &mut State, config: &State) {
    plan::unknown(&mut [
        &mut s.binary_version,
        &mut s.address,
        &mut s.metadata_server_state,
    ]);
    plan::unknown_unless_configured(&mut s.worker_state, &config.worker_state);
    plan::unknown_unless_configured(
        &mut s.log_server_storage_state,
        &config.log_server_storage_state,
    );
    plan::unknown_unless_configured(
        &mut s.metadata_server_member,
        &config.metadata_server_member,
    );
    plan::unknown(&mut [&mut s.generation]);
    plan::unknown(&mut [&mut s.alive]);
}

/// Whether node `n` is a member of the metadata servers' group (asked only of nodes with the
/// role: the others never are): the group as read now, or as `ctx` shares it among reads.
async fn is_member(
    api: &dyn AdminApi,
    shared: Option<&ProviderContext>,
    n: &NodeView,
) -> Result<bool, crate::client::Error> {
    if !n.record.has_role(crate::domain::Role::MetadataServer) {
        return Ok(false);
    }
    let members = match shared {
        Some(ctx) => ctx.metadata_group(api).await?.members.clone(),
        None => api.metadata_group().await?.members,
    };
    Ok(members.contains(&n.record.node_id))
}

impl NodeResource {
    /// Refuses, at plan time, a removal that together with the removals planned before it would
    /// lose data, quorum or the configured replication (when the cluster answers quickly; apply
    /// checks again).
    async fn check_removal_plan(&self, diags: &mut Diagnostics, prior: &State) {
        let (Some(api), Some(name)) = (self.ctx.api_if_known(), known_str(&prior.name)) else {
            return;
        };
        let Some(facts) = probe(ops::lifecycle::read_facts(api.as_ref())).await else {
            return;
        };
        // A twin of the same name (destroy -refresh=false against another cluster): refused
        // before its node of that name is judged, or found missing.
        if !check_facts_cluster(diags, api.as_ref(), prior, &facts) {
            return;
        }
        let Ok(id) = ops::lifecycle::node_id(&facts, name) else {
            return; // Not in the cluster: nothing to remove.
        };
        let leaving = self.ctx.plan_leaving(id);
        let blockers = lifecycle::removal_blockers(&facts.view(), &leaving);
        for e in &blockers {
            diag::refused(diags, e);
        }
        if !blockers.is_empty() {
            diag::whole_cluster_teardown(diags);
        }
    }

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
        // Another cluster is refused at the first read, before any wait or change.
        let recorded = recorded_fingerprint(&planned);
        let found = ops::nodes::wait_until_ready(api.as_ref(), &want, recorded, timeout).await;
        self.ctx.invalidate().await;
        let (node, view) = found.map_err(|e| diag::ops(diags, &e)).ok()?;
        let lifecycle = lifecycle_want(&mut Diagnostics::default(), &planned);
        let (node, view) = if lifecycle == LifecycleWant::default() {
            (node, view)
        } else {
            let name = node.record.name.clone();
            let result = apply_lifecycle(api.as_ref(), &name, lifecycle, timeout).await;
            self.ctx.invalidate().await;
            diag::ops_ok(diags, result)?;
            // What the changes left, read now (not cached: the next read must see it too).
            let view = diag::client_ok(
                diags,
                "Reading the cluster failed",
                ops::view::read(api.as_ref()).await,
            )?;
            (view.node(&want.name).cloned().unwrap_or(node), view)
        };
        let member = diag::client_ok(
            diags,
            "Reading the metadata servers failed",
            is_member(api.as_ref(), None, &node).await,
        )?;
        let mut state = planned;
        absorb(&mut state, &node, view.cluster_fingerprint, member);
        Some(state)
    }

    /// Plan-time checks of configured lifecycle changes, when the cluster answers quickly.
    async fn check_lifecycle_plan(&self, diags: &mut Diagnostics, prior: &State, config: &State) {
        let want = lifecycle_want(&mut Diagnostics::default(), config);
        let changes = (want.worker.is_some() && config.worker_state != prior.worker_state)
            || (want.storage.is_some()
                && config.log_server_storage_state != prior.log_server_storage_state)
            || (want.member.is_some()
                && config.metadata_server_member != prior.metadata_server_member);
        let (true, Some(api), Some(name)) =
            (changes, self.ctx.api_if_known(), known_str(&prior.name))
        else {
            return;
        };
        let Some(facts) = probe(ops::lifecycle::read_facts(api.as_ref())).await else {
            return;
        };
        if !check_facts_cluster(diags, api.as_ref(), prior, &facts) {
            return;
        }
        let Ok(id) = ops::lifecycle::node_id(&facts, name) else {
            return;
        };
        let view = facts.view();
        let mut refuse = |attribute: &'static str, result: Result<(), crate::domain::Error>| {
            if let Err(e) = result {
                diag::input(diags, AttributePath::new(attribute), attribute, &e);
            }
        };
        if let (Some(to), true) = (want.worker, config.worker_state != prior.worker_state) {
            refuse("worker_state", lifecycle::check_worker_state(&view, id, to));
        }
        if let (Some(to), true) = (
            want.storage,
            config.log_server_storage_state != prior.log_server_storage_state,
        ) {
            refuse(
                "log_server_storage_state",
                lifecycle::check_storage_state(&view, id, to),
            );
        }
        if let Some(member) = want.member {
            refuse(
                "metadata_server_member",
                lifecycle::check_metadata_membership(&view, id, member),
            );
        }
    }
}

/// Makes the node's lifecycle states what the configuration asks: joins the metadata servers
/// first and leaves them last, so a node is never outside the group while it takes work.
async fn apply_lifecycle(
    api: &dyn AdminApi,
    name: &str,
    want: LifecycleWant,
    timeout: Duration,
) -> Result<(), ops::Error> {
    let started = Instant::now();
    let left = || timeout.saturating_sub(started.elapsed());
    if want.member == Some(true) {
        ops::lifecycle::set_metadata_member(api, name, true, left()).await?;
    }
    if let Some(to) = want.worker {
        ops::lifecycle::set_worker_state(api, name, to, left()).await?;
    }
    if let Some(to) = want.storage {
        ops::lifecycle::set_storage_state(api, name, to, left()).await?;
    }
    if want.member == Some(false) {
        ops::lifecycle::set_metadata_member(api, name, false, left()).await?;
    }
    Ok(())
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
             version), and sets its worker state, log-server storage state and metadata-server \
             membership when configured. Destroying it removes the node from the cluster safely \
             (`on_destroy`); make the node's VM depend on nothing of this resource, and this resource on \
             the VM, so the VM stops only after the removal.",
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
                    optional_computed(
                        Str,
                        "The log server's storage state. Unset: not managed, and shows what the cluster \
                         reports (`provisioning`, `read-write`, `read-only`, `disabled`, `data-loss`, …). \
                         Set `read-only` to take the node out of new log segments: apply waits until every \
                         log's tail segment has moved off it (sealing a log's tail when the cluster does \
                         not move it by itself). `disabled` only once no segment includes the node; \
                         `read-write` to use it again. Refused when the remaining read-write log servers \
                         could not hold the cluster's `log_replication`.",
                    ),
                ),
                (
                    "worker_state",
                    optional_computed(
                        Str,
                        "The worker's state. Unset: not managed, and shows what the cluster reports \
                         (`provisioning`, `active`, `draining`, `disabled`). Set `draining` to move its \
                         partitions elsewhere: apply waits until no partition has it in its replica set or \
                         runs there. `disabled` only after a drain; `active` to use it again. Refused when \
                         the remaining active workers could not hold `partition_replication`.",
                    ),
                ),
                (
                    "metadata_server_member",
                    optional_computed(
                        Bool,
                        "Whether the node is a member of the metadata servers' group. Unset: not managed, \
                         and shows what the metadata servers report. `false` takes it out of the group \
                         (refused for the last member, or when the members that stay alive would be \
                         below their quorum); `true` makes a node with the `metadata-server` role join.",
                    ),
                ),
                (
                    "on_destroy",
                    optional_computed(
                        Str,
                        "What destroying the resource does. `remove` (default): remove the node from the \
                         cluster, refused at plan time when that would lose data, metadata quorum or the \
                         configured replication (counting every node the same plan removes); apply drains \
                         the worker, makes its log storage read-only and waits until the logs moved off \
                         it, takes it out of the metadata servers, snapshots and trims the logs whose \
                         older segments include it, disables its storage and removes it from the nodes \
                         configuration, each step bounded by `timeouts.delete`. `forget`: only stop \
                         tracking it (to take the whole cluster down, set it and apply before \
                         destroying).",
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
                        "the wait for the node to report its new roles or version, and its lifecycle \
                         changes",
                    ),
                    (Op::Delete, "the node's removal (`on_destroy = \"remove\"`)"),
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
        let member = diag::client_ok(
            diags,
            "Reading the metadata servers failed",
            is_member(api.as_ref(), Some(&self.ctx), node).await,
        )?;
        absorb(&mut state, node, view.cluster_fingerprint, member);
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
        observed_unknown(&mut planned, &config);
        plan::default_from_config(&mut planned.on_destroy, &config.on_destroy, "remove".into());
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
        plan::default_from_config(&mut planned.on_destroy, &config.on_destroy, "remove".into());
        if !replace.is_empty() {
            planned.id = planned.name.clone();
            plan::unknown(&mut [&mut planned.node_id]);
            observed_unknown(&mut planned, &config);
        } else if roles_change || version_changes {
            // The node restarts with its new config: what it reports will change.
            observed_unknown(&mut planned, &config);
            if let (true, Some(want)) = (version_changes, want) {
                self.check_version_plan(diags, &want).await;
            }
        } else {
            self.check_lifecycle_plan(diags, &prior, &config).await;
        }
        Some((planned, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        if OnDestroy::of(&prior) == OnDestroy::Remove {
            self.check_removal_plan(diags, &prior).await;
        }
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
        prior: State,
        planned: State,
        _config: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        if only_provider_settings_change(&prior, &planned) {
            want(diags, &planned)?;
            return Some((planned, private));
        }
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
        if OnDestroy::of(&prior) == OnDestroy::Remove {
            let api = self.ctx.api_or_report(diags)?;
            let timeout = Timeouts::of(&prior.timeouts, Op::Delete);
            let _turn = self.ctx.removal_turn().await;
            let recorded = recorded_fingerprint(&prior);
            let result = ops::lifecycle::remove_node(api, name, recorded, timeout).await;
            self.ctx.invalidate().await;
            diag::ops_ok(diags, result)?;
            return Some(());
        }
        diag::left_as_is(diags, &diag::Left::Node { name });
        Some(())
    }

    async fn import<'a>(&self, diags: &mut Diagnostics, id: String) -> Option<(State, ValueEmpty)> {
        if id.trim().is_empty() {
            diag::import_needs_id(diags, "restate_node", "node name");
            return None;
        }
        let state = State {
            id: Value::Value(id.clone()),
            name: Value::Value(id),
            // Not a property of the cluster: the default, as a configuration without it plans.
            on_destroy: Value::Value("remove".into()),
            ..Default::default()
        };
        Some((state, ValueEmpty::default()))
    }
}
