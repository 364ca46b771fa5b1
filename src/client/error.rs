//! Client errors. Every variant that comes from the network names the endpoint and the RPC, so the
//! Terraform diagnostic tells the operator which node said what.

use std::fmt;
use std::time::Duration;

use tonic::Code;

#[derive(Debug, Clone)]
pub enum Error {
    /// The server answered with a non-OK gRPC status.
    Status {
        endpoint: String,
        method: &'static str,
        code: Code,
        message: String,
    },
    /// No answer within the request timeout.
    Timeout {
        endpoint: String,
        method: &'static str,
        after: Duration,
    },
    /// Every endpoint failed (after retries); holds the last error of each.
    AllEndpointsFailed {
        method: &'static str,
        elapsed: Duration,
        errors: Vec<Error>,
    },
    /// The node belongs to a different cluster than the provider's `cluster_name`.
    ClusterMismatch {
        endpoint: String,
        expected: String,
        actual: String,
    },
    /// An endpoint string that is not an http(s) URL.
    InvalidEndpoint { endpoint: String, reason: String },
    /// A payload the client could not decode.
    Decode { what: String, reason: String },
    /// The cluster has not been provisioned yet.
    NotProvisioned { endpoint: String },
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

    /// True when another endpoint, or the same one later, may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Status { code, .. } => matches!(code, Code::Unavailable | Code::Unknown),
            Error::Timeout { .. } => true,
            Error::AllEndpointsFailed { errors, .. } => errors.iter().all(Error::is_transient),
            _ => false,
        }
    }

    /// Whether the status message contains `needle` (the server reports some conditions only as text).
    pub fn message_contains(&self, needle: &str) -> bool {
        match self {
            Error::Status { message, .. } => message.contains(needle),
            Error::AllEndpointsFailed { errors, .. } => {
                errors.iter().any(|e| e.message_contains(needle))
            }
            _ => false,
        }
    }
}

fn code_name(code: Code) -> String {
    // "Unavailable" -> "UNAVAILABLE", the spelling gRPC tools print.
    let mut out = String::new();
    for (i, ch) in format!("{code:?}").chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

fn short_method(method: &str) -> &str {
    method.rsplit_once('.').map_or(method, |(_, m)| m)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Status {
                endpoint,
                method,
                code,
                message,
            } => write!(
                f,
                "{endpoint}: {} failed with {}: {message}",
                short_method(method),
                code_name(*code)
            ),
            Error::Timeout {
                endpoint,
                method,
                after,
            } => write!(
                f,
                "{endpoint}: {} got no answer within {} (request_timeout)",
                short_method(method),
                humantime::format_duration(*after)
            ),
            Error::AllEndpointsFailed {
                method,
                elapsed,
                errors,
            } => {
                write!(
                    f,
                    "{} failed on every endpoint (retried for {}):",
                    short_method(method),
                    humantime::format_duration(Duration::from_millis(elapsed.as_millis() as u64))
                )?;
                for e in errors {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
            Error::ClusterMismatch {
                endpoint,
                expected,
                actual,
            } => write!(
                f,
                "{endpoint} belongs to cluster \"{actual}\", not \"{expected}\" (the provider's cluster_name). \
                 Point endpoints at a node of \"{expected}\", or fix cluster_name. A node that started with \
                 auto-provision = true while joining may have provisioned a second cluster: restart it with \
                 auto-provision = false and a fresh base dir."
            ),
            Error::InvalidEndpoint { endpoint, reason } => {
                write!(f, "endpoint \"{endpoint}\" is not usable: {reason}")
            }
            Error::Decode { what, reason } => write!(f, "could not decode {what}: {reason}"),
            Error::NotProvisioned { endpoint } => write!(
                f,
                "the cluster behind {endpoint} is not provisioned yet"
            ),
        }
    }
}

impl std::error::Error for Error {}

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
