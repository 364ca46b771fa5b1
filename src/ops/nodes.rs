//! Nodes: waiting until a node is in the cluster as wanted.

use std::time::{Duration, Instant};

use super::{view, whole_seconds, AdminApi, Error};
use crate::client;
use crate::domain;
use crate::domain::rules::{self, NodeWant, Readiness};
use crate::domain::version::check_upgrade;
use crate::domain::{ClusterView, NodeView};

const NODE_POLL: Duration = super::WAIT_POLL;
/// How long an alive node may report no version before it counts as one that never will (a
/// node before 1.6): a node that has just restarted registers its new version a moment after it
/// is seen alive.
const VERSION_GRACE: Duration = Duration::from_secs(10);

/// Refuses a version the upgrade rule forbids, against the nodes running now (made at plan time
/// too, when the cluster answers quickly; repeated here so a slow cluster cannot bypass it).
pub async fn check_version(api: &dyn AdminApi, want: &NodeWant) -> Result<(), Error> {
    let Some(target) = want.version else {
        return Ok(());
    };
    let view = match view::read(api).await {
        Ok(view) => view,
        // A cluster about to be provisioned (in this same apply) runs no version yet.
        Err(client::Error::NotProvisioned { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    Ok(check_upgrade(&target, &rules::running_versions(&view))?)
}

/// Polls the cluster until the node is there as wanted, for at most `timeout`. Returns the node
/// and the view it was found in (its cluster's name and fingerprint). A cluster other than the
/// one with fingerprint `expected` (when given) is refused at the first read, without waiting.
pub async fn wait_until_ready(
    api: &dyn AdminApi,
    want: &NodeWant,
    expected: Option<u64>,
    timeout: Duration,
) -> Result<(NodeView, ClusterView), Error> {
    let started = Instant::now();
    loop {
        let now = match view::read(api).await {
            Ok(view) => match rules::check_fingerprint(
                expected,
                &api.endpoints().join(", "),
                &view.cluster_name,
                view.cluster_fingerprint,
            )
            .and_then(|()| rules::node_readiness(&view, want))
            {
                Ok(Readiness::Ready(node)) => {
                    tracing::debug!("node {} is there as wanted", want.name);
                    return Ok((node.clone(), view));
                }
                Ok(Readiness::Waiting(now)) => now,
                Err(e @ domain::Error::VersionUnknown { .. })
                    if started.elapsed() < VERSION_GRACE =>
                {
                    e.to_string()
                }
                Err(e) => return Err(e.into()),
            },
            // Not readable yet: a node restarting, a cluster about to be provisioned.
            Err(e) if e.is_transient() || matches!(e, client::Error::NotProvisioned { .. }) => {
                format!("the cluster could not be read: {e}")
            }
            Err(e) => return Err(e.into()),
        };
        if started.elapsed() >= timeout {
            return Err(Error::NodeNotReady {
                name: want.name.clone(),
                waited: whole_seconds(started.elapsed()),
                wanted: describe_want(want),
                now,
            });
        }
        tracing::info!("waiting for node {}: {now}", want.name);
        if !super::pause(api, NODE_POLL).await {
            return Err(Error::Interrupted {
                waited: whole_seconds(started.elapsed()),
                during: format!(
                    "node {} to be {}. Now {now}",
                    want.name,
                    describe_want(want)
                ),
            });
        }
    }
}

fn describe_want(want: &NodeWant) -> String {
    let mut roles: Vec<&str> = want.roles.iter().flatten().map(|r| r.as_str()).collect();
    roles.sort_unstable();
    let version = want
        .version
        .map(|v| format!(", version {v}"))
        .unwrap_or_default();
    format!("alive with roles [{}]{version}", roles.join(", "))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::Role;
    use crate::testing::fake::{self, FakeCluster, FakeState};

    /// The wait polls at once, then every `WAIT_POLL`: a node that joins 1 s after the wait
    /// started is found by the next poll (tokio's paused clock: deterministic, not a
    /// measurement).
    #[tokio::test(start_paused = true)]
    async fn the_wait_for_a_node_finds_it_at_the_next_poll() {
        let fake = Arc::new(FakeCluster::new(FakeState::provisioned("c", 2)));
        let want = NodeWant {
            name: "n2".into(),
            roles: Some([Role::Worker].into_iter().collect()),
            version: None,
        };
        let started = tokio::time::Instant::now();
        let (joiner, joins_after) = (fake.clone(), Duration::from_secs(1));
        tokio::spawn(async move {
            tokio::time::sleep(joins_after).await;
            joiner.with(|s| s.nodes.push(fake::node(2, "n2", &[Role::Worker])));
        });
        let (node, _) = wait_until_ready(fake.as_ref(), &want, None, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(node.record.name, "n2");
        let found = started.elapsed();
        assert!(
            found >= joins_after && found <= joins_after + super::super::WAIT_POLL,
            "found after {found:?}"
        );
    }
}
