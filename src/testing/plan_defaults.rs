//! Plan defaults: for every Optional+Computed attribute of every resource, set it, apply, remove
//! it from the configuration, and the plan shows its documented default (Terraform itself proposes
//! the *prior* value for such an attribute), apply, and the state holds it. One table per
//! resource; a test walks every resource's schema and fails when an Optional+Computed attribute
//! has no case, so a new one cannot go untested.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tf_provider::schema::{AttributeConstraint, Block, NestedBlock};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{Diagnostics, Provider, Resource};

use super::fake::FakeState;
use super::handlers::{cluster, replicated, s, snapshot_config};
use super::lifecycle_handlers::{gate, managed, three_nodes};
use super::scenarios::Driver;
use crate::resources::{cluster_config, node, partition_snapshot, restart_gate};

/// One Optional+Computed attribute: how to set it to a value other than its default, how to
/// show it, what the plan shows once it is removed from the configuration, and what the state
/// holds after that plan is applied.
struct Case<S> {
    attribute: &'static str,
    set: fn(&mut S),
    get: fn(&S) -> String,
    /// The planned value after removal.
    planned: &'static str,
    /// The value in state after applying that plan.
    applied: &'static str,
    /// Whether removing it is a diff (a default of the provider's), or keeps the value the
    /// cluster reports (an attribute the cluster owns: unset means "as the cluster has it").
    diff: bool,
}

const CLUSTER_CONFIG: &[Case<cluster_config::State>] = &[
    Case {
        attribute: "provision",
        set: |c| c.provision = Value::Value(true),
        get: |c| format!("{:?}", c.provision),
        planned: "false",
        applied: "false",
        diff: true,
    },
    Case {
        attribute: "wait_for_logs",
        set: |c| c.wait_for_logs = Value::Value(false),
        get: |c| format!("{:?}", c.wait_for_logs),
        planned: "true",
        applied: "true",
        diff: true,
    },
    Case {
        attribute: "skip_safety_checks",
        set: |c| c.skip_safety_checks = Value::Value(true),
        get: |c| format!("{:?}", c.skip_safety_checks),
        planned: "false",
        applied: "false",
        diff: true,
    },
    Case {
        attribute: "log_replication",
        set: |c| c.log_replication = s("{node: 1}"),
        get: |c| format!("{:?}", c.log_replication),
        planned: "\"{node: 1}\"",
        applied: "\"{node: 1}\"",
        diff: false,
    },
    Case {
        attribute: "partition_replication",
        set: |c| c.partition_replication = s("1"),
        get: |c| format!("{:?}", c.partition_replication),
        planned: "\"1\"",
        applied: "\"1\"",
        diff: false,
    },
    Case {
        attribute: "log_nodeset_size",
        set: |c| c.log_nodeset_size = Value::Value(0),
        get: |c| format!("{:?}", c.log_nodeset_size),
        planned: "0",
        applied: "0",
        diff: false,
    },
    Case {
        attribute: "num_partitions",
        set: |c| c.num_partitions = Value::Value(2),
        get: |c| format!("{:?}", c.num_partitions),
        planned: "2",
        applied: "2",
        diff: false,
    },
];

const NODE: &[Case<node::State>] = &[
    Case {
        attribute: "on_destroy",
        set: |c| c.on_destroy = s("forget"),
        get: |c| format!("{:?}", c.on_destroy),
        planned: "\"remove\"",
        applied: "\"remove\"",
        diff: true,
    },
    // The lifecycle states: unset is "not managed", so the node stays as it is and the state
    // shows what the cluster reports.
    Case {
        attribute: "worker_state",
        set: |c| c.worker_state = s("draining"),
        get: |c| format!("{:?}", c.worker_state),
        planned: "\"draining\"",
        applied: "\"draining\"",
        diff: false,
    },
    Case {
        attribute: "log_server_storage_state",
        set: |c| c.log_server_storage_state = s("read-only"),
        get: |c| format!("{:?}", c.log_server_storage_state),
        planned: "\"read-only\"",
        applied: "\"read-only\"",
        diff: false,
    },
    Case {
        attribute: "metadata_server_member",
        set: |c| c.metadata_server_member = Value::Value(false),
        get: |c| format!("{:?}", c.metadata_server_member),
        planned: "false",
        applied: "false",
        diff: false,
    },
];

const RESTART_GATE: &[Case<restart_gate::State>] = &[Case {
    attribute: "allow_downtime",
    set: |c| c.allow_downtime = Value::Value(true),
    get: |c| format!("{:?}", c.allow_downtime),
    planned: "false",
    applied: "false",
    diff: true,
}];

const PARTITION_SNAPSHOT: &[Case<partition_snapshot::State>] = &[
    // Back from a subset to every partition: new snapshots (a replacement), of every partition.
    Case {
        attribute: "partition_ids",
        set: |c| c.partition_ids = Value::Value(vec![Value::Value(1)]),
        get: |c| format!("{:?}", c.partition_ids),
        planned: "Unknown",
        applied: "[0, 1, 2, 3]",
        diff: true,
    },
    Case {
        attribute: "trim_log",
        set: |c| c.trim_log = Value::Value(true),
        get: |c| format!("{:?}", c.trim_log),
        planned: "false",
        applied: "false",
        diff: true,
    },
];

/// The (resource, attribute) pairs the tables cover.
fn covered() -> BTreeSet<(String, String)> {
    fn names<S>(resource: &str, cases: &[Case<S>]) -> Vec<(String, String)> {
        cases
            .iter()
            .map(|c| (resource.to_string(), c.attribute.to_string()))
            .collect()
    }
    [
        names("cluster_config", CLUSTER_CONFIG),
        names("node", NODE),
        names("restart_gate", RESTART_GATE),
        names("partition_snapshot", PARTITION_SNAPSHOT),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every Optional+Computed attribute of `block` and its nested blocks (`prefix` names the block).
fn optional_computed(block: &Block, prefix: &str, out: &mut BTreeSet<String>) {
    for (name, attribute) in &block.attributes {
        if matches!(attribute.constraint, AttributeConstraint::OptionalComputed) {
            out.insert(format!("{prefix}{name}"));
        }
    }
    for (name, nested) in &block.blocks {
        let inner = match nested {
            NestedBlock::Single(b)
            | NestedBlock::List(b)
            | NestedBlock::Set(b)
            | NestedBlock::Map(b)
            | NestedBlock::Group(b)
            | NestedBlock::Optional(b) => b,
        };
        optional_computed(inner, &format!("{prefix}{name}."), out);
    }
}

#[test]
fn every_optional_computed_attribute_of_every_resource_has_a_case() {
    let provider = crate::RestateProvider::default();
    let mut d = Diagnostics::default();
    let resources = provider.get_resources(&mut d).expect("the resources");
    let mut attributes = BTreeSet::new();
    for (resource, r) in &resources {
        let schema = r.schema(&mut d).expect("a schema");
        let mut names = BTreeSet::new();
        optional_computed(&schema.block, "", &mut names);
        attributes.extend(names.into_iter().map(|a| (resource.clone(), a)));
    }
    assert!(attributes.len() >= 14, "too few found: {attributes:?}");
    let covered = covered();
    let missing: Vec<_> = attributes.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "Optional+Computed attributes without a plan-default case in src/testing/plan_defaults.rs: \
         {missing:?}"
    );
    let stale: Vec<_> = covered.difference(&attributes).collect();
    assert!(
        stale.is_empty(),
        "cases for attributes that are not Optional+Computed: {stale:?}"
    );
}

/// Runs one case through `driver`: `base` with the attribute set, applied (create), refreshed;
/// then `base` again, planned and applied.
async fn check<R, S, P>(driver: &Driver<R>, base: &S, case: &Case<S>, resource: &str)
where
    R: for<'a> Resource<State<'a> = S, PrivateState<'a> = P, ProviderMetaState<'a> = ValueEmpty>,
    S: Serialize + DeserializeOwned + Clone + Send + Sync + PartialEq + std::fmt::Debug,
    P: Serialize + DeserializeOwned + Clone + Default + Send + Sync,
{
    let what = format!("{resource}.{}", case.attribute);
    let mut with = base.clone();
    (case.set)(&mut with);
    let (state, d) = driver.plan_and_apply(None, &with).await;
    let (state, private) = state.unwrap_or_else(|| panic!("{what}: {d:#?}"));
    let (state, d) = driver.read(&state, &private).await;
    let (state, private) = state.unwrap_or_else(|| panic!("{what}: {d:#?}"));
    if case.diff {
        assert_ne!(
            (case.get)(&state),
            case.applied,
            "{what}: the set value is the default"
        );
    }
    let planned = driver.plan(Some((&state, &private)), base).await;
    let planned_state = planned
        .state
        .clone()
        .unwrap_or_else(|| panic!("{what}: {:#?}", planned.diags));
    assert_eq!((case.get)(&planned_state), case.planned, "{what} planned");
    assert_eq!(
        (case.get)(&planned_state) != (case.get)(&state),
        case.diff,
        "{what}: whether removing it is a diff"
    );
    let (after, d) = driver.apply(Some(&state), &planned, base).await;
    let (after, _) = after.unwrap_or_else(|| panic!("{what}: {d:#?}"));
    assert_eq!((case.get)(&after), case.applied, "{what} applied");
}

#[tokio::test]
async fn cluster_config_attributes_fall_back_to_their_defaults() {
    for case in CLUSTER_CONFIG {
        let (_fake, h) = cluster(FakeState::provisioned("c", 2));
        check(
            &h.cluster_config,
            &replicated(|_| {}),
            case,
            "cluster_config",
        )
        .await;
    }
}

#[tokio::test(start_paused = true)]
async fn node_attributes_fall_back_to_their_defaults() {
    for case in NODE {
        let (_fake, h) = cluster(three_nodes());
        check(&h.node, &managed("n2"), case, "node").await;
    }
}

#[tokio::test(start_paused = true)]
async fn restart_gate_attributes_fall_back_to_their_defaults() {
    for case in RESTART_GATE {
        let (_fake, h) = cluster(three_nodes());
        check(&h.gate, &gate("n2", "1.7.12"), case, "restart_gate").await;
    }
}

#[tokio::test]
async fn partition_snapshot_attributes_fall_back_to_their_defaults() {
    for case in PARTITION_SNAPSHOT {
        let (_fake, h) = cluster(FakeState::provisioned("c", 4));
        check(
            &h.snapshot,
            &snapshot_config(None, None),
            case,
            "partition_snapshot",
        )
        .await;
    }
}
