//! The `timeouts { create = "10m" }` block. One type for every resource; each resource declares
//! only the operations it really bounds, and says in the schema what each one bounds.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, NestedBlock};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use super::duration;
use super::schema::{block, optional};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The block's values by operation name, as Terraform sends them (every declared operation,
/// null when unset), and sent back unchanged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timeouts(BTreeMap<String, Value<String>>);

impl Timeouts {
    /// The schema of the block: one optional duration per operation, each saying what it bounds.
    pub fn block(ops: &[(Op, &str)]) -> NestedBlock {
        NestedBlock::Optional(block(
            "How long operations may take.",
            ops.iter()
                .map(|(op, bounds)| {
                    (
                        op.as_str(),
                        optional(
                            AttributeType::String,
                            &format!(
                                "Bounds {bounds}. Go-style duration (`\"30s\"`, `\"10m\"`, `\"1h\"`); default `\"10m\"`."
                            ),
                        ),
                    )
                })
                .collect(),
            vec![],
        ))
    }

    /// The timeout of `op`, from an optional block.
    pub fn of(block: &Value<Timeouts>, op: Op) -> Duration {
        match block {
            Value::Value(t) => match t.0.get(op.as_str()) {
                Some(Value::Value(s)) => duration::parse(s).unwrap_or(DEFAULT_TIMEOUT),
                _ => DEFAULT_TIMEOUT,
            },
            _ => DEFAULT_TIMEOUT,
        }
    }

    /// Reports every set duration that does not parse.
    pub fn check(diags: &mut Diagnostics, block: &Value<Timeouts>) {
        let Value::Value(t) = block else {
            return;
        };
        for (op, value) in &t.0 {
            super::validate::duration(
                diags,
                value,
                AttributePath::new("timeouts")
                    .index(0)
                    .attribute(op.clone()),
            );
        }
    }
}
