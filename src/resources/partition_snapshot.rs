//! `restate_partition_snapshot`: a snapshot of every (or the given) partition in the cluster's
//! snapshot repository — what new nodes need before they can join a cluster that ran on the local
//! loglet. Changing anything takes new snapshots (replacement); destroying leaves them in place.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::domain::{rules, ClusterView, Error, Processor};
use crate::ops::snapshots::SnapshotOutcome;
use crate::ops::{self, AdminApi};
use crate::tf::context::probe;
use crate::tf::schema::{computed, optional, optional_computed, schema, ObjectFields};
use crate::tf::value::{known_str, known_vec};
use crate::tf::{diag, plan, validate, Op, ProviderContext, Timeouts};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub partition_id: i64,
    pub snapshot_id: String,
    pub log_id: i64,
    pub min_applied_lsn: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub id: Value<String>,
    pub cluster_fingerprint: Value<String>,
    pub partition_ids: Value<Vec<Value<i64>>>,
    pub trim_log: Value<bool>,
    pub triggers: Value<BTreeMap<String, Value<String>>>,
    #[serde(with = "crate::tf::value::optional_block")]
    pub timeouts: Value<Timeouts>,
    pub created_at: Value<String>,
    pub snapshots: Value<Vec<Snapshot>>,
}

/// What the state cannot say by itself: whether `partition_ids` was the default ("every
/// partition") or the user's list, so that removing a list from the configuration takes new
/// snapshots of every partition; and which node took each snapshot, the only one whose status
/// can later say the repository lost it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Private {
    pub every_partition: bool,
    /// Partition id -> the node that took its snapshot (reported it archived right after);
    /// partitions whose taker was not seen in time are missing.
    pub takers: BTreeMap<u32, u32>,
}

/// How long after taking the snapshots the provider waits for the controller to say which node
/// took each.
const TAKERS_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

pub struct PartitionSnapshotResource {
    ctx: Arc<ProviderContext>,
}

impl PartitionSnapshotResource {
    pub fn new(ctx: Arc<ProviderContext>) -> Self {
        PartitionSnapshotResource { ctx }
    }
}

fn snapshot_fields() -> ObjectFields {
    use AttributeType::{Number, String as Str};
    ObjectFields(vec![
        ("partition_id", Number, "the partition."),
        ("snapshot_id", Str, "the snapshot's id (`snap_…`)."),
        ("log_id", Number, "the partition's log."),
        (
            "min_applied_lsn",
            Number,
            "the log position the snapshot covers at least.",
        ),
    ])
}

/// The configured partition ids, checked; None when unset, unknown or refused (reported).
fn check(diags: &mut Diagnostics, c: &State) -> Option<Vec<u32>> {
    if matches!(&c.partition_ids, Value::Value(ids) if ids.is_empty()) {
        diag::input(
            diags,
            AttributePath::new("partition_ids"),
            "partition_ids",
            &Error::NoPartitions,
        );
        return None;
    }
    let ids = validate::check_each(diags, "partition_ids", &c.partition_ids, |id| {
        rules::partition_id(*id)
    });
    Timeouts::check(diags, &c.timeouts);
    ids
}

/// Ids not in the partition table are refused (the server panics on an unknown id, so none is
/// ever sent).
fn known_ids(wanted: &[u32], table: &[u32]) -> Result<(), Error> {
    let missing: Vec<u32> = wanted
        .iter()
        .filter(|id| !table.contains(id))
        .copied()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::UnknownPartitions {
            missing,
            table: table.to_vec(),
        })
    }
}

fn snapshots_state(outcome: &SnapshotOutcome) -> Vec<Snapshot> {
    outcome
        .taken
        .iter()
        .map(|t| Snapshot {
            partition_id: t.partition_id.into(),
            snapshot_id: t.snapshot_id.clone(),
            log_id: t.log_id.into(),
            min_applied_lsn: i64::try_from(t.min_applied_lsn).unwrap_or(i64::MAX),
        })
        .collect()
}

/// The partitions whose recorded snapshot the cluster no longer has, described; None when every
/// snapshot is still there or that cannot be told. `takers`: the node that took each.
fn lost_snapshots(
    state: &State,
    takers: &BTreeMap<u32, u32>,
    view: &ClusterView,
) -> Option<String> {
    let taken_at = known_str(&state.created_at)
        .and_then(|at| humantime::parse_rfc3339_weak(at).ok())?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let taken_at_ms = u64::try_from(taken_at.as_millis()).ok()?;
    let lost: Vec<String> = state
        .snapshots
        .as_ref_option()?
        .iter()
        .filter_map(|s| {
            let pid = u32::try_from(s.partition_id).ok()?;
            let lsn = u64::try_from(s.min_applied_lsn).ok()?;
            let replicas: Vec<&Processor> = view
                .processors
                .iter()
                .filter(|p| p.partition_id == pid)
                .collect();
            let taker = takers.get(&pid).copied();
            (rules::snapshot_still_covers(lsn, taken_at_ms, taker, &replicas) == Some(false)).then(
                || {
                    let archived = replicas
                        .iter()
                        .find(|p| Some(p.node_id) == taker)
                        .and_then(|p| p.archived_lsn)
                        .unwrap_or_default();
                    format!(
                        "  - partition {pid}: snapshot {} covered LSN {lsn}; N{}, which took it, \
                         now reports archived LSN {archived}",
                        s.snapshot_id,
                        taker.unwrap_or_default()
                    )
                },
            )
        })
        .collect();
    (!lost.is_empty()).then(|| lost.join("\n"))
}

fn unknown_results(planned: &mut State) {
    plan::unknown(&mut [
        &mut planned.id,
        &mut planned.created_at,
        &mut planned.cluster_fingerprint,
    ]);
    planned.snapshots = Value::Unknown;
}

impl PartitionSnapshotResource {
    /// Takes the snapshots; the state, and the node that took each.
    async fn take(
        &self,
        diags: &mut Diagnostics,
        planned: State,
    ) -> Option<(State, BTreeMap<u32, u32>)> {
        let wanted = check(diags, &planned);
        if !diags.errors.is_empty() {
            return None;
        }
        let api: Arc<dyn AdminApi> = self.ctx.api_or_report(diags)?;
        let nodes = diag::client_ok(
            diags,
            "Reading the cluster failed",
            api.nodes_configuration().await,
        )?;
        let table = diag::client_ok(
            diags,
            "Reading the partition table failed",
            api.partition_ids().await,
        )?;
        let ids = match wanted {
            Some(wanted) => {
                if let Err(e) = known_ids(&wanted, &table) {
                    diag::refused(diags, &e);
                    return None;
                }
                wanted
            }
            None => table,
        };
        let timeout = Timeouts::of(&planned.timeouts, Op::Create);
        let outcome = ops::snapshots::create(api.clone(), &ids, timeout).await;
        self.ctx.invalidate().await;
        let takers = ops::snapshots::takers(api.as_ref(), &outcome.taken, TAKERS_WITHIN).await;
        diag::snapshots(diags, &outcome, ids.len());
        if outcome.taken.is_empty() {
            if diags.errors.is_empty() {
                diag::no_partitions(diags);
            }
            return None;
        }
        if planned.trim_log == Value::Value(true) {
            let trimmed = diag::client_ok(
                diags,
                "Trimming the logs failed",
                ops::snapshots::trim(api.as_ref(), &outcome.taken).await,
            );
            if let Some(trimmed) = trimmed {
                diag::trimmed_less(diags, &trimmed);
            }
        }
        let mut state = planned;
        state.cluster_fingerprint = Value::Value(nodes.cluster_fingerprint.to_string());
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        state.id = Value::Value(now.clone());
        state.created_at = Value::Value(now);
        state.partition_ids =
            Value::Value(ids.iter().map(|i| Value::Value(i64::from(*i))).collect());
        state.snapshots = Value::Value(snapshots_state(&outcome));
        Some((state, takers))
    }
}

#[async_trait]
impl Resource for PartitionSnapshotResource {
    type State<'a> = State;
    type PrivateState<'a> = Value<Private>;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, List, Map, Number, Set, String as Str};
        let fields = snapshot_fields();
        Some(schema(
            "Snapshots of the cluster's partitions in its snapshot repository. Any change takes new \
             snapshots (the resource is replaced). Destroying it leaves the snapshots in the repository. \
             Import is not supported: a snapshot is taken, not adopted.",
            vec![
                ("id", computed(Str, "When the snapshots were taken (RFC 3339).")),
                (
                    "cluster_fingerprint",
                    computed(
                        Str,
                        "The fingerprint of the cluster the snapshots were taken of: a later read that \
                         reaches a cluster with another fingerprint is an error, and the state is kept.",
                    ),
                ),
                (
                    "partition_ids",
                    optional_computed(
                        Set(Box::new(Number)),
                        "Partitions to snapshot. Default: every partition in the partition table. Unknown \
                         ids are refused (at plan time when the cluster answers).",
                    ),
                ),
                (
                    "trim_log",
                    optional_computed(
                        Bool,
                        "Trim each partition's log up to its snapshot, but never past what a running replica of \
                         the partition has applied (`GetClusterState`), so that every replica can still catch \
                         up from the log; a warning names each log trimmed less, or not at all. Default \
                         `false`.",
                    ),
                ),
                (
                    "triggers",
                    optional(
                        Map(Box::new(Str)),
                        "Any change takes new snapshots (the resource is replaced).",
                    ),
                ),
                (
                    "created_at",
                    computed(Str, "When the snapshots were taken (RFC 3339)."),
                ),
                (
                    "snapshots",
                    computed(
                        List(Box::new(fields.object_type())),
                        &fields.describe("One entry per partition snapshotted."),
                    ),
                ),
            ],
            vec![(
                "timeouts",
                Timeouts::block(&[(
                    Op::Create,
                    "taking the snapshots, retries of partitions that cannot be snapshotted yet included. \
                     Each export may take what is left of it; a call that times out is not repeated (its \
                     export may still run), and no call starts after it has passed",
                )]),
            )],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: State) -> Option<()> {
        check(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: State,
        private: Value<Private>,
        _meta: ValueEmpty,
    ) -> Option<(State, Value<Private>)> {
        // The snapshots are records of what was taken; the cluster they were taken of must still
        // be the one the provider reaches.
        let api = self.ctx.api_or_report(diags)?;
        let view = diag::client_ok(
            diags,
            "Reading the cluster failed",
            self.ctx.view(api.as_ref(), false).await,
        )?;
        let recorded = known_str(&state.cluster_fingerprint).and_then(|f| f.parse().ok());
        let endpoint = api.endpoints().join(", ");
        if let Err(e) = rules::check_fingerprint(
            recorded,
            &endpoint,
            &view.cluster_name,
            view.cluster_fingerprint,
        ) {
            diag::refused(diags, &e);
            return None;
        }
        let takers = match &private {
            Value::Value(p) => p.takers.clone(),
            _ => BTreeMap::new(),
        };
        if let Some(lost) = lost_snapshots(&state, &takers, &view) {
            diag::snapshots_lost(diags, &lost);
            return None;
        }
        let mut state = state;
        state.cluster_fingerprint = Value::Value(view.cluster_fingerprint.to_string());
        Some((state, private))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: State,
        config: State,
        _meta: ValueEmpty,
    ) -> Option<(State, Value<Private>)> {
        let wanted = check(diags, &config);
        let mut planned = proposed;
        unknown_results(&mut planned);
        plan::default_from_config(&mut planned.trim_log, &config.trim_log, false);
        plan::unknown_unless_configured(&mut planned.partition_ids, &config.partition_ids);
        if let (Some(wanted), Some(api)) = (wanted, self.ctx.api_if_known()) {
            // Best effort at plan time: the cluster may not exist yet.
            if let Some(table) = probe(api.partition_ids()).await {
                if let Err(e) = known_ids(&wanted, &table) {
                    diag::refused(diags, &e);
                }
            }
        }
        let private = Private {
            every_partition: config.partition_ids.is_null(),
            takers: BTreeMap::new(),
        };
        Some((planned, Value::Value(private)))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        proposed: State,
        config: State,
        private: Value<Private>,
        _meta: ValueEmpty,
    ) -> Option<(State, Value<Private>, Vec<AttributePath>)> {
        check(diags, &config);
        let mut planned = proposed;
        plan::default_from_config(&mut planned.trim_log, &config.trim_log, false);
        let mut replace = Vec::new();
        plan::requires_replace(&mut replace, "triggers", &prior.triggers, &planned.triggers);
        plan::requires_replace(&mut replace, "trim_log", &prior.trim_log, &planned.trim_log);
        let was_every_partition = match &private {
            Value::Value(p) => p.every_partition,
            // State written before this was recorded: every partition if it covered the table.
            _ => match self.ctx.api_if_known() {
                Some(api) => probe(api.partition_ids()).await.is_some_and(|table| {
                    known_vec(&prior.partition_ids).is_some_and(|ids| {
                        ids.len() == table.len()
                            && table.iter().all(|t| ids.contains(&i64::from(*t)))
                    })
                }),
                None => false,
            },
        };
        match &config.partition_ids {
            // Back to the default from a list: new snapshots of every partition.
            Value::Null if !was_every_partition => {
                replace.push(AttributePath::new("partition_ids"));
                planned.partition_ids = Value::Unknown;
            }
            Value::Null => {}
            _ => plan::requires_replace(
                &mut replace,
                "partition_ids",
                &prior.partition_ids,
                &planned.partition_ids,
            ),
        }
        if !replace.is_empty() {
            unknown_results(&mut planned);
        }
        let private = Private {
            every_partition: config.partition_ids.is_null(),
            // Kept unless the snapshots are taken again (then create records the new takers).
            takers: match (&private, replace.is_empty()) {
                (Value::Value(p), true) => p.takers.clone(),
                _ => BTreeMap::new(),
            },
        };
        Some((planned, Value::Value(private), replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: State,
        private: Value<Private>,
        _meta: ValueEmpty,
    ) -> Option<Value<Private>> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        _config: State,
        private: Value<Private>,
        _meta: ValueEmpty,
    ) -> Option<(State, Value<Private>)> {
        let (state, takers) = self.take(diags, planned).await?;
        let private = Private {
            every_partition: match &private {
                Value::Value(p) => p.every_partition,
                _ => false,
            },
            takers,
        };
        Some((state, Value::Value(private)))
    }

    /// Only `timeouts` can change in place; nothing to do on the cluster.
    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: State,
        planned: State,
        _config: State,
        private: Value<Private>,
        _meta: ValueEmpty,
    ) -> Option<(State, Value<Private>)> {
        Some((planned, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        _private: Value<Private>,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let n = prior.snapshots.as_ref_option().map_or(0, Vec::len);
        diag::left_as_is(diags, &diag::Left::Snapshots { count: n });
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        _id: String,
    ) -> Option<(State, Value<Private>)> {
        diag::not_importable(
            diags,
            "restate_partition_snapshot",
            "A snapshot is taken, not adopted: add the resource to the configuration and apply, which \
             takes new snapshots of the partitions.",
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ids_are_named_with_the_table() {
        let e = known_ids(&[1, 7, 9], &[0, 1, 2, 3])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Partitions 7, 9 are not") && e.contains("partitions 0 to 3"),
            "{e}"
        );
        assert!(known_ids(&[0, 3], &[0, 1, 2, 3]).is_ok());
    }
}
