//! Small helpers over `tf-provider` shared by resources and data sources: attribute builders,
//! Go-style durations, the `timeouts` block, and mapping client errors to diagnostics.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::client;

pub fn attr(ty: AttributeType, constraint: AttributeConstraint, text: &str) -> Attribute {
    Attribute {
        attr_type: ty,
        description: Description::markdown(text),
        constraint,
        sensitive: false,
        deprecated: false,
    }
}

pub fn required(ty: AttributeType, text: &str) -> Attribute {
    attr(ty, AttributeConstraint::Required, text)
}

pub fn optional(ty: AttributeType, text: &str) -> Attribute {
    attr(ty, AttributeConstraint::Optional, text)
}

pub fn optional_computed(ty: AttributeType, text: &str) -> Attribute {
    attr(ty, AttributeConstraint::OptionalComputed, text)
}

pub fn computed(ty: AttributeType, text: &str) -> Attribute {
    attr(ty, AttributeConstraint::Computed, text)
}

/// Parses a Go-style duration ("10s", "5m", "1h30m", "500ms").
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("\"{text}\" is not a duration ({e}); write it like \"30s\", \"10m\" or \"1h30m\"")
    })?;
    if d.is_zero() {
        return Err(format!("\"{text}\" is zero; give a positive duration"));
    }
    Ok(d)
}

/// Validates a known duration attribute, adding an error at `path`.
pub fn check_duration(diags: &mut Diagnostics, value: &Value<String>, path: AttributePath) {
    if let Value::Value(text) = value {
        if let Err(e) = parse_duration(text) {
            diags.error("Invalid duration", e, path);
        }
    }
}

/// Serde for an optional nested block (a list of at most one element) as `Value<T>`. Unlike
/// `tf_provider::value::serde_as_vec`, it accepts a wholly unknown block, which Terraform sends
/// for a `dynamic` block during validation.
pub mod optional_block {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use tf_provider::value::Value;

    pub fn serialize<T: Serialize, S: Serializer>(v: &Value<T>, s: S) -> Result<S::Ok, S::Error> {
        tf_provider::value::serde_as_vec::serialize(v, s)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Value<T>, D::Error> {
        Ok(match Value::<Vec<Value<T>>>::deserialize(d)? {
            Value::Value(list) => list.into_iter().next().unwrap_or(Value::Null),
            Value::Null => Value::Null,
            Value::Unknown => Value::Unknown,
        })
    }
}

/// The `timeouts { create = "10m" update = "10m" }` block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    #[serde(default)]
    pub create: Value<String>,
    #[serde(default)]
    pub update: Value<String>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

pub fn timeouts_block(operations: &[&str]) -> Block {
    Block {
        version: 0,
        attributes: operations
            .iter()
            .map(|op| {
                (
                    op.to_string(),
                    optional(
                        AttributeType::String,
                        &format!(
                            "How long `{op}` may take, Go-style (\"10m\", \"1h\"). Default 10m."
                        ),
                    ),
                )
            })
            .collect::<HashMap<_, _>>(),
        blocks: HashMap::new(),
        description: Description::plain("Operation timeouts"),
        deprecated: false,
    }
}

/// The timeout for one operation, from an optional `timeouts` block.
pub fn timeout_of<T>(block: &Value<T>, pick: fn(&T) -> &Value<String>) -> Duration {
    match block {
        Value::Value(t) => match pick(t) {
            Value::Value(s) => parse_duration(s).unwrap_or(DEFAULT_TIMEOUT),
            _ => DEFAULT_TIMEOUT,
        },
        _ => DEFAULT_TIMEOUT,
    }
}

/// Adds a client error as a diagnostic; connection and status details stay in the text.
pub fn client_error(diags: &mut Diagnostics, summary: &str, err: &client::Error) {
    let hint = match err {
        client::Error::ClusterMismatch { .. } => "",
        client::Error::NotProvisioned { .. } => {
            "\n\nProvision the cluster first: set provision = true on restate_cluster_config, or run `restatectl provision`."
        }
        e if e.is_transient() => {
            "\n\nCheck that the node is running and that the provider's endpoints (or RESTATE_ENDPOINTS) point at its fabric port (default 5122)."
        }
        _ => "",
    };
    diags.root_error(summary.to_string(), format!("{err}{hint}"));
}

/// The value, or None after reporting the client error as a diagnostic.
pub fn ok_or_report<T>(
    diags: &mut Diagnostics,
    summary: &str,
    result: Result<T, client::Error>,
) -> Option<T> {
    result.map_err(|e| client_error(diags, summary, &e)).ok()
}

/// Checks the durations of a `timeouts` block.
pub fn check_timeouts(diags: &mut Diagnostics, operations: &[(&'static str, &Value<String>)]) {
    for (op, v) in operations {
        check_duration(diags, v, AttributePath::new("timeouts").attribute(*op));
    }
}

/// `Value<String>` as `Option<&str>` when known and set.
pub fn known_str(v: &Value<String>) -> Option<&str> {
    match v {
        Value::Value(s) => Some(s.as_str()),
        _ => None,
    }
}

/// A list whose every element is known, as a plain `Vec`; None while the list or any element is
/// unknown (or null).
pub fn known_vec<T: Clone>(v: &Value<Vec<Value<T>>>) -> Option<Vec<T>> {
    match v {
        Value::Value(items) => items.iter().map(|i| i.as_ref_option().cloned()).collect(),
        _ => None,
    }
}

/// `Value<i64>` as `Option<i64>` when known and set.
pub fn known_i64(v: &Value<i64>) -> Option<i64> {
    match v {
        Value::Value(n) => Some(*n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("10").unwrap_err().contains("not a duration"));
        assert!(parse_duration("soon").unwrap_err().contains("\"30s\""));
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
    }
}
