//! `restate_partition_snapshot`: a snapshot of every (or the given) partition in the cluster's
//! snapshot repository — what new nodes need before they can join a cluster that ran on the local
//! loglet. Changing anything takes new snapshots (replacement); destroying leaves them in place.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Block, Description, NestedBlock, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::client::snapshots::{create_snapshots, SnapshotOutcome};
use crate::client::AdminClient;
use crate::provider::Shared;
use crate::tf::{self, computed, optional_computed, Timeouts};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub partition_id: i64,
    pub snapshot_id: String,
    pub log_id: i64,
    pub min_applied_lsn: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub id: Value<String>,
    #[serde(default)]
    pub partition_ids: Value<Vec<Value<i64>>>,
    #[serde(default)]
    pub trim_log: Value<bool>,
    #[serde(default)]
    pub triggers: Value<BTreeMap<String, Value<String>>>,
    #[serde(default, with = "crate::tf::optional_block")]
    pub timeouts: Value<Timeouts>,
    #[serde(default)]
    pub created_at: Value<String>,
    #[serde(default)]
    pub snapshots: Value<Vec<Snapshot>>,
}

pub struct PartitionSnapshotResource {
    shared: Arc<Shared>,
}

impl PartitionSnapshotResource {
    pub fn new(shared: Arc<Shared>) -> Self {
        PartitionSnapshotResource { shared }
    }
}

fn check_config(diags: &mut Diagnostics, c: &State) {
    for id in tf::known_vec(&c.partition_ids).unwrap_or_default() {
        if !(0..=u16::MAX as i64).contains(&id) {
            diags.error(
                "Invalid partition id",
                format!("{id} is not a partition id (0 to {})", u16::MAX),
                AttributePath::new("partition_ids"),
            );
        }
    }
    if let Value::Value(t) = &c.timeouts {
        tf::check_timeouts(diags, &[("create", &t.create), ("update", &t.update)]);
    }
}

/// Ids not in the partition table, as an error (the server panics on an unknown id, so none is
/// ever sent).
fn unknown_ids(wanted: &[i64], table: &[u32]) -> Option<(String, String)> {
    let missing: Vec<String> = wanted
        .iter()
        .filter(|id| !table.iter().any(|t| i64::from(*t) == **id))
        .map(|id| id.to_string())
        .collect();
    (!missing.is_empty()).then(|| {
        (
            "Unknown partition ids".to_string(),
            format!(
                "{} not in the cluster's partition table (it has partitions {}). Remove {} from \
                 partition_ids, or leave partition_ids out to snapshot every partition.",
                match missing.as_slice() {
                    [one] => format!("Partition {one} is"),
                    many => format!("Partitions {} are", many.join(", ")),
                },
                describe_ids(table),
                if missing.len() == 1 { "it" } else { "them" },
            ),
        )
    })
}

fn describe_ids(ids: &[u32]) -> String {
    match (ids.first(), ids.last()) {
        (Some(a), Some(b)) if ids.len() as u32 == b - a + 1 && ids.len() > 2 => {
            format!("{a} to {b}")
        }
        _ => ids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

const REPOSITORY_HELP: &str = "Configure a snapshot repository on the nodes running these partitions: \
     `[worker.snapshots] destination` (s3://bucket/prefix, gs://… or az://…), plus `aws-region`, \
     `aws-endpoint-url`, `aws-allow-http`, `aws-access-key-id` / `aws-secret-access-key` or `aws-profile` \
     as the store needs — the `snapshots` block of restate_node_config renders them — and restart the nodes.";

fn snapshots_state(outcome: &SnapshotOutcome) -> Vec<Snapshot> {
    outcome
        .taken
        .iter()
        .map(|t| Snapshot {
            partition_id: t.partition_id.into(),
            snapshot_id: t.snapshot_id.clone(),
            log_id: t.log_id.into(),
            min_applied_lsn: t.min_applied_lsn as i64,
        })
        .collect()
}

impl PartitionSnapshotResource {
    async fn take(&self, diags: &mut Diagnostics, planned: State) -> Option<State> {
        let client: Arc<AdminClient> = self.shared.client(diags)?;
        let table = tf::ok_or_report(
            diags,
            "Reading the partition table failed",
            client.partition_ids().await,
        )?;
        let ids: Vec<u32> = match tf::known_vec(&planned.partition_ids) {
            Some(wanted) => {
                if let Some((summary, detail)) = unknown_ids(&wanted, &table) {
                    diags.error(summary, detail, AttributePath::new("partition_ids"));
                    return None;
                }
                wanted.into_iter().map(|id| id as u32).collect()
            }
            None => table,
        };
        let timeout = tf::timeout_of(&planned.timeouts, |t| &t.create);
        let trim = planned.trim_log == Value::Value(true);
        let outcome = create_snapshots(client, &ids, trim, timeout).await;
        self.shared.invalidate().await;
        if outcome.taken.is_empty()
            && !outcome.failed.is_empty()
            && outcome.failed.iter().all(|f| f.not_configured)
        {
            diags.root_error("No snapshot repository is configured", REPOSITORY_HELP);
            return None;
        }
        let mut state = planned;
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        state.id = Value::Value(now.clone());
        state.created_at = Value::Value(now);
        state.partition_ids =
            Value::Value(ids.iter().map(|i| Value::Value(i64::from(*i))).collect());
        state.snapshots = Value::Value(snapshots_state(&outcome));
        if !outcome.failed.is_empty() {
            let lines: Vec<String> = outcome
                .failed
                .iter()
                .map(|f| format!("  - partition {}: {}", f.partition_id, f.reason))
                .collect();
            let help = if outcome.failed.iter().any(|f| f.not_configured) {
                format!("\n\n{REPOSITORY_HELP}")
            } else {
                String::new()
            };
            diags.root_error(
                format!("Snapshots failed for {} of {} partitions", outcome.failed.len(), ids.len()),
                format!(
                    "{}\nThe snapshots that succeeded are kept in state and the resource is tainted: the next \
                     apply takes them again, for every partition.{help}",
                    lines.join("\n")
                ),
            );
            if outcome.taken.is_empty() {
                return None;
            }
        }
        Some(state)
    }
}

#[async_trait]
impl Resource for PartitionSnapshotResource {
    type State<'a> = State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, List, Map, Number, Object, Set, String as Str};
        let snapshot = Object(HashMap::from([
            ("partition_id".to_string(), Number),
            ("snapshot_id".to_string(), Str),
            ("log_id".to_string(), Number),
            ("min_applied_lsn".to_string(), Number),
        ]));
        let attributes = HashMap::from([
            ("id".to_string(), computed(Str, "When the snapshots were taken (RFC 3339).")),
            ("partition_ids".to_string(), optional_computed(Set(Box::new(Number)), "Partitions to snapshot. Default: every partition in the partition table. Unknown ids are an error (checked at plan time when the cluster answers)." )),
            ("trim_log".to_string(), optional_computed(Bool, "Trim each log up to its snapshot (default `false`).")),
            ("triggers".to_string(), tf::optional(Map(Box::new(Str)), "Any change takes new snapshots (the resource is replaced).")),
            ("created_at".to_string(), computed(Str, "When the snapshots were taken (RFC 3339).")),
            ("snapshots".to_string(), computed(List(Box::new(snapshot)), "One entry per partition: `partition_id`, `snapshot_id`, `log_id`, `min_applied_lsn`.")),
        ]);
        Some(Schema {
            version: 0,
            block: Block {
                version: 0,
                attributes,
                blocks: HashMap::from([(
                    "timeouts".to_string(),
                    NestedBlock::Optional(tf::timeouts_block(&["create", "update"])),
                )]),
                description: Description::markdown(
                    "Snapshots of the cluster's partitions in its snapshot repository. Destroying it leaves the \
                     snapshots in the repository.",
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
        _diags: &mut Diagnostics,
        state: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        // Snapshots are immutable records of what was taken; there is nothing to refresh.
        Some((state, private))
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
        planned.id = Value::Unknown;
        planned.created_at = Value::Unknown;
        planned.snapshots = Value::Unknown;
        if planned.trim_log.is_null() {
            planned.trim_log = Value::Value(false);
        }
        match tf::known_vec(&config.partition_ids) {
            Some(wanted) => {
                // Best effort at plan time: the cluster may not exist yet.
                if let Some(client) = self.shared.client_if_known() {
                    let probe = tokio::time::timeout(
                        std::time::Duration::from_secs(3),
                        client.partition_ids(),
                    );
                    if let Ok(Ok(table)) = probe.await {
                        if let Some((summary, detail)) = unknown_ids(&wanted, &table) {
                            diags.error(summary, detail, AttributePath::new("partition_ids"));
                        }
                    }
                }
            }
            None => planned.partition_ids = Value::Unknown,
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
        check_config(diags, &config);
        let mut planned = proposed;
        if planned.trim_log.is_null() {
            planned.trim_log = Value::Value(false);
        }
        let mut replace = Vec::new();
        if planned.triggers != prior.triggers {
            replace.push(AttributePath::new("triggers"));
        }
        if config.partition_ids.is_value() && planned.partition_ids != prior.partition_ids {
            replace.push(AttributePath::new("partition_ids"));
        }
        if planned.trim_log != prior.trim_log {
            replace.push(AttributePath::new("trim_log"));
        }
        if !replace.is_empty() {
            planned.id = Value::Unknown;
            planned.created_at = Value::Unknown;
            planned.snapshots = Value::Unknown;
            if config.partition_ids.is_null() {
                planned.partition_ids = Value::Unknown;
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
        let state = self.take(diags, planned).await?;
        Some((state, private))
    }

    /// Only `timeouts` can change in place; nothing to do on the cluster.
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
        let n = prior.snapshots.as_ref_option().map_or(0, Vec::len);
        diags.root_warning(
            "The snapshots stay in the repository",
            format!(
                "restate_partition_snapshot only stopped tracking {n} snapshots: Restate keeps them (and prunes old \
                 ones by [worker.snapshots] num-retained); nothing was deleted."
            ),
        );
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ids_are_named_with_the_table() {
        let (summary, detail) = unknown_ids(&[1, 7, 9], &[0, 1, 2, 3]).unwrap();
        assert_eq!(summary, "Unknown partition ids");
        assert!(
            detail.contains("Partitions 7, 9 are not") && detail.contains("partitions 0 to 3"),
            "{detail}"
        );
        assert!(unknown_ids(&[0, 3], &[0, 1, 2, 3]).is_none());
    }

    #[test]
    fn ids_must_fit_a_partition_id() {
        let mut diags = Diagnostics::default();
        let c = State {
            partition_ids: Value::Value(vec![
                Value::Value(-1),
                Value::Value(70000),
                Value::Value(2),
            ]),
            ..Default::default()
        };
        check_config(&mut diags, &c);
        assert_eq!(diags.errors.len(), 2);
    }
}
