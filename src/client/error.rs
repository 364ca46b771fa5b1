//! Client errors. Every variant that comes from the network names the endpoint and the RPC, so a
//! message tells the operator which node said what.

use std::fmt;
use std::time::Duration;

use tonic::Code;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The server answered with a non-OK gRPC status.
    #[error("{endpoint}: {} failed with {}: {message}", short_method(method), code_name(*code))]
    Status {
        endpoint: String,
        method: &'static str,
        code: Code,
        message: String,
    },
    /// The connection failed for a TLS reason: a setting to fix, not a node to wait for.
    #[error("{endpoint}: {} could not connect: {problem}", short_method(method))]
    Tls {
        endpoint: String,
        method: &'static str,
        problem: super::tls::TlsProblem,
    },
    /// No answer within the request timeout.
    #[error("{endpoint}: {} got no answer within {}", short_method(method), humantime::format_duration(*after))]
    Timeout {
        endpoint: String,
        method: &'static str,
        after: Duration,
    },
    /// Every endpoint failed (after retries); holds the last error of each.
    #[error("{}", AllFailed(method, elapsed, errors))]
    AllEndpointsFailed {
        method: &'static str,
        elapsed: Duration,
        errors: Vec<Error>,
    },
    /// No reachable node has the role the call needs.
    #[error(
        "{}: no node of the cluster reachable through the endpoints has the {role} role",
        short_method(method)
    )]
    NoNodeWithRole { method: &'static str, role: String },
    /// The node belongs to a different cluster than the one the client is limited to.
    #[error("{endpoint} belongs to cluster \"{actual}\", not \"{expected}\"")]
    ClusterMismatch {
        endpoint: String,
        expected: String,
        actual: String,
    },
    /// An endpoint the transport cannot dial.
    #[error("endpoint \"{endpoint}\" is not usable: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    /// A payload the client could not decode.
    #[error("could not decode {what}: {reason}")]
    Decode { what: String, reason: String },
    /// A stored value whose flexbuffers tree could not be read or written back.
    #[error("{what}: {source}")]
    Flex {
        what: &'static str,
        source: super::flex::FlexError,
    },
    /// The cluster has not been provisioned yet.
    #[error("the cluster behind {endpoint} is not provisioned yet")]
    NotProvisioned { endpoint: String },
    /// A snapshot was asked of a node that has no snapshot repository (`[worker.snapshots]`).
    #[error(
        "{endpoint}: partition {partition_id}: no snapshot repository is configured ({message})"
    )]
    RepositoryNotConfigured {
        endpoint: String,
        partition_id: u32,
        message: String,
    },
    /// A snapshot was asked of a partition that no node leads right now (the cluster controller
    /// picks the leader to take it): Restate has not failed the partition over yet.
    #[error(
        "{endpoint}: partition {partition_id} has no leader on any node the cluster controller sees \
         alive, so no node can snapshot it yet (Restate has not failed it over: `restatectl \
         partitions list` shows its replicas)"
    )]
    NoPartitionLeader { endpoint: String, partition_id: u32 },
    /// No node reports the metadata servers' configuration.
    #[error("no node reports a metadata server configuration")]
    NoMetadataServerStatus,
    /// The metadata servers' group could not be asked to remove a node: no member has an address
    /// in the nodes configuration.
    #[error("no member of the metadata servers has a known address to remove N{node_id} through")]
    NoMetadataMemberAddress { node_id: u32 },
    /// A node the cluster's nodes configuration does not list.
    #[error("node N{node_id} is not in the nodes configuration")]
    UnknownNode { node_id: u32 },
    /// A value changed between the read and the write (its version moved): nothing was written.
    #[error("{what} was changed by someone else while this provider edited it ({detail})")]
    Conflict { what: String, detail: String },
    /// An edit that does not apply to the value as it is now.
    #[error(transparent)]
    Edit(#[from] super::node_edit::EditError),
    /// Terraform asked the provider to stop (the run was interrupted) while this call waited to
    /// be retried, or while a snapshot export ran.
    #[error("{}: stopped, Terraform was interrupted", short_method(method))]
    Interrupted { method: &'static str },
}

impl Error {
    /// The gRPC status code, for errors that carry one (the last one, after failover).
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Status { code, .. } => Some(*code),
            Error::AllEndpointsFailed { errors, .. } => errors.last().and_then(Error::code),
            _ => None,
        }
    }

    /// The node does not serve this call (it lacks the role: `UNIMPLEMENTED`) or is shutting down
    /// (`ABORTED`): another node may.
    pub fn not_served_here(&self) -> bool {
        matches!(self.code(), Some(Code::Unimplemented | Code::Aborted))
    }

    /// True when another endpoint, or the same one later, may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Status { code, .. } => {
                // CANCELLED before our deadline: the node reset the stream (it is restarting, or
                // its cluster controller moved); another node, or the same one later, may answer.
                matches!(
                    code,
                    Code::Unavailable | Code::Unknown | Code::DeadlineExceeded | Code::Cancelled
                )
            }
            Error::Timeout { .. } => true,
            Error::AllEndpointsFailed { errors, .. } => errors.iter().all(Error::is_transient),
            _ => false,
        }
    }
}

/// "Unavailable" -> "UNAVAILABLE", the spelling gRPC tools print.
pub fn code_name(code: Code) -> String {
    let mut out = String::new();
    for (i, ch) in format!("{code:?}").chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// `/restate.node_ctl_svc.NodeCtlSvc/GetIdent` -> `NodeCtlSvc/GetIdent`.
pub fn short_method(method: &str) -> &str {
    method.rsplit_once('.').map_or(method, |(_, m)| m)
}

struct AllFailed<'a>(&'a str, &'a Duration, &'a [Error]);

impl fmt::Display for AllFailed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AllFailed(method, elapsed, errors) = self;
        let whole_ms =
            Duration::from_millis(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
        write!(
            f,
            "{} failed on every endpoint (retried for {}):",
            short_method(method),
            humantime::format_duration(whole_ms)
        )?;
        for e in *errors {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_name_endpoint_method_and_code() {
        let e = Error::Status {
            endpoint: "http://127.0.0.1:5122".into(),
            method: "/restate.cluster_ctrl.ClusterCtrlSvc/GetClusterConfiguration",
            code: Code::Unavailable,
            message: "svc is not ready yet".into(),
        };
        assert_eq!(
            e.to_string(),
            "http://127.0.0.1:5122: ClusterCtrlSvc/GetClusterConfiguration failed with UNAVAILABLE: svc is not ready yet"
        );
        assert!(e.is_transient());
        assert_eq!(code_name(Code::AlreadyExists), "ALREADY_EXISTS");
        assert_eq!(code_name(Code::DeadlineExceeded), "DEADLINE_EXCEEDED");
    }
}
