//! `restate_cluster_status`: what the cluster reports now — nodes, partitions, logs and
//! configuration — for outputs, checks and `precondition`s in modules.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{DataSource, Diagnostics};

use crate::client::metadata::LogsView;
use crate::client::{ClusterConfig, ClusterView, Replication};
use crate::provider::Shared;
use crate::tf::{self, computed};

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
pub struct State {
    #[serde(default)]
    pub cluster_name: Value<String>,
    #[serde(default)]
    pub provisioned: Value<bool>,
    #[serde(default)]
    pub nodes: Value<Vec<NodeStatus>>,
    #[serde(default)]
    pub partitions: Value<Vec<PartitionStatus>>,
    #[serde(default)]
    pub logs: Value<Vec<LogStatus>>,
    #[serde(default)]
    pub config: Value<ConfigStatus>,
}

pub struct ClusterStatusDataSource {
    shared: Arc<Shared>,
}

impl ClusterStatusDataSource {
    pub fn new(shared: Arc<Shared>) -> Self {
        ClusterStatusDataSource { shared }
    }
}

fn canonical(r: &Option<String>) -> Option<String> {
    r.as_ref().map(|s| {
        s.parse::<Replication>()
            .map_or(s.clone(), |r| r.canonical())
    })
}

fn nodes(view: &ClusterView) -> Vec<NodeStatus> {
    view.nodes
        .iter()
        .map(|n| {
            let mut roles = n.record.roles.clone();
            roles.sort();
            NodeStatus {
                node_id: n.record.node_id.into(),
                name: n.record.name.clone(),
                address: n.record.address.clone(),
                roles,
                alive: n.alive,
                generation: n.record.generation.into(),
                binary_version: n.record.binary_version.clone(),
                log_server_storage_state: n.record.log_server_storage_state.clone(),
                worker_state: n.record.worker_state.clone(),
                metadata_server_state: n.record.metadata_server_state.clone(),
                location: n.record.location.clone(),
            }
        })
        .collect()
}

/// One entry per partition in the table: its leader and the nodes running a processor for it.
fn partitions(view: &ClusterView, table: &[u32]) -> Vec<PartitionStatus> {
    table
        .iter()
        .map(|&pid| {
            let procs: Vec<_> = view
                .processors
                .iter()
                .filter(|p| p.partition_id == pid)
                .collect();
            let leader = procs.iter().find(|p| p.leader);
            let pick = |f: fn(&crate::client::cluster::Processor) -> Option<u64>| {
                leader.map_or_else(|| procs.iter().filter_map(|p| f(p)).max(), |l| f(l))
            };
            PartitionStatus {
                partition_id: pid.into(),
                leader_node_id: leader.map(|l| l.node_id.into()),
                replica_set: procs.iter().map(|p| p.node_id.into()).collect(),
                applied_lsn: pick(|p| p.applied_lsn).map(|l| l as i64),
                archived_lsn: pick(|p| p.archived_lsn).map(|l| l as i64),
            }
        })
        .collect()
}

fn logs(view: &LogsView) -> Vec<LogStatus> {
    view.logs
        .iter()
        .map(|l| LogStatus {
            log_id: l.log_id.into(),
            provider: l.provider.clone(),
            replication: l.replication.as_ref().map(Replication::canonical),
            nodeset: {
                // Sorted, so an unchanged nodeset never shows as a diff.
                let mut ids: Vec<i64> = l.nodeset.iter().map(|n| i64::from(*n)).collect();
                ids.sort_unstable();
                ids
            },
        })
        .collect()
}

fn config(c: &ClusterConfig) -> ConfigStatus {
    ConfigStatus {
        log_provider: c.log_provider.clone(),
        log_replication: canonical(&c.log_replication),
        partition_replication: canonical(&c.partition_replication),
        log_nodeset_size: c.log_nodeset_size.into(),
        num_partitions: c.num_partitions.into(),
    }
}

#[async_trait]
impl DataSource for ClusterStatusDataSource {
    type State<'a> = State;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, List, Number, Object, String as Str};
        let obj = |fields: &[(&str, AttributeType)]| {
            Object(
                fields
                    .iter()
                    .map(|(k, t)| (k.to_string(), t.clone()))
                    .collect(),
            )
        };
        let list = |t: AttributeType| List(Box::new(t));
        let node = obj(&[
            ("node_id", Number),
            ("name", Str),
            ("address", Str),
            ("roles", list(Str)),
            ("alive", Bool),
            ("generation", Number),
            ("binary_version", Str),
            ("log_server_storage_state", Str),
            ("worker_state", Str),
            ("metadata_server_state", Str),
            ("location", Str),
        ]);
        let partition = obj(&[
            ("partition_id", Number),
            ("leader_node_id", Number),
            ("replica_set", list(Number)),
            ("applied_lsn", Number),
            ("archived_lsn", Number),
        ]);
        let log = obj(&[
            ("log_id", Number),
            ("provider", Str),
            ("replication", Str),
            ("nodeset", list(Number)),
        ]);
        let config = obj(&[
            ("log_provider", Str),
            ("log_replication", Str),
            ("partition_replication", Str),
            ("log_nodeset_size", Number),
            ("num_partitions", Number),
        ]);
        let attributes = HashMap::from([
            ("cluster_name".to_string(), computed(Str, "The cluster name the node reports.")),
            ("provisioned".to_string(), computed(Bool, "Whether the cluster is provisioned. When false, the rest is empty.")),
            ("nodes".to_string(), computed(list(node), "Nodes of the nodes configuration, with liveness from the cluster controller.")),
            ("partitions".to_string(), computed(list(partition), "Every partition: its leader, the nodes running a processor for it (`replica_set`), and the leader's applied and archived (snapshot) LSNs.")),
            ("logs".to_string(), computed(list(log), "Every log's current (tail) segment: provider, replication, nodeset.")),
            ("config".to_string(), computed(config, "The cluster configuration (null when not provisioned).")),
        ]);
        Some(Schema {
            version: 0,
            block: Block {
                version: 0,
                attributes,
                blocks: HashMap::new(),
                description: Description::markdown(
                    "The state of the Restate cluster, as the cluster reports it now.",
                ),
                deprecated: false,
            },
        })
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        _config: State,
        _meta: ValueEmpty,
    ) -> Option<State> {
        let (client, ident) = self.shared.connect(diags).await?;
        let mut state = State {
            cluster_name: Value::Value(ident.cluster_name.clone()),
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
        let read = async {
            let view = self.shared.cluster_view(&client, false).await?;
            let table = client.partition_ids().await?;
            let logs_view = client.logs().await?;
            let cfg = client.cluster_config().await?;
            Ok::<_, crate::client::Error>((view, table, logs_view, cfg))
        };
        match read.await {
            Ok((view, table, logs_view, cfg)) => {
                state.nodes = Value::Value(nodes(&view));
                state.partitions = Value::Value(partitions(&view, &table));
                state.logs = Value::Value(logs(&logs_view));
                state.config = Value::Value(config(&cfg));
                Some(state)
            }
            Err(e) => {
                tf::client_error(diags, "Reading the cluster status failed", &e);
                None
            }
        }
    }
}
