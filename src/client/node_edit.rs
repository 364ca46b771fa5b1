//! Edits of one node in the nodes configuration (`nodes_config`), made on the value as the server
//! wrote it (a [`Flex`] tree): only the edited fields change, and the configuration's version and
//! modification time move as Restate's own writers move them. The edit re-checks the state it
//! starts from, so a change made by someone else since it was read is never overwritten.

use super::flex::Flex;
use crate::domain::lifecycle::NodeChange;
#[cfg(test)]
use crate::domain::lifecycle::{StorageState, WorkerState};

/// Why an edit was not made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("node N{0} is not in the nodes configuration")]
    NoSuchNode(u32),
    #[error(
        "node N{node}'s {field} is \"{found}\" now, not \"{expected}\" as it was when checked"
    )]
    Changed {
        node: u32,
        field: &'static str,
        expected: String,
        found: String,
    },
    #[error("the nodes configuration does not have the expected shape: {0}")]
    Shape(String),
}

/// Restate's epoch for unique timestamps (2022-01-01T00:00:00Z), in Unix milliseconds.
const RESTATE_EPOCH_MS: u64 = 1_640_995_200_000;
/// A unique timestamp holds the milliseconds since that epoch above a 22-bit logical counter.
const LOGICAL_BITS: u32 = 22;

/// `modified_at` as Restate writes it for `now_ms` (Unix milliseconds).
fn unique_timestamp(now_ms: u64) -> u64 {
    now_ms.saturating_sub(RESTATE_EPOCH_MS) << LOGICAL_BITS
}

/// Applies `change` to node `node_id` of `config`, and moves the configuration to the next
/// version; returns that version.
pub fn apply(
    config: &mut Flex,
    node_id: u32,
    change: &NodeChange,
    now_ms: u64,
) -> Result<u64, EditError> {
    let shape = |what: &str| EditError::Shape(what.to_string());
    let version = config
        .get("version")
        .and_then(Flex::as_u64)
        .ok_or_else(|| shape("no version"))?;
    let next = version
        .checked_add(1)
        .ok_or_else(|| shape("the version cannot move past its maximum"))?;
    let nodes = config
        .get_mut("nodes")
        .and_then(Flex::items_mut)
        .ok_or_else(|| shape("no list of nodes"))?;
    let entry = nodes
        .iter_mut()
        .find(|pair| pair.items().first().and_then(Flex::as_u64) == Some(u64::from(node_id)))
        .ok_or(EditError::NoSuchNode(node_id))?;
    let slot = entry
        .items_mut()
        .and_then(|pair| pair.get_mut(1))
        .ok_or_else(|| shape("a node entry is not an (id, node) pair"))?;
    let node = slot.get_mut("Node").ok_or(EditError::NoSuchNode(node_id))?;
    let name = node
        .get("name")
        .and_then(Flex::as_str)
        .unwrap_or_default()
        .to_string();
    match change {
        NodeChange::WorkerState { from, to } => set_state(
            node,
            node_id,
            ("worker_config", "worker_state"),
            from,
            to.as_str(),
        )?,
        NodeChange::StorageState { from, to } => set_state(
            node,
            node_id,
            ("log_server_config", "storage_state"),
            from,
            to.as_str(),
        )?,
        NodeChange::Remove => {
            *slot = Flex::Str("Tombstone".into());
            if let Some(lookup) = config.get_mut("name_lookup") {
                lookup.remove(&name);
            }
        }
    }
    config.set("version", Flex::UInt(next));
    config.set("modified_at", Flex::UInt(unique_timestamp(now_ms)));
    Ok(next)
}

fn set_state(
    node: &mut Flex,
    node_id: u32,
    (section, field): (&'static str, &'static str),
    from: &str,
    to: &str,
) -> Result<(), EditError> {
    let found = node
        .get(section)
        .and_then(|s| s.get(field))
        .and_then(Flex::as_str)
        .unwrap_or("provisioning")
        .to_string();
    if found != from {
        return Err(EditError::Changed {
            node: node_id,
            field,
            expected: from.to_string(),
            found,
        });
    }
    match node.get_mut(section) {
        Some(s) => {
            s.set(field, Flex::Str(to.into()));
        }
        None => {
            node.set(
                section,
                Flex::Map(vec![(field.to_string(), Flex::Str(to.into()))]),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::metadata;

    fn fixture() -> Flex {
        let path = format!(
            "{}/tests/fixtures/nodes_config-1.7.12.bin",
            env!("CARGO_MANIFEST_DIR")
        );
        let framed = std::fs::read(&path).unwrap();
        Flex::read(metadata::unframe("nodes_config", &framed).unwrap()).unwrap()
    }

    /// What the provider's own decoder reads from an edited tree.
    fn decoded(tree: &Flex) -> crate::domain::NodesConfiguration {
        let framed = metadata::frame(&tree.write().unwrap());
        metadata::nodes_configuration(&metadata::decode_value("nodes_config", &framed).unwrap())
    }

    const NOW: u64 = 1_795_000_000_000;

    #[test]
    fn a_state_change_moves_the_version_and_nothing_else() {
        let mut tree = fixture();
        let before = decoded(&tree);
        let change = NodeChange::WorkerState {
            from: "active".into(),
            to: WorkerState::Draining,
        };
        assert_eq!(apply(&mut tree, 1, &change, NOW), Ok(before.version + 1));
        let after = decoded(&tree);
        assert_eq!(after.version, before.version + 1);
        assert_eq!(after.nodes[0].worker_state, "draining");
        let mut expected = before.nodes[0].clone();
        expected.worker_state = "draining".into();
        assert_eq!(after.nodes[0], expected);
        assert_eq!(after.cluster_fingerprint, before.cluster_fingerprint);
        assert_eq!(
            tree.get("features"),
            fixture().get("features"),
            "fields the provider does not read are kept"
        );
        assert_eq!(
            tree.get("modified_at").and_then(Flex::as_u64),
            Some((NOW - RESTATE_EPOCH_MS) << 22)
        );

        let storage = NodeChange::StorageState {
            from: "read-write".into(),
            to: StorageState::ReadOnly,
        };
        apply(&mut tree, 1, &storage, NOW).unwrap();
        assert_eq!(
            decoded(&tree).nodes[0].log_server_storage_state,
            "read-only"
        );
    }

    #[test]
    fn a_state_that_changed_since_it_was_checked_is_not_overwritten() {
        let mut tree = fixture();
        let change = NodeChange::WorkerState {
            from: "draining".into(),
            to: WorkerState::Disabled,
        };
        assert_eq!(
            apply(&mut tree, 1, &change, NOW),
            Err(EditError::Changed {
                node: 1,
                field: "worker_state",
                expected: "draining".into(),
                found: "active".into()
            })
        );
        assert_eq!(tree, fixture());
        assert_eq!(
            apply(&mut tree, 7, &NodeChange::Remove, NOW),
            Err(EditError::NoSuchNode(7))
        );
    }

    #[test]
    fn a_version_at_its_maximum_is_refused_not_overflowed() {
        // Found by the property tests (src/fuzzing.rs): `version + 1` panicked in debug builds.
        let mut tree = fixture();
        tree.set("version", Flex::UInt(u64::MAX));
        let before = tree.clone();
        assert!(matches!(
            apply(&mut tree, 1, &NodeChange::Remove, NOW),
            Err(EditError::Shape(m)) if m.contains("maximum")
        ));
        assert_eq!(tree, before);
    }

    #[test]
    fn a_removed_node_becomes_a_tombstone_and_frees_its_name() {
        let mut tree = fixture();
        apply(&mut tree, 1, &NodeChange::Remove, NOW).unwrap();
        assert_eq!(decoded(&tree).nodes, vec![]);
        assert_eq!(tree.get("name_lookup"), Some(&Flex::Map(vec![])));
        assert_eq!(
            apply(&mut tree, 1, &NodeChange::Remove, NOW),
            Err(EditError::NoSuchNode(1)),
            "a tombstone is not a node"
        );
    }
}
