//! `restate_restart_gate`: makes restarts and replacements of nodes' machines happen one node at
//! a time. The gate depends on its node's machine and is replaced with it
//! (`replace_triggered_by`), so Terraform destroys the gate before the machine: the destroy waits
//! until the node may stop (no other node this apply stopped is still coming back, and the
//! cluster keeps its quorum and replication without it). The new gate's create then waits until
//! the node is back, alive, with its roles and version, before the next node may stop.
//! Like every resource it records its cluster's fingerprint, and refuses to let a node of
//! another cluster (a twin of the same name) stop.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::client;
use crate::domain::rules::{self, NodeWant};
use crate::ops;
use crate::ops::AdminApi;
use crate::tf::context::probe;
use crate::tf::schema::{computed, optional, optional_computed, required, schema};
use crate::tf::value::known_str;
use crate::tf::{diag, plan, Op, ProviderContext, Timeouts};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub id: Value<String>,
    pub cluster_fingerprint: Value<String>,
    pub node: Value<String>,
    pub roles: Value<Vec<Value<String>>>,
    pub expected_version: Value<String>,
    pub allow_downtime: Value<bool>,
    #[serde(with = "crate::tf::value::optional_block")]
    pub timeouts: Value<Timeouts>,
}

pub struct RestartGateResource {
    ctx: Arc<ProviderContext>,
}

impl RestartGateResource {
    pub fn new(ctx: Arc<ProviderContext>) -> Self {
        RestartGateResource { ctx }
    }
}

/// The fingerprint recorded in `state`, if any.
fn recorded_fingerprint(state: &State) -> Option<u64> {
    known_str(&state.cluster_fingerprint).and_then(|f| f.parse().ok())
}

/// The fingerprint as a state value (null when the cluster could not tell it yet).
fn fingerprint_value(fingerprint: Option<u64>) -> Value<String> {
    fingerprint.map_or(Value::Null, |f| Value::Value(f.to_string()))
}

/// The cluster's fingerprint, or an error when `state` records another one; `Ok(None)` when the
/// cluster is not provisioned yet and nothing is recorded (a gate created with its cluster).
async fn cluster_fingerprint(
    ctx: &ProviderContext,
    api: &dyn AdminApi,
    state: &State,
) -> Result<Option<u64>, ops::Error> {
    let recorded = recorded_fingerprint(state);
    let view = match ctx.view(api, false).await {
        Ok(view) => view,
        Err(client::Error::NotProvisioned { .. }) if recorded.is_none() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    rules::check_fingerprint(
        recorded,
        &api.endpoints().join(", "),
        &view.cluster_name,
        view.cluster_fingerprint,
    )?;
    Ok(Some(view.cluster_fingerprint))
}

/// How the node must be when it is back. None when a value is refused (reported).
fn want(diags: &mut Diagnostics, c: &State) -> Option<NodeWant> {
    super::node::node_want(
        diags,
        ("node", &c.node),
        &c.roles,
        &c.expected_version,
        &c.timeouts,
    )
}

#[async_trait]
impl Resource for RestartGateResource {
    type State<'a> = State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, Set, String as Str};
        Some(schema(
            "Lets a node's machine be restarted or replaced only when the cluster can do without the \
             node, and one node at a time. Put one next to each node's machine, depending on it and \
             replaced with it (`lifecycle { replace_triggered_by = [<machine>] }`): Terraform then \
             destroys the gate before the machine, and the destroy waits until the node may stop; \
             the new gate's create waits until the node is back.",
            vec![
                ("id", computed(Str, "The node name.")),
                (
                    "cluster_fingerprint",
                    computed(
                        Str,
                        "The fingerprint of the node's cluster, recorded at create (or, for a gate \
                         created before its cluster was provisioned, at the first read after): a later \
                         read or destroy that reaches a cluster with another fingerprint, whatever its \
                         name, is an error, and the state is kept.",
                    ),
                ),
                (
                    "node",
                    required(Str, "The name of the node whose machine this gate guards."),
                ),
                (
                    "roles",
                    optional(
                        Set(Box::new(Str)),
                        "The roles the node must report when it is back (as `restate_node` `roles`).",
                    ),
                ),
                (
                    "expected_version",
                    optional(
                        Str,
                        "The version the node must report when it is back (`1.7.12`, or `1.7` for any \
                         1.7 release): with the module's `restate_version`, the next node stops only \
                         once this one runs the new version.",
                    ),
                ),
                (
                    "allow_downtime",
                    optional_computed(
                        Bool,
                        "Let the node stop at once, without waiting for its turn or checking that the \
                         cluster can serve without it: for a single-node cluster (unavailable until the \
                         node is back; its data is kept), or to take the whole cluster down. Default \
                         `false`.",
                    ),
                ),
            ],
            vec![(
                "timeouts",
                Timeouts::block(&[
                    (
                        Op::Create,
                        "the wait for the node to be back after its machine was replaced",
                    ),
                    (
                        Op::Delete,
                        "the wait until the node may stop (the previous node back, the cluster able \
                         to do without it)",
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
        // Nothing of the gate lives in the cluster but the cluster's identity: another cluster is
        // an error (the state stays as it is), and a fingerprint not known at create is filled.
        let api = self.ctx.api_or_report(diags)?;
        let fingerprint = diag::ops_ok(
            diags,
            cluster_fingerprint(&self.ctx, api.as_ref(), &state).await,
        )?;
        let mut state = state;
        if let Some(f) = fingerprint {
            state.cluster_fingerprint = Value::Value(f.to_string());
        }
        Some((state, private))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: State,
        config: State,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        want(diags, &config);
        let mut planned = proposed;
        planned.id = planned.node.clone();
        plan::unknown(&mut [&mut planned.cluster_fingerprint]);
        plan::default_from_config(&mut planned.allow_downtime, &config.allow_downtime, false);
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
        want(diags, &config);
        let mut planned = proposed;
        let mut replace = Vec::new();
        plan::requires_replace(&mut replace, "node", &prior.node, &planned.node);
        planned.id = planned.node.clone();
        plan::default_from_config(&mut planned.allow_downtime, &config.allow_downtime, false);
        Some((planned, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        // A destroy that waits for the node's turn must wait in the recorded cluster (checked
        // when the cluster answers quickly; apply checks again).
        let recorded = recorded_fingerprint(&prior);
        let downtime = matches!(prior.allow_downtime, Value::Value(true));
        if let (Some(api), Some(_), false) = (self.ctx.api_if_known(), recorded, downtime) {
            if let Some(view) = probe(self.ctx.view(api.as_ref(), false)).await {
                let checked = rules::check_fingerprint(
                    recorded,
                    &api.endpoints().join(", "),
                    &view.cluster_name,
                    view.cluster_fingerprint,
                );
                if let Err(e) = checked {
                    diag::refused(diags, &e);
                }
            }
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
        let want = want(diags, &planned)?;
        let mut planned = planned;
        // A node this apply let stop must be back before the next may stop (so it stays marked
        // stopping until it is, or for good when it is not back in time); a gate created with its
        // node (or its first machine) has nothing to wait for, and records the cluster only when
        // it answers at once (it may not be provisioned yet: the next read records it then).
        if self.ctx.is_restarting(&want.name) {
            let api = self.ctx.api_or_report(diags)?;
            let timeout = Timeouts::of(&planned.timeouts, Op::Create);
            let back = ops::nodes::wait_until_ready(api.as_ref(), &want, None, timeout).await;
            self.ctx.invalidate().await;
            let (_, view) = diag::ops_ok(diags, back)?;
            self.ctx.set_restarting(&want.name, false);
            planned.cluster_fingerprint = fingerprint_value(Some(view.cluster_fingerprint));
        } else {
            let found = match self.ctx.api_if_known() {
                Some(api) => probe(api.nodes_configuration()).await,
                None => None,
            };
            planned.cluster_fingerprint = fingerprint_value(found.map(|n| n.cluster_fingerprint));
        }
        Some((planned, private))
    }

    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: State,
        planned: State,
        _config: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        Some((planned, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let name = known_str(&prior.node).unwrap_or_default().to_string();
        let api = self.ctx.api_or_report(diags)?;
        let timeout = Timeouts::of(&prior.timeouts, Op::Delete);
        if matches!(prior.allow_downtime, Value::Value(true)) {
            // Downtime accepted (a single node, a whole-cluster teardown): nothing to wait for,
            // and nobody waits for this node.
            return Some(());
        }
        let _turn = self.ctx.restart_turn().await;
        let result = ops::lifecycle::wait_until_may_stop(
            api.as_ref(),
            &name,
            recorded_fingerprint(&prior),
            || self.ctx.restarting_besides(&name),
            timeout,
        )
        .await;
        diag::ops_ok(diags, result)?;
        self.ctx.set_restarting(&name, true);
        tracing::info!("{name} may stop now");
        Some(())
    }

    async fn import<'a>(&self, diags: &mut Diagnostics, id: String) -> Option<(State, ValueEmpty)> {
        if id.trim().is_empty() {
            diag::import_needs_id(diags, "restate_restart_gate", "node name");
            return None;
        }
        Some((
            State {
                id: Value::Value(id.clone()),
                node: Value::Value(id),
                allow_downtime: Value::Value(false),
                ..Default::default()
            },
            ValueEmpty::default(),
        ))
    }
}
