//! `restate_cluster_config`: the cluster-wide log provider, replication and nodeset size, and
//! optionally provisioning the cluster.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::domain::rules;
use crate::domain::{
    ClusterConfig, DesiredConfig, Endpoint, Error, LogProvider, ProvisionRequest, Replication,
};
use crate::ops::cluster_config::{self as cc, Survey};
use crate::ops::AdminApi;
use crate::tf::context::probe;
use crate::tf::schema::{computed, optional, optional_computed, required, schema};
use crate::tf::value::{known_i64, known_str};
use crate::tf::{diag, plan, validate, Op, ProviderContext, Timeouts};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub id: Value<String>,
    pub cluster_name: Value<String>,
    pub cluster_fingerprint: Value<String>,
    pub log_provider: Value<String>,
    pub log_replication: Value<String>,
    pub partition_replication: Value<String>,
    pub log_nodeset_size: Value<i64>,
    pub num_partitions: Value<i64>,
    pub provision: Value<bool>,
    pub provision_endpoint: Value<String>,
    pub wait_for_logs: Value<bool>,
    pub pending_logs: Value<Vec<Value<i64>>>,
    pub skip_safety_checks: Value<bool>,
    pub allow_lower_replication: Value<bool>,
    #[serde(with = "crate::tf::value::optional_block")]
    pub timeouts: Value<Timeouts>,
}

pub struct ClusterConfigResource {
    ctx: Arc<ProviderContext>,
}

impl ClusterConfigResource {
    pub fn new(ctx: Arc<ProviderContext>) -> Self {
        ClusterConfigResource { ctx }
    }
}

/// What the user configured, checked. None when a value is refused (reported) or not known yet.
fn desired(diags: &mut Diagnostics, c: &State) -> Option<DesiredConfig> {
    let before = diags.errors.len();
    let log_provider = validate::check(diags, "log_provider", &c.log_provider, |p| {
        LogProvider::parse(p)
    });
    let log_replication = validate::check(diags, "log_replication", &c.log_replication, |r| {
        Replication::parse_input(r)
    });
    let partition_replication = validate::check(
        diags,
        "partition_replication",
        &c.partition_replication,
        |r| Replication::parse_input(r),
    );
    let log_nodeset_size = validate::check(diags, "log_nodeset_size", &c.log_nodeset_size, |n| {
        rules::nodeset_size(*n)
    });
    validate::check(diags, "num_partitions", &c.num_partitions, |n| {
        rules::num_partitions(*n)
    });
    validate::check(diags, "provision_endpoint", &c.provision_endpoint, |e| {
        Endpoint::parse(e)
    });
    if let Some(p) = &log_provider {
        for (attribute, set, setting) in [
            (
                "log_replication",
                c.log_replication.is_value(),
                "log replication",
            ),
            (
                "log_nodeset_size",
                c.log_nodeset_size.is_value(),
                "nodeset size",
            ),
        ] {
            if let (true, Err(e)) = (set, rules::replicated_only(p, setting)) {
                diag::input(diags, AttributePath::new(attribute), attribute, &e);
            }
        }
    }
    Timeouts::check(diags, &c.timeouts);
    if diags.errors.len() != before {
        return None;
    }
    Some(DesiredConfig {
        log_provider: log_provider?,
        log_replication,
        partition_replication,
        log_nodeset_size,
    })
}

fn provision_request(c: &State, d: &DesiredConfig) -> ProvisionRequest {
    ProvisionRequest {
        num_partitions: known_i64(&c.num_partitions).and_then(|n| rules::num_partitions(n).ok()),
        partition_replication: d.partition_replication.clone(),
        log_provider: Some(d.log_provider.clone()),
        log_replication: d.log_replication.clone(),
        log_nodeset_size: d.log_nodeset_size,
    }
}

/// The node provisioning goes to: `provision_endpoint`, else the provider's first endpoint.
fn provision_target(c: &State, api: &dyn AdminApi) -> Option<String> {
    known_str(&c.provision_endpoint)
        .and_then(|e| Endpoint::parse(e).ok())
        .map(|e| e.to_string())
        .or_else(|| api.endpoints().into_iter().next())
}

/// Keeps the spelling of `prior` when the server's value means the same (so "2" does not turn into
/// "{node: 2}" on every refresh); otherwise the server's value in its shortest form.
fn replication_for_state(prior: &Value<String>, server: Option<&Replication>) -> Value<String> {
    match (prior, server) {
        (_, None) => Value::Null,
        (Value::Value(p), Some(s)) if p.parse::<Replication>().ok().as_ref() == Some(s) => {
            Value::Value(p.clone())
        }
        (_, Some(s)) => Value::Value(s.canonical()),
    }
}

/// Fills the cluster-owned attributes of `state` from the server.
fn absorb(state: &mut State, cluster_name: &str, fingerprint: u64, c: &ClusterConfig) {
    state.id = Value::Value(cluster_name.to_string());
    state.cluster_name = Value::Value(cluster_name.to_string());
    state.cluster_fingerprint = Value::Value(fingerprint.to_string());
    state.log_provider = Value::Value(c.log_provider.to_string());
    state.log_replication =
        replication_for_state(&state.log_replication, c.log_replication.as_ref());
    state.partition_replication = replication_for_state(
        &state.partition_replication,
        c.partition_replication.as_ref(),
    );
    state.log_nodeset_size = Value::Value(i64::from(c.log_nodeset_size));
    state.num_partitions = Value::Value(i64::from(c.num_partitions));
}

fn log_ids(ids: &[u32]) -> Value<Vec<Value<i64>>> {
    Value::Value(ids.iter().map(|i| Value::Value(i64::from(*i))).collect())
}

/// A replication as a state holds it: null is none; None when it is unknown or unreadable.
fn recorded_replication(v: &Value<String>) -> Option<Option<Replication>> {
    match v {
        Value::Null => Some(None),
        Value::Value(s) => s.parse().ok().map(Some),
        Value::Unknown => None,
    }
}

/// The configuration a state recorded (for the prior state: what the plan showed the cluster
/// had). None when a value is missing (a state from before the attribute existed).
fn recorded_config(s: &State) -> Option<ClusterConfig> {
    Some(ClusterConfig {
        num_partitions: u32::try_from(known_i64(&s.num_partitions)?).ok()?,
        partition_replication: recorded_replication(&s.partition_replication)?,
        log_provider: LogProvider::reported(known_str(&s.log_provider)?),
        log_replication: recorded_replication(&s.log_replication)?,
        log_nodeset_size: u32::try_from(known_i64(&s.log_nodeset_size)?).ok()?,
    })
}

/// The fingerprint recorded in state, if any.
fn recorded_fingerprint(s: &State) -> Option<u64> {
    known_str(&s.cluster_fingerprint).and_then(|f| f.parse().ok())
}

/// The defaults of the attributes the cluster does not own, from the configuration.
fn plan_defaults(planned: &mut State, config: &State) {
    plan::default_from_config(&mut planned.provision, &config.provision, false);
    plan::default_from_config(&mut planned.wait_for_logs, &config.wait_for_logs, true);
    plan::default_from_config(
        &mut planned.skip_safety_checks,
        &config.skip_safety_checks,
        false,
    );
    // With wait_for_logs, apply leaves no log behind: a log still pending is a diff.
    if planned.wait_for_logs == Value::Value(true) {
        planned.pending_logs = Value::Value(Vec::new());
    }
}

/// The transition rules against what the cluster (or the prior state) has now.
fn check_transition(
    diags: &mut Diagnostics,
    cluster_name: &str,
    current_provider: &LogProvider,
    current_partitions: u32,
    planned: &State,
) {
    if let Some(requested) =
        known_str(&planned.log_provider).and_then(|p| LogProvider::parse(p).ok())
    {
        if let Err(e) = rules::check_provider_change(cluster_name, current_provider, &requested) {
            diag::refused(diags, &e);
        }
    }
    let requested = known_i64(&planned.num_partitions).and_then(|n| rules::num_partitions(n).ok());
    if let Err(e) = rules::check_num_partitions(cluster_name, current_partitions, requested) {
        diag::refused(diags, &e);
    }
}

/// Warnings about a change that leaves no failure tolerance (when the nodes answer quickly).
async fn plan_tolerance(
    diags: &mut Diagnostics,
    ctx: &ProviderContext,
    api: &dyn AdminApi,
    current: &ClusterConfig,
    next: &ClusterConfig,
) {
    if let Some(view) = probe(ctx.view(api, false)).await {
        for a in rules::failure_tolerance(Some(current), next, &view.nodes) {
            diag::advice(diags, &a);
        }
    }
}

impl ClusterConfigResource {
    /// Plan-time checks of a new resource against the live cluster, made when it answers quickly;
    /// says what provisioning would set up. (Values the user left unset stay unknown in the
    /// plan: the cluster may change before the plan is applied, and a plan's values must hold.)
    async fn plan_create_against_cluster(
        &self,
        diags: &mut Diagnostics,
        api: &dyn AdminApi,
        planned: &State,
        config: &State,
        desired: &DesiredConfig,
    ) {
        let Some(survey) = probe(async { Ok::<_, ()>(Survey::take(api).await) }).await else {
            return;
        };
        let Some(ident) = survey.provisioned().cloned() else {
            // Not provisioned: refused without provision = true; otherwise the values the
            // provisioning node will use, from its dry run.
            let Some(any) = survey.any() else { return };
            if planned.provision != Value::Value(true) {
                if let Err(e) = any.require_provisioned() {
                    diag::refused(diags, &e);
                }
                return;
            }
            let Some(target) = provision_target(config, api) else {
                return;
            };
            let req = provision_request(config, desired);
            if let Some(resolved) = probe(api.provision_dry_run(&target, &req)).await {
                // Shown, not planned as values: whoever provisions first decides what the
                // cluster gets, and a plan's values must hold when the plan is applied.
                diag::provisioning_preview(diags, &target, &resolved);
            }
            return;
        };
        let Some(stored) = probe(api.stored_config()).await else {
            return;
        };
        let current = &stored.config;
        check_transition(
            diags,
            &ident.cluster_name,
            &current.log_provider,
            current.num_partitions,
            planned,
        );
        let allowed = config.allow_lower_replication == Value::Value(true);
        if let Err(e) = rules::check_create(&ident.cluster_name, current, desired, allowed) {
            diag::refused(diags, &e);
        }
        for a in rules::advice(current, desired, true) {
            diag::advice(diags, &a);
        }
        let next = rules::merge(current, desired);
        plan_tolerance(diags, &self.ctx, api, current, &next).await;
    }

    /// Provisions if asked, writes the configuration, waits for the logs if asked, and returns the
    /// new state. `expected` is the configuration the plan showed the cluster had (the prior
    /// state's, on update): nothing is written over a setting someone changed since.
    async fn converge(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        config: &State,
        op: Op,
        expected: Option<ClusterConfig>,
    ) -> Option<State> {
        let Some(desired) = desired(diags, config) else {
            if diags.errors.is_empty() {
                diag::unknown_at_apply(diags, "restate_cluster_config", "log_provider");
            }
            return None;
        };
        let api = self.ctx.api_or_report(diags)?;
        let api = api.as_ref();
        let survey = Survey::take(api).await;
        if survey.provisioned().is_none() {
            let Some(any) = survey.any().cloned() else {
                let e = survey.error();
                if let Some(e) = e {
                    diag::client(diags, diag::UNREACHABLE, &e);
                }
                return None;
            };
            if !(op == Op::Create && planned.provision == Value::Value(true)) {
                if let Err(e) = any.require_provisioned() {
                    diag::refused(diags, &e);
                }
                return None;
            }
            let target = provision_target(config, api)?;
            let outcome = cc::provision(api, &target, &provision_request(config, &desired)).await;
            self.ctx.invalidate().await;
            if let Err(e) = outcome {
                diag::provisioning_failed(diags, &target, &e);
                return None;
            }
        }
        let ident = diag::client_ok(diags, diag::UNREACHABLE, api.ident().await)?;
        let fingerprint = self.fingerprint(diags, api, &planned).await?;
        let mut expected = expected;
        if op == Op::Create {
            // Every endpoint must belong to the one cluster this resource starts to track, and
            // the cluster (provisioned here, or by someone else since the plan) must be as the
            // plan showed it.
            diag::ops_ok(diags, cc::one_cluster(api).await)?;
            let stored = diag::client_ok(
                diags,
                "Reading the cluster failed",
                api.stored_config().await,
            )?;
            check_transition(
                diags,
                &ident.cluster_name,
                &stored.config.log_provider,
                stored.config.num_partitions,
                &planned,
            );
            let allowed = config.allow_lower_replication == Value::Value(true);
            if let Err(e) =
                rules::check_create(&ident.cluster_name, &stored.config, &desired, allowed)
            {
                diag::refused(diags, &e);
            }
            if !diags.errors.is_empty() {
                return None;
            }
            // What was checked is what the write may assume.
            expected = Some(stored.config);
        }
        let skip = planned.skip_safety_checks == Value::Value(true);
        let applied = cc::apply(api, &ident.cluster_name, &desired, expected.as_ref(), skip).await;
        self.ctx.invalidate().await;
        let applied = applied.map_err(|e| diag::ops(diags, &e)).ok()?;
        let pending = if planned.wait_for_logs == Value::Value(false) {
            diag::ops_ok(diags, cc::pending_log_ids(api, &applied).await)?
        } else {
            let timeout = Timeouts::of(&planned.timeouts, op);
            match cc::wait_for_logs(api, &applied, timeout).await {
                Ok(()) => Vec::new(),
                Err(e) => {
                    diag::ops(diags, &e);
                    // The configuration was written. An update keeps that in state, with the logs
                    // still pending, so state and cluster agree and the next plan shows what is
                    // left (the prior state would claim the old values). A failed create keeps no
                    // state: the next apply creates the resource again, writing nothing new.
                    if op == Op::Create {
                        return None;
                    }
                    cc::pending_log_ids(api, &applied).await.ok()?
                }
            }
        };
        let mut state = planned;
        absorb(&mut state, &ident.cluster_name, fingerprint, &applied);
        state.pending_logs = log_ids(&pending);
        Some(state)
    }

    /// The fingerprint of the cluster reached; an error when the state records another one.
    async fn fingerprint(
        &self,
        diags: &mut Diagnostics,
        api: &dyn AdminApi,
        recorded: &State,
    ) -> Option<u64> {
        let nodes = diag::client_ok(
            diags,
            "Reading the cluster failed",
            api.nodes_configuration().await,
        )?;
        let endpoint = api.endpoints().join(", ");
        if let Err(e) = rules::check_fingerprint(
            recorded_fingerprint(recorded),
            &endpoint,
            &nodes.cluster_name,
            nodes.cluster_fingerprint,
        ) {
            diag::refused(diags, &e);
            return None;
        }
        Some(nodes.cluster_fingerprint)
    }
}

#[async_trait]
impl Resource for ClusterConfigResource {
    type State<'a> = State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, List, Number, String as Str};
        Some(schema(
            "The cluster-wide configuration of a Restate cluster (one per cluster): log provider, log and \
             partition replication, log nodeset size; optionally, provisioning the cluster. Destroying it \
             leaves the cluster as it is.",
            vec![
                ("id", computed(Str, "The cluster name.")),
                ("cluster_name", computed(Str, "The name the cluster reports.")),
                (
                    "cluster_fingerprint",
                    computed(
                        Str,
                        "The fingerprint of the cluster (its nodes configuration's): every later read or \
                         apply that reaches a cluster with another fingerprint, whatever its name, is an \
                         error, and the state is kept.",
                    ),
                ),
                (
                    "log_provider",
                    required(
                        Str,
                        "Default log provider: `\"local\"` or `\"replicated\"`. Restate moves logs from local to \
                         replicated, never back: `\"local\"` on a replicated cluster is refused at plan time.",
                    ),
                ),
                (
                    "log_replication",
                    optional_computed(
                        Str,
                        "Copies of each log record: `\"2\"`, `\"{node: 2}\"`, `\"{zone: 2, node: 3}\"` (scopes \
                         `node`, `zone`, `region`; 1 to 255 copies; a wider scope may not ask for more copies \
                         than a narrower one). Only with the replicated provider. Unset: the cluster's current \
                         value is kept (`\"1\"` when moving to replicated without one). Must not need more than \
                         the alive log servers in read-write state (checked at apply). Compared by meaning: \
                         `\"2\"` and `\"{node: 2}\"` are the same, and the state keeps your spelling.",
                    ),
                ),
                (
                    "partition_replication",
                    optional_computed(
                        Str,
                        "Copies of each partition processor, same grammar as `log_replication`. Unset: the \
                         cluster keeps its own (it is not sent). Must not need more than the alive workers \
                         (checked at apply).",
                    ),
                ),
                (
                    "log_nodeset_size",
                    optional_computed(
                        Number,
                        "Target nodeset size of replicated logs, `0` (automatic) to 128. Only with the \
                         replicated provider. Unset: the cluster's current value is kept.",
                    ),
                ),
                (
                    "num_partitions",
                    optional_computed(
                        Number,
                        "Number of partitions, 1 to 65535. Used only when this resource provisions the \
                         cluster; Restate cannot repartition, so a different value on a provisioned cluster is \
                         refused at plan time. Unset: the cluster's value (when provisioning: the provisioning \
                         node's `default-num-partitions`, shown in the plan from its dry run).",
                    ),
                ),
                (
                    "provision",
                    optional_computed(
                        Bool,
                        "If no endpoint reports a provisioned cluster: `true` provisions it with these values, \
                         through one node only (`provision_endpoint`), `false` is an error. Default `false`.",
                    ),
                ),
                (
                    "provision_endpoint",
                    optional(
                        Str,
                        "The node provisioning is sent to (`http://host:port`): Restate provisions the node \
                         that receives the request, so it goes to this one node and is never retried on \
                         another. Default: the provider's first endpoint.",
                    ),
                ),
                (
                    "wait_for_logs",
                    optional_computed(
                        Bool,
                        "Apply returns only once every log's tail segment uses the requested provider and \
                         replication (Restate moves logs in the background), bounded by `timeouts`. With it, \
                         a log still pending after a refresh (`pending_logs`) shows as a diff. Default \
                         `true`.",
                    ),
                ),
                (
                    "pending_logs",
                    computed(
                        List(Box::new(Number)),
                        "The ids of the logs whose tail segment is not yet on the configured provider and \
                         replication, as the last read or apply found them.",
                    ),
                ),
                (
                    "skip_safety_checks",
                    optional_computed(
                        Bool,
                        "Skip the apply-time check that the alive nodes can hold the requested replication. \
                         Default `false`.",
                    ),
                ),
                (
                    "allow_lower_replication",
                    optional(
                        Bool,
                        "Creating this resource on a cluster that already runs must not lower its log or \
                         partition replication unseen: that is refused unless this is `true`. (Importing the \
                         configuration first shows every change as a diff instead.)",
                    ),
                ),
            ],
            vec![(
                "timeouts",
                Timeouts::block(&[
                    (Op::Create, "the wait for the logs after creating (`wait_for_logs`)"),
                    (Op::Update, "the wait for the logs after an update (`wait_for_logs`)"),
                ]),
            )],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: State) -> Option<()> {
        desired(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: State,
        private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let (api, ident) = self.ctx.connect(diags).await?;
        let api = api.as_ref();
        if let Some(id) = known_str(&state.id) {
            if id != ident.cluster_name {
                let e = Error::WrongCluster {
                    tracked: id.to_string(),
                    endpoint: ident.endpoint,
                    actual: ident.cluster_name,
                };
                diag::refused(diags, &e);
                return None;
            }
        }
        if ident.require_provisioned().is_err() {
            // The node answering may wait to join; another endpoint may know the cluster.
            if let Some(p) = Survey::take(api).await.provisioned() {
                tracing::debug!("{} is provisioned; reading through it", p.endpoint);
            } else {
                if let Err(e) = ident.require_provisioned() {
                    diag::refused(diags, &e);
                }
                return None;
            }
        }
        let fingerprint = self.fingerprint(diags, api, &state).await?;
        let stored = diag::client_ok(
            diags,
            "Reading the cluster configuration failed",
            api.stored_config().await,
        )?;
        let pending = diag::ops_ok(diags, cc::pending_log_ids(api, &stored.config).await)?;
        let mut state = state;
        absorb(&mut state, &ident.cluster_name, fingerprint, &stored.config);
        state.pending_logs = log_ids(&pending);
        Some((state, private_state))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: State,
        config: State,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let desired = desired(diags, &config);
        if !diags.errors.is_empty() {
            return None;
        }
        let mut planned = proposed;
        plan::unknown(&mut [
            &mut planned.id,
            &mut planned.cluster_name,
            &mut planned.cluster_fingerprint,
        ]);
        plan::unknown(&mut [&mut planned.pending_logs]);
        plan_defaults(&mut planned, &config);
        plan::unknown_unless_configured(&mut planned.log_replication, &config.log_replication);
        plan::unknown_unless_configured(
            &mut planned.partition_replication,
            &config.partition_replication,
        );
        plan::unknown_unless_configured(&mut planned.log_nodeset_size, &config.log_nodeset_size);
        plan::unknown_unless_configured(&mut planned.num_partitions, &config.num_partitions);
        if let (Some(api), Some(desired)) = (self.ctx.api_if_known(), &desired) {
            self.plan_create_against_cluster(diags, api.as_ref(), &planned, &config, desired)
                .await;
        }
        if desired.is_some_and(|d| d.log_provider == LogProvider::Local) {
            // The local provider has no replication or nodeset size: the server reports none.
            planned.log_replication = Value::Null;
            planned.log_nodeset_size = Value::Value(0);
        }
        Some((planned, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        proposed: State,
        config: State,
        prior_private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty, Vec<AttributePath>)> {
        let desired = desired(diags, &config);
        if !diags.errors.is_empty() {
            return None;
        }
        let mut planned = proposed;
        plan_defaults(&mut planned, &config);
        let prior_provider = known_str(&prior.log_provider).map(LogProvider::reported);
        let prior_partitions = known_i64(&prior.num_partitions).and_then(|n| u32::try_from(n).ok());
        if let (Some(provider), Some(partitions)) = (&prior_provider, prior_partitions) {
            let name = known_str(&prior.cluster_name).unwrap_or_default();
            check_transition(diags, name, provider, partitions, &planned);
        }
        if !diags.errors.is_empty() {
            return None;
        }
        // What the cluster has now, from the prior state: lowering a replication is said.
        let current = ClusterConfig {
            num_partitions: prior_partitions.unwrap_or(0),
            partition_replication: known_str(&prior.partition_replication)
                .and_then(|r| r.parse().ok()),
            log_provider: prior_provider.unwrap_or(LogProvider::Local),
            log_replication: known_str(&prior.log_replication).and_then(|r| r.parse().ok()),
            log_nodeset_size: known_i64(&prior.log_nodeset_size)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
        };
        if let Some(desired) = &desired {
            let advice = rules::advice(&current, desired, false);
            for a in &advice {
                diag::advice(diags, a);
            }
            let next = rules::merge(&current, desired);
            let changes = !rules::unchanged(&current, &next);
            if let (true, Some(api)) = (changes, self.ctx.api_if_known()) {
                plan_tolerance(diags, &self.ctx, api.as_ref(), &current, &next).await;
            }
        }
        // Moving to replicated without a configured replication: the server picks it, so it is
        // unknown until apply.
        if planned.log_provider != prior.log_provider {
            plan::unknown_unless_configured(&mut planned.log_replication, &config.log_replication);
            plan::unknown_unless_configured(
                &mut planned.log_nodeset_size,
                &config.log_nodeset_size,
            );
        }
        if planned.wait_for_logs == Value::Value(false) && planned != prior {
            planned.pending_logs = Value::Unknown;
        }
        Some((planned, prior_private, Vec::new()))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: State,
        prior_private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(prior_private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        config: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let state = self
            .converge(diags, planned, &config, Op::Create, None)
            .await?;
        Some((state, private))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        planned: State,
        config: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        // The prior state holds what the plan showed: a setting changed since (restatectl config
        // set between plan and apply) is not overwritten.
        let expected = recorded_config(&prior);
        let state = self
            .converge(diags, planned, &config, Op::Update, expected)
            .await?;
        Some((state, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let cluster = known_str(&prior.id).unwrap_or("?");
        diag::left_as_is(diags, &diag::Left::ClusterConfig { cluster });
        Some(())
    }

    async fn import<'a>(&self, diags: &mut Diagnostics, id: String) -> Option<(State, ValueEmpty)> {
        if id.trim().is_empty() {
            diag::import_needs_id(diags, "restate_cluster_config", "cluster name");
            return None;
        }
        let state = State {
            id: Value::Value(id),
            provision: Value::Value(false),
            wait_for_logs: Value::Value(true),
            skip_safety_checks: Value::Value(false),
            ..Default::default()
        };
        Some((state, ValueEmpty::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keeps_the_users_spelling_of_an_equal_replication() {
        let prior = Value::Value("2".to_string());
        let r = |s: &str| s.parse::<Replication>().unwrap();
        assert_eq!(replication_for_state(&prior, Some(&r("{node: 2}"))), prior);
        assert_eq!(
            replication_for_state(&prior, Some(&r("{node: 3}"))),
            Value::Value("3".into())
        );
        assert_eq!(
            replication_for_state(&Value::Null, Some(&r("{node: 3, zone: 2}"))),
            Value::Value("{node: 3, zone: 2}".into())
        );
        assert_eq!(replication_for_state(&prior, None), Value::Null);
    }
}
