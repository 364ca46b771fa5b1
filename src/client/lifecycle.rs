//! The admin RPCs of a node's lifecycle: edits of the nodes configuration (worker and storage
//! states, removal), the metadata servers' group, partitions' replica sets, and moving a log's
//! tail segment to other nodes.
//!
//! Restate has no RPC to change a node's worker or storage state: `restatectl` reads the nodes
//! configuration, changes it and writes it back with a version precondition. So does
//! [`AdminClient::change_node`], on the value as the server wrote it, so fields this provider does
//! not know survive the edit.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tonic::Code;

use super::error::Error;
use super::flex::Flex;
use super::metadata;
use super::node_edit;
use super::transport::{AdminClient, AfterTimeout, Route};
use super::wire::{self, methods};
use crate::domain::lifecycle::{MetadataGroup, NodeChange};
use crate::domain::{Replication, Role};

const NODES_CONFIG: &str = "nodes_config";

/// Restate reports these refusals of `RemoveNode` only as the text of an `INTERNAL` status; this
/// is the one place that reads them.
enum RemoveOutcome {
    /// The node is not (or no longer) a member: what was wanted.
    NotMember,
    /// Another reconfiguration is under way, or this server is not the leader: try again.
    Retry,
    Failed,
}

fn classify_remove(e: &Error) -> RemoveOutcome {
    let Error::Status { code, message, .. } = e else {
        return if e.is_transient() {
            RemoveOutcome::Retry
        } else {
            RemoveOutcome::Failed
        };
    };
    if *code != Code::Internal {
        return if e.is_transient() {
            RemoveOutcome::Retry
        } else {
            RemoveOutcome::Failed
        };
    }
    if message.contains("is not a member") {
        RemoveOutcome::NotMember
    } else if [
        // Restate 1.7's RemoveNodeError::PendingReconfiguration and ::ConcurrentRequest, and
        // MetadataCommandError::NotLeader: another attempt (at the leader) may pass.
        "pending reconfiguration, try at a later point",
        "concurrent remove request for node",
        "needs to be processed by the metadata cluster leader",
    ]
    .iter()
    .any(|m| message.contains(m))
    {
        RemoveOutcome::Retry
    } else {
        RemoveOutcome::Failed
    }
}

/// Whether `SealAndExtendChain` found the log's tail no longer the segment it was asked to seal
/// (the cluster reconfigured the log meanwhile): what was wanted happened. Restate reports it
/// only as the text of an `INTERNAL` status ("segment index found in metadata does not match
/// expected 4!=5"); this is the one place that reads it.
fn tail_moved_meanwhile(e: &Error) -> bool {
    matches!(e, Error::Status { code: Code::Internal, message, .. }
        if message.contains("segment index found in metadata does not match"))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Plain node ids in a replica set, written as ids or as `[id, generation]` pairs.
fn node_ids(v: &serde_json::Value) -> BTreeSet<u32> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| match n {
            serde_json::Value::Array(pair) => pair.first().and_then(serde_json::Value::as_u64),
            other => other.as_u64(),
        })
        .filter_map(|n| u32::try_from(n).ok())
        .collect()
}

/// The nodes in a partition's current and next replica sets (`pp_epoch_{id}`).
pub(crate) fn replica_set(v: &serde_json::Value) -> BTreeSet<u32> {
    let mut out = node_ids(&v["current"]["replica_set"]);
    out.extend(node_ids(&v["next"]["replica_set"]));
    out
}

impl AdminClient {
    /// Applies `change` to node `node_id`: reads the nodes configuration, edits it, and writes it
    /// back only if nobody wrote it since ([`Error::Conflict`] otherwise, nothing changed).
    pub async fn change_node(&self, node_id: u32, change: &NodeChange) -> Result<(), Error> {
        let Some((version, bytes)) = self.metadata_bytes(NODES_CONFIG).await? else {
            return Err(Error::NotProvisioned {
                endpoint: self.endpoint_list(),
            });
        };
        let flex = |source| Error::Flex {
            what: NODES_CONFIG,
            source,
        };
        let mut tree = Flex::read(metadata::unframe(NODES_CONFIG, &bytes)?).map_err(flex)?;
        node_edit::apply(&mut tree, node_id, change, now_ms())?;
        let bytes = metadata::frame(&tree.write().map_err(flex)?);
        let next = version.checked_add(1).ok_or_else(|| Error::Decode {
            what: NODES_CONFIG.into(),
            reason: "its version cannot grow any further".into(),
        })?;
        let request = wire::MetadataPutRequest {
            key: NODES_CONFIG.into(),
            value: Some(wire::VersionedValue {
                version: Some(wire::Version { value: next }),
                bytes,
            }),
            precondition: Some(wire::Precondition {
                kind: wire::precondition_kind::MATCHES_VERSION,
                version: Some(wire::Version { value: version }),
            }),
        };
        // A put that timed out may have been written: never sent twice; the caller reads again.
        let result: Result<(String, wire::Empty), Error> = self
            .call_routed(
                Route::Any,
                methods::METADATA_PUT,
                request,
                self.settings().request_timeout,
                AfterTimeout::Stop,
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(Code::FailedPrecondition) => Err(Error::Conflict {
                what: NODES_CONFIG.into(),
                detail: e.to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    /// The metadata servers' group, from every node with the metadata-server role (one attempt
    /// each): the members from the newest configuration any of them reports.
    pub async fn metadata_group(&self) -> Result<MetadataGroup, Error> {
        let nodes = self.nodes_configuration().await?;
        let mut group = MetadataGroup::default();
        let mut newest = None;
        let mut errors = Vec::new();
        for node in nodes
            .nodes
            .iter()
            .filter(|n| n.has_role(Role::MetadataServer))
        {
            let r: wire::MetadataServerStatusResponse = match self
                .call_at(
                    &node.address,
                    methods::METADATA_SERVER_STATUS,
                    wire::Empty {},
                )
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if r.status == wire::metadata_server_status::MEMBER {
                group.answering.insert(node.node_id);
            }
            if let Some(c) = r.configuration {
                let version = c.version.map_or(0, |v| v.value);
                if newest.is_none_or(|n| version > n) {
                    newest = Some(version);
                    group.members = c.members.keys().copied().collect();
                    group.leader = r.leader;
                }
            }
        }
        if newest.is_none() {
            return Err(match errors.pop() {
                Some(e) => e,
                None => Error::NoMetadataServerStatus,
            });
        }
        Ok(group)
    }

    /// `RemoveNode` on the metadata servers' leader (on every member in turn when the leader is
    /// unknown or has changed), retried while a reconfiguration is pending, for at most
    /// `timeout`. A node that is not a member is what was wanted.
    pub async fn remove_metadata_member(
        &self,
        node_id: u32,
        timeout: Duration,
    ) -> Result<(), Error> {
        let started = std::time::Instant::now();
        let nodes = self.nodes_configuration().await?;
        loop {
            let group = self.metadata_group().await?;
            if !group.members.contains(&node_id) {
                return Ok(());
            }
            let mut order: Vec<u32> = group.leader.into_iter().collect();
            order.extend(group.members.iter().filter(|m| Some(**m) != group.leader));
            let mut last = None;
            for member in order {
                let Some(address) = nodes.node_by_id(member).map(|n| n.address.clone()) else {
                    continue;
                };
                let result: Result<wire::Empty, Error> = self
                    .call_at(
                        &address,
                        methods::METADATA_SERVER_REMOVE_NODE,
                        wire::RemoveNodeRequest {
                            plain_node_id: node_id,
                            created_at_millis: None,
                        },
                    )
                    .await;
                match result {
                    Ok(_) => return Ok(()),
                    Err(e) => match classify_remove(&e) {
                        RemoveOutcome::NotMember => return Ok(()),
                        RemoveOutcome::Retry => last = Some(e),
                        RemoveOutcome::Failed => return Err(e),
                    },
                }
            }
            if started.elapsed() >= timeout {
                return Err(last.unwrap_or(Error::NoMetadataMemberAddress { node_id }));
            }
            if self.stop().pause(Duration::from_millis(500)).await.is_err() {
                return Err(Error::Interrupted {
                    method: methods::METADATA_SERVER_REMOVE_NODE,
                });
            }
        }
    }

    /// `AddNode` on the node itself (a node joins the group by asking it). A node that is a member
    /// already is what was wanted.
    pub async fn add_metadata_member(&self, node_id: u32) -> Result<(), Error> {
        let nodes = self.nodes_configuration().await?;
        let Some(node) = nodes.node_by_id(node_id) else {
            return Err(Error::UnknownNode { node_id });
        };
        let result: Result<wire::Empty, Error> = self
            .call_at(
                &node.address,
                methods::METADATA_SERVER_ADD_NODE,
                wire::Empty {},
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(Code::AlreadyExists) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every partition with the nodes in its current or next replica set.
    pub async fn replica_sets(&self) -> Result<Vec<(u32, BTreeSet<u32>)>, Error> {
        let mut out = Vec::new();
        for pid in self.partition_ids().await? {
            let key = format!("pp_epoch_{pid}");
            let set = match self.metadata_bytes(&key).await? {
                Some((_, bytes)) => replica_set(&metadata::decode_value(&key, &bytes)?),
                None => BTreeSet::new(),
            };
            out.push((pid, set));
        }
        Ok(out)
    }

    /// Seals the tail segment `tail_index` of log `log_id` and extends the log with a segment of
    /// `replication`, whose nodes the cluster controller chooses (it leaves out nodes that are not
    /// read-write). Sealing a segment that is no longer the tail changes nothing.
    pub async fn reconfigure_log(
        &self,
        log_id: u32,
        tail_index: u32,
        replication: &Replication,
    ) -> Result<(), Error> {
        let request = wire::SealAndExtendChainRequest {
            log_id,
            min_version: None,
            extension: Some(wire::ChainExtension {
                segment_index: Some(tail_index),
                provider: "replicated".into(),
                replication: Some(wire::ReplicationProperty {
                    replication_property: replication.to_string(),
                }),
                nodeset: Vec::new(),
            }),
        };
        let result: Result<(String, wire::SealAndExtendChainResponse), Error> = self
            .call_routed(
                Route::Role(Role::Admin),
                methods::SEAL_AND_EXTEND_CHAIN,
                request,
                self.settings().request_timeout,
                AfterTimeout::Stop,
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if tail_moved_meanwhile(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(message: &str) -> Error {
        Error::Status {
            endpoint: "http://n1:5122".into(),
            method: methods::METADATA_SERVER_REMOVE_NODE,
            code: Code::Internal,
            message: message.into(),
        }
    }

    #[test]
    fn remove_node_refusals_are_told_apart() {
        assert!(matches!(
            classify_remove(&internal("node '3' is not a member")),
            RemoveOutcome::NotMember
        ));
        assert!(matches!(
            classify_remove(&internal("pending reconfiguration, try at a later point")),
            RemoveOutcome::Retry
        ));
        assert!(matches!(
            classify_remove(&internal(
                "cannot remove the only member '1' of the metadata cluster"
            )),
            RemoveOutcome::Failed
        ));
    }

    #[test]
    fn restates_refusals_of_a_removal_are_told_apart_by_their_exact_words() {
        let outcome = |m: &str| classify_remove(&internal(m));
        assert!(matches!(
            outcome("failed to remove node: node '3' is not a member"),
            RemoveOutcome::NotMember
        ));
        for retry in [
            "failed to remove node: pending reconfiguration, try at a later point",
            "failed to remove node: concurrent remove request for node '3'",
            "command needs to be processed by the metadata cluster leader",
        ] {
            assert!(matches!(outcome(retry), RemoveOutcome::Retry), "{retry}");
        }
        // Words that merely appear elsewhere are no reason to retry.
        for failed in [
            "failed to remove node: cannot remove the only member '3' of the metadata cluster",
            "internal error: leader election in progress, concurrent writes",
        ] {
            assert!(matches!(outcome(failed), RemoveOutcome::Failed), "{failed}");
        }
    }

    #[test]
    fn a_tail_that_moved_meanwhile_is_told_apart() {
        let e = |m: &str| Error::Status {
            endpoint: "http://n1:5122".into(),
            method: methods::SEAL_AND_EXTEND_CHAIN,
            code: Code::Internal,
            message: m.into(),
        };
        assert!(tail_moved_meanwhile(&e(
            "segment index found in metadata does not match expected 4!=5"
        )));
        assert!(!tail_moved_meanwhile(&e(
            "replication property is required"
        )));
    }

    #[test]
    fn replica_sets_take_current_and_next() {
        let v = serde_json::json!({
            "current": {"replica_set": [1, 2]},
            "next": {"replica_set": [[3, 1]]}
        });
        assert_eq!(replica_set(&v), BTreeSet::from([1, 2, 3]));
        assert_eq!(
            replica_set(&serde_json::json!({"current": {"replica_set": [2]}, "next": null})),
            BTreeSet::from([2])
        );
    }
}
