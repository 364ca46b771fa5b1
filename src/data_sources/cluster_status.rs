//! `restate_cluster_status`: what the cluster reports now — nodes, partitions, logs and
//! configuration — for outputs, checks and `precondition`s in modules.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{DataSource, Diagnostics};

use crate::domain::cluster::PartitionSummary;
use crate::domain::{ClusterConfig, LogsView, NodeView};
use crate::tf::schema::{computed, schema, ObjectFields};
use crate::tf::{diag, ProviderContext};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node_id: i64,
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
    pub alive: bool,
    pub generation: i64,
    pub binary_version: String,
    pub log_server_storage_state: String,
    pub worker_state: String,
    pub metadata_server_state: String,
    pub location: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionStatus {
    pub partition_id: i64,
    pub leader_node_id: Option<i64>,
    pub replica_set: Vec<i64>,
    pub applied_lsn: Option<i64>,
    pub archived_lsn: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogStatus {
    pub log_id: i64,
    pub provider: String,
    pub replication: Option<String>,
    pub nodeset: Vec<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigStatus {
    pub log_provider: String,
    pub log_replication: Option<String>,
    pub partition_replication: Option<String>,
    pub log_nodeset_size: i64,
    pub num_partitions: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub cluster_name: Value<String>,
    pub cluster_fingerprint: Value<String>,
    pub provisioned: Value<bool>,
    pub nodes: Value<Vec<NodeStatus>>,
    pub partitions: Value<Vec<PartitionStatus>>,
    pub logs: Value<Vec<LogStatus>>,
    pub config: Value<ConfigStatus>,
}

pub struct ClusterStatusDataSource {
    ctx: Arc<ProviderContext>,
}

impl ClusterStatusDataSource {
    pub fn new(ctx: Arc<ProviderContext>) -> Self {
        ClusterStatusDataSource { ctx }
    }
}

fn lsn(l: Option<u64>) -> Option<i64> {
    l.map(|l| i64::try_from(l).unwrap_or(i64::MAX))
}

fn node(n: &NodeView) -> NodeStatus {
    let r = &n.record;
    let mut roles: Vec<String> = r.roles.iter().map(|r| r.to_string()).collect();
    roles.sort();
    NodeStatus {
        node_id: r.node_id.into(),
        name: r.name.clone(),
        address: r.address.clone(),
        roles,
        alive: n.alive,
        generation: r.generation.into(),
        binary_version: r.binary_version.clone(),
        log_server_storage_state: r.log_server_storage_state.clone(),
        worker_state: r.worker_state.clone(),
        metadata_server_state: r.metadata_server_state.clone(),
        location: r.location.as_str().to_string(),
    }
}

fn partition(p: &PartitionSummary) -> PartitionStatus {
    PartitionStatus {
        partition_id: p.partition_id.into(),
        leader_node_id: p.leader.map(i64::from),
        replica_set: p.replica_set.iter().map(|n| i64::from(*n)).collect(),
        applied_lsn: lsn(p.applied_lsn),
        archived_lsn: lsn(p.archived_lsn),
    }
}

fn logs(view: &LogsView) -> Vec<LogStatus> {
    view.logs
        .iter()
        .map(|l| {
            // Sorted, so an unchanged nodeset never shows as a diff.
            let mut nodeset: Vec<i64> = l.nodeset.iter().map(|n| i64::from(*n)).collect();
            nodeset.sort_unstable();
            LogStatus {
                log_id: l.log_id.into(),
                provider: l.provider.to_string(),
                replication: l.replication.as_ref().map(|r| r.canonical()),
                nodeset,
            }
        })
        .collect()
}

fn config(c: &ClusterConfig) -> ConfigStatus {
    ConfigStatus {
        log_provider: c.log_provider.to_string(),
        log_replication: c.log_replication.as_ref().map(|r| r.canonical()),
        partition_replication: c.partition_replication.as_ref().map(|r| r.canonical()),
        log_nodeset_size: c.log_nodeset_size.into(),
        num_partitions: c.num_partitions.into(),
    }
}

fn node_fields() -> ObjectFields {
    use AttributeType::{Bool, List, Number, String as Str};
    ObjectFields(vec![
        ("node_id", Number, "plain node id (2 for N2)."),
        ("name", Str, "the node's `node-name`."),
        ("address", Str, "its advertised fabric address."),
        (
            "roles",
            List(Box::new(Str)),
            "its roles, sorted (1.2's `metadata-store` reads as `metadata-server`).",
        ),
        ("alive", Bool, "whether the cluster controller sees it alive."),
        ("generation", Number, "grows each time the node restarts."),
        (
            "binary_version",
            Str,
            "the Restate version it runs (empty before 1.6).",
        ),
        (
            "log_server_storage_state",
            Str,
            "`provisioning`, `read-write`, `read-only`, `disabled`, … (empty without the log-server role).",
        ),
        (
            "worker_state",
            Str,
            "`provisioning`, `active`, `draining`, `disabled`.",
        ),
        (
            "metadata_server_state",
            Str,
            "`member`, `standby`, `provisioning`.",
        ),
        ("location", Str, "`region.zone`, or empty."),
    ])
}

fn partition_fields() -> ObjectFields {
    use AttributeType::{List, Number};
    ObjectFields(vec![
        ("partition_id", Number, "the partition."),
        (
            "leader_node_id",
            Number,
            "the node whose processor leads it (null while none does).",
        ),
        (
            "replica_set",
            List(Box::new(Number)),
            "the nodes running a processor for it.",
        ),
        (
            "applied_lsn",
            Number,
            "the leader's last applied log position.",
        ),
        (
            "archived_lsn",
            Number,
            "the log position its latest snapshot covers (null before the first snapshot).",
        ),
    ])
}

fn log_fields() -> ObjectFields {
    use AttributeType::{List, Number, String as Str};
    ObjectFields(vec![
        ("log_id", Number, "the log."),
        (
            "provider",
            Str,
            "the provider of its tail segment (`local`, `replicated`).",
        ),
        (
            "replication",
            Str,
            "the tail segment's replication in its shortest form (`\"2\"`, `\"{node: 3, zone: 2}\"`); null for `local`.",
        ),
        (
            "nodeset",
            List(Box::new(Number)),
            "the nodes the tail segment writes to, sorted.",
        ),
    ])
}

fn config_fields() -> ObjectFields {
    use AttributeType::{Number, String as Str};
    ObjectFields(vec![
        ("log_provider", Str, "`local` or `replicated`."),
        (
            "log_replication",
            Str,
            "log replication in its shortest form; null with the local provider.",
        ),
        (
            "partition_replication",
            Str,
            "partition replication in its shortest form.",
        ),
        (
            "log_nodeset_size",
            Number,
            "target nodeset size, 0 = automatic.",
        ),
        ("num_partitions", Number, "the number of partitions."),
    ])
}

#[async_trait]
impl DataSource for ClusterStatusDataSource {
    type State<'a> = State;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, List, String as Str};
        let list = |f: &ObjectFields| List(Box::new(f.object_type()));
        let (nodes, partitions, logs, config) = (
            node_fields(),
            partition_fields(),
            log_fields(),
            config_fields(),
        );
        Some(schema(
            "The state of the Restate cluster, as the cluster reports it now.",
            vec![
                (
                    "cluster_name",
                    computed(Str, "The cluster name the node reports."),
                ),
                (
                    "cluster_fingerprint",
                    computed(
                        Str,
                        "The cluster's fingerprint (null when not provisioned): two clusters of the same \
                         name have different ones.",
                    ),
                ),
                (
                    "provisioned",
                    computed(
                        Bool,
                        "Whether the cluster is provisioned. When false, the lists are empty and `config` is null.",
                    ),
                ),
                (
                    "nodes",
                    computed(
                        list(&nodes),
                        &nodes.describe("Nodes of the nodes configuration, with liveness from the cluster controller."),
                    ),
                ),
                (
                    "partitions",
                    computed(
                        list(&partitions),
                        &partitions.describe("Every partition of the partition table."),
                    ),
                ),
                (
                    "logs",
                    computed(
                        list(&logs),
                        &logs.describe("Every log's current (tail) segment."),
                    ),
                ),
                (
                    "config",
                    computed(
                        config.object_type(),
                        &config.describe_object("The cluster configuration (null when not provisioned)."),
                    ),
                ),
            ],
            vec![],
        ))
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        _config: State,
        _meta: ValueEmpty,
    ) -> Option<State> {
        let (api, ident) = self.ctx.connect(diags).await?;
        let mut state = State {
            cluster_name: Value::Value(ident.cluster_name.clone()),
            cluster_fingerprint: Value::Null,
            provisioned: Value::Value(ident.provisioned),
            nodes: Value::Value(Vec::new()),
            partitions: Value::Value(Vec::new()),
            logs: Value::Value(Vec::new()),
            config: Value::Null,
        };
        if !ident.provisioned {
            // Before provisioning the admin port accepts connections and never answers: ask nothing else.
            return Some(state);
        }
        // The four reads are independent: sent together, the data source costs the slowest of
        // them rather than their sum.
        let read = async {
            tokio::try_join!(
                self.ctx.view(api.as_ref(), false),
                api.partition_ids(),
                api.logs(),
                async { Ok(api.stored_config().await?.config) },
            )
        };
        let (view, table, logs_view, cfg) =
            diag::client_ok(diags, "Reading the cluster status failed", read.await)?;
        state.cluster_fingerprint = Value::Value(view.cluster_fingerprint.to_string());
        state.nodes = Value::Value(view.nodes.iter().map(node).collect());
        state.partitions = Value::Value(view.partitions(&table).iter().map(partition).collect());
        state.logs = Value::Value(logs(&logs_view));
        state.config = Value::Value(config(&cfg));
        Some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fake::{FakeCluster, FakeState};

    /// The reads sent together still fill every part of the status from one cluster.
    #[tokio::test]
    async fn reads_nodes_partitions_logs_and_configuration() {
        let fake = Arc::new(FakeCluster::new(FakeState::provisioned("c", 3)));
        let source = ClusterStatusDataSource::new(Arc::new(ProviderContext::with_api(fake)));
        let mut diags = Diagnostics::default();
        let state = source
            .read(&mut diags, State::default(), ValueEmpty::default())
            .await
            .unwrap_or_else(|| panic!("{diags:?}"));
        assert_eq!(state.cluster_name, Value::Value("c".to_string()));
        assert!(matches!(state.cluster_fingerprint, Value::Value(_)));
        let len = |v: serde_json::Value| v.as_array().map_or(0, Vec::len);
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(len(json["nodes"].clone()), 1, "{json}");
        assert_eq!(len(json["partitions"].clone()), 3, "{json}");
        assert_eq!(len(json["logs"].clone()), 3, "{json}");
        assert!(json["config"].is_object(), "{json}");
    }
}
