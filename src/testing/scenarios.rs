//! Scenarios run through the resources' handlers the way Terraform calls them, against any admin
//! API: the in-process fake in `cargo test`, a real cluster in the end-to-end suite. Each returns a
//! transcript of what a user would see, so the two can be compared line by line.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{Diagnostics, Resource};

use super::terraform::{diags, proposed, Diag};
use crate::ops::AdminApi;
use crate::resources::cluster_config::{self, ClusterConfigResource};
use crate::resources::node::{self, NodeResource};
use crate::resources::partition_snapshot::{self, PartitionSnapshotResource};
#[cfg(test)]
use crate::resources::restart_gate::RestartGateResource;
use crate::tf::ProviderContext;

/// Drives one resource like Terraform: plan, then apply; read; import.
pub(crate) struct Driver<R> {
    pub resource: R,
}

/// What a plan produced.
pub(crate) struct Planned<S, P> {
    pub state: Option<S>,
    pub private: P,
    pub replace: Vec<String>,
    pub diags: Vec<Diag>,
}

impl<R, S, P> Driver<R>
where
    R: for<'a> Resource<State<'a> = S, PrivateState<'a> = P, ProviderMetaState<'a> = ValueEmpty>,
    S: Serialize + DeserializeOwned + Clone + Send + Sync,
    P: Serialize + DeserializeOwned + Clone + Default + Send + Sync,
{
    pub async fn plan(&self, prior: Option<(&S, &P)>, config: &S) -> Planned<S, P> {
        let mut d = Diagnostics::default();
        let mut schema_diags = Diagnostics::default();
        let schema = self
            .resource
            .schema(&mut schema_diags)
            .expect("every resource has a schema");
        let proposed = proposed(&schema, prior.map(|(s, _)| s), config);
        let planned = match prior {
            None => self
                .resource
                .plan_create(&mut d, proposed, config.clone(), ValueEmpty::default())
                .await
                .map(|(s, p)| (s, p, Vec::new())),
            Some((prior, private)) => self
                .resource
                .plan_update(
                    &mut d,
                    prior.clone(),
                    proposed,
                    config.clone(),
                    private.clone(),
                    ValueEmpty::default(),
                )
                .await
                .map(|(s, p, r)| (s, p, r.iter().map(ToString::to_string).collect())),
        };
        // Terraform refuses a plan with errors, whatever the handler returned.
        let failed = !d.errors.is_empty();
        match planned {
            Some((state, private, replace)) if !failed => Planned {
                state: Some(state),
                private,
                replace,
                diags: diags(&d),
            },
            _ => Planned {
                state: None,
                private: P::default(),
                replace: Vec::new(),
                diags: diags(&d),
            },
        }
    }

    /// Applies a plan: create, or update (a replacement is a create after the destroy).
    pub async fn apply(
        &self,
        prior: Option<&S>,
        planned: &Planned<S, P>,
        config: &S,
    ) -> (Option<(S, P)>, Vec<Diag>) {
        let mut d = Diagnostics::default();
        let state = planned.state.clone().expect("a successful plan");
        let out = match (prior, planned.replace.is_empty()) {
            (Some(prior), true) => {
                self.resource
                    .update(
                        &mut d,
                        prior.clone(),
                        state,
                        config.clone(),
                        planned.private.clone(),
                        ValueEmpty::default(),
                    )
                    .await
            }
            _ => {
                self.resource
                    .create(
                        &mut d,
                        state,
                        config.clone(),
                        planned.private.clone(),
                        ValueEmpty::default(),
                    )
                    .await
            }
        };
        (out, diags(&d))
    }

    /// `terraform apply`: plan, then apply when the plan succeeded.
    pub async fn plan_and_apply(
        &self,
        prior: Option<(&S, &P)>,
        config: &S,
    ) -> (Option<(S, P)>, Vec<Diag>) {
        let planned = self.plan(prior, config).await;
        if planned.state.is_none() {
            return (None, planned.diags);
        }
        let (out, mut applied) = self.apply(prior.map(|(s, _)| s), &planned, config).await;
        let mut all = planned.diags;
        all.append(&mut applied);
        (out, all)
    }

    pub async fn read(&self, state: &S, private: &P) -> (Option<(S, P)>, Vec<Diag>) {
        let mut d = Diagnostics::default();
        let out = self
            .resource
            .read(
                &mut d,
                state.clone(),
                private.clone(),
                ValueEmpty::default(),
            )
            .await;
        (out, diags(&d))
    }

    /// `terraform destroy` of one resource: plan the destroy, then destroy when the plan
    /// succeeded. True when the resource is gone from state.
    pub async fn plan_and_destroy(&self, prior: &S, private: &P) -> (bool, Vec<Diag>) {
        let (planned, mut all) = self.plan_destroy(prior, private).await;
        let Some(private) = planned else {
            return (false, all);
        };
        let mut d = Diagnostics::default();
        let gone = self
            .resource
            .destroy(&mut d, prior.clone(), private, ValueEmpty::default())
            .await
            .is_some()
            && d.errors.is_empty();
        all.append(&mut diags(&d));
        (gone, all)
    }

    #[cfg(test)]
    /// The apply of a destroy alone (its plan-time checks skipped, as when the cluster was too
    /// slow to answer at plan time). True when the resource is gone from state.
    pub async fn destroy(&self, prior: &S, private: &P) -> (bool, Vec<Diag>) {
        let mut d = Diagnostics::default();
        let gone = self
            .resource
            .destroy(
                &mut d,
                prior.clone(),
                private.clone(),
                ValueEmpty::default(),
            )
            .await
            .is_some()
            && d.errors.is_empty();
        (gone, diags(&d))
    }

    /// The plan of a destroy: the private state for it, None when refused.
    pub async fn plan_destroy(&self, prior: &S, private: &P) -> (Option<P>, Vec<Diag>) {
        let mut d = Diagnostics::default();
        let planned = self
            .resource
            .plan_destroy(
                &mut d,
                prior.clone(),
                private.clone(),
                ValueEmpty::default(),
            )
            .await;
        let ok = d.errors.is_empty();
        (planned.filter(|_| ok), diags(&d))
    }

    pub async fn import(&self, id: &str) -> (Option<(S, P)>, Vec<Diag>) {
        let mut d = Diagnostics::default();
        let out = self.resource.import(&mut d, id.to_string()).await;
        (out, diags(&d))
    }
}

/// The handlers of every resource over one admin API.
pub(crate) struct Handlers {
    /// For scenarios and tests that change the cluster behind the shared view.
    pub ctx: Arc<ProviderContext>,
    pub cluster_config: Driver<ClusterConfigResource>,
    pub node: Driver<NodeResource>,
    pub snapshot: Driver<PartitionSnapshotResource>,
    #[cfg(test)]
    pub gate: Driver<RestartGateResource>,
}

impl Handlers {
    pub fn new(api: Arc<dyn AdminApi>) -> Handlers {
        let ctx = Arc::new(ProviderContext::with_api(api));
        Handlers {
            cluster_config: Driver {
                resource: ClusterConfigResource::new(ctx.clone()),
            },
            node: Driver {
                resource: NodeResource::new(ctx.clone()),
            },
            snapshot: Driver {
                resource: PartitionSnapshotResource::new(ctx.clone()),
            },
            #[cfg(test)]
            gate: Driver {
                resource: RestartGateResource::new(ctx.clone()),
            },
            ctx,
        }
    }
}

/// A transcript line per diagnostic: what the user reads first, and where it points.
fn lines(diags: &[Diag]) -> Vec<String> {
    diags
        .iter()
        .map(|d| {
            format!(
                "{}: {} @{}",
                if d.error { "error" } else { "warning" },
                d.summary,
                d.attribute
            )
        })
        .collect()
}

fn s(v: &str) -> Value<String> {
    Value::Value(v.to_string())
}

fn cluster_name(st: &cluster_config::State) -> String {
    crate::tf::value::known_str(&st.cluster_name)
        .unwrap_or_default()
        .to_string()
}

fn cluster_config_values(st: &cluster_config::State) -> String {
    format!(
        "cluster_name={:?} log_provider={:?} log_replication={:?} partition_replication={:?} \
         log_nodeset_size={:?} num_partitions={:?} provision={:?} wait_for_logs={:?}",
        st.cluster_name,
        st.log_provider,
        st.log_replication,
        st.partition_replication,
        st.log_nodeset_size,
        st.num_partitions,
        st.provision,
        st.wait_for_logs
    )
}

/// On a fresh, unprovisioned node `n1` of cluster `cluster` with every role: provision with
/// replication 1 and wait for the logs; refresh; plan again (empty); refuse more copies than the
/// node can hold; then `restate_node` for n1, and a snapshot without a repository.
pub async fn provision_configure_refuse(api: Arc<dyn AdminApi>) -> Vec<String> {
    let h = Handlers::new(api);
    let mut out = Vec::new();
    let config = cluster_config::State {
        provision: Value::Value(true),
        num_partitions: Value::Value(2),
        log_provider: s("replicated"),
        log_replication: s("1"),
        ..Default::default()
    };
    let (applied, d) = h.cluster_config.plan_and_apply(None, &config).await;
    out.push("apply provision".to_string());
    out.extend(lines(&d));
    let Some((state, private)) = applied else {
        return out;
    };
    out.push(cluster_config_values(&state));
    let (read, d) = h.cluster_config.read(&state, &private).await;
    out.extend(lines(&d));
    let Some((state, private)) = read else {
        return out;
    };
    out.push(format!("read {}", cluster_config_values(&state)));
    let again = h
        .cluster_config
        .plan(Some((&state, &private)), &config)
        .await;
    out.extend(lines(&again.diags));
    out.push(format!(
        "plan again: no changes = {}",
        again.state.as_ref() == Some(&state)
    ));

    let three = cluster_config::State {
        log_replication: s("3"),
        ..config.clone()
    };
    let (refused, d) = h
        .cluster_config
        .plan_and_apply(Some((&state, &private)), &three)
        .await;
    out.push(format!(
        "apply log_replication 3: applied = {}",
        refused.is_some()
    ));
    out.extend(lines(&d));

    let (imported, d) = h.cluster_config.import(&cluster_name(&state)).await;
    out.extend(lines(&d));
    if let Some((imported, private)) = imported {
        let (read, d) = h.cluster_config.read(&imported, &private).await;
        out.extend(lines(&d));
        if let Some((read, _)) = read {
            out.push(format!("imported {}", cluster_config_values(&read)));
        }
    }

    let n1 = node::State {
        name: s("n1"),
        roles: crate::tf::value::string_list(crate::domain::Role::ALL.map(|r| r.as_str())),
        ..Default::default()
    };
    let (node, d) = h.node.plan_and_apply(None, &n1).await;
    out.push("apply restate_node n1".to_string());
    out.extend(lines(&d));
    if let Some((n, _)) = node {
        out.push(format!(
            "node n1: node_id={:?} alive={:?} roles={:?} worker_state={:?} storage={:?}",
            n.node_id, n.alive, n.roles, n.worker_state, n.log_server_storage_state
        ));
    }

    let snapshot = partition_snapshot::State::default();
    let (taken, d) = h.snapshot.plan_and_apply(None, &snapshot).await;
    out.push(format!("apply snapshot: taken = {}", taken.is_some()));
    out.extend(lines(&d));
    out
}

fn node_values(n: &node::State) -> String {
    format!(
        "name={:?} node_id={:?} alive={:?} worker_state={:?} storage={:?} metadata_member={:?}",
        n.name,
        n.node_id,
        n.alive,
        n.worker_state,
        n.log_server_storage_state,
        n.metadata_server_member
    )
}

/// On a provisioned cluster of three nodes n1, n2, n3 with every role, partitions and logs at
/// replication 2: track n3; drain it, make its log server read-only, take it out of the
/// metadata servers (each a diff of one attribute, applied and waited for); remove it by
/// destroying its resource; it is gone from the cluster; then removing n2 too is refused at
/// plan, since two copies no longer fit.
pub async fn lifecycle_of_a_node(api: Arc<dyn AdminApi>) -> Vec<String> {
    let h = Handlers::new(api.clone());
    let mut out = Vec::new();
    let config = |name: &str| node::State {
        name: s(name),
        roles: crate::tf::value::string_list(crate::domain::Role::ALL.map(|r| r.as_str())),
        timeouts: Value::Value(
            serde_json::from_value(serde_json::json!({
                "create": "60s", "update": "90s", "delete": "180s"
            }))
            .expect("a timeouts block"),
        ),
        ..Default::default()
    };
    let (tracked, d) = h.node.plan_and_apply(None, &config("n3")).await;
    out.push("apply restate_node n3".to_string());
    out.extend(lines(&d));
    let Some((mut state, mut private)) = tracked else {
        return out;
    };
    out.push(node_values(&state));
    let mut wanted = config("n3");
    for (change, set) in [
        (
            "worker_state = draining",
            (|c: &mut node::State| c.worker_state = s("draining")) as fn(&mut node::State),
        ),
        ("log_server_storage_state = read-only", |c| {
            c.log_server_storage_state = s("read-only")
        }),
        ("metadata_server_member = false", |c| {
            c.metadata_server_member = Value::Value(false)
        }),
    ] {
        set(&mut wanted);
        let (applied, d) = h
            .node
            .plan_and_apply(Some((&state, &private)), &wanted)
            .await;
        out.push(format!("apply {change}: applied = {}", applied.is_some()));
        out.extend(lines(&d));
        let Some(applied) = applied else {
            return out;
        };
        (state, private) = applied;
        let (read, d) = h.node.read(&state, &private).await;
        out.extend(lines(&d));
        if let Some((read, _)) = read {
            out.push(format!("read {}", node_values(&read)));
        }
    }
    let (removed, d) = h.node.plan_and_destroy(&state, &private).await;
    out.push(format!("destroy n3: removed = {removed}"));
    out.extend(lines(&d));
    h.ctx.invalidate().await;
    let (read, d) = h.node.read(&state, &private).await;
    out.extend(lines(&d));
    out.push(format!(
        "read n3 after its removal: in state = {}",
        read.is_some()
    ));

    // A later `terraform apply`: a new provider process.
    let h = Handlers::new(api);
    let (n2, d) = h.node.plan_and_apply(None, &config("n2")).await;
    out.extend(lines(&d));
    if let Some((n2, n2_private)) = n2 {
        let (planned, d) = h.node.plan_destroy(&n2, &n2_private).await;
        out.push(format!("plan destroy n2: planned = {}", planned.is_some()));
        out.extend(lines(&d));
    }
    out
}
