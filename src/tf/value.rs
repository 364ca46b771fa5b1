//! Reading `tf_provider` values: known and set, else None.

use tf_provider::value::Value;

/// `Value<String>` as `Option<&str>` when known and set.
pub fn known_str(v: &Value<String>) -> Option<&str> {
    match v {
        Value::Value(s) => Some(s.as_str()),
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

/// A list whose every element is known, as a plain `Vec`; None while the list or any element is
/// unknown (or null).
pub fn known_vec<T: Clone>(v: &Value<Vec<Value<T>>>) -> Option<Vec<T>> {
    match v {
        Value::Value(items) => items.iter().map(|i| i.as_ref_option().cloned()).collect(),
        _ => None,
    }
}

/// A list of known strings as a Terraform value.
pub fn string_list<S: ToString>(items: impl IntoIterator<Item = S>) -> Value<Vec<Value<String>>> {
    Value::Value(
        items
            .into_iter()
            .map(|s| Value::Value(s.to_string()))
            .collect(),
    )
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
