//! Plan helpers, the equivalents of the plugin framework's plan modifiers.
//!
//! For an Optional+Computed attribute Terraform proposes the *prior* value when the user removes
//! it from the configuration, so a default must be derived from the configuration, not from the
//! proposed value: otherwise removing `skip_safety_checks = true` would keep skipping the checks.

use tf_provider::value::Value;
use tf_provider::AttributePath;

/// The attribute's planned value: the configured one, else `default`.
pub fn default_from_config<T: Clone>(planned: &mut Value<T>, config: &Value<T>, default: T) {
    *planned = match config {
        Value::Null => Value::Value(default),
        other => other.clone(),
    };
}

/// A computed value that only apply can tell: unknown in the plan unless configured.
pub fn unknown_unless_configured<T: Clone>(planned: &mut Value<T>, config: &Value<T>) {
    *planned = match config {
        Value::Null => Value::Unknown,
        other => other.clone(),
    };
}

/// Marks every value as known only after apply.
pub fn unknown<T>(values: &mut [&mut Value<T>]) {
    for v in values {
        **v = Value::Unknown;
    }
}

/// Adds `name` to the replace list when its planned value differs from the prior one.
pub fn requires_replace<T: PartialEq>(
    replace: &mut Vec<AttributePath>,
    name: &str,
    prior: &Value<T>,
    planned: &Value<T>,
) {
    if prior != planned {
        replace.push(AttributePath::new(name.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_configuration_not_the_prior_value() {
        // Terraform proposes the prior `true` when the user removed the attribute.
        let mut planned = Value::Value(true);
        default_from_config(&mut planned, &Value::Null, false);
        assert_eq!(planned, Value::Value(false));
        default_from_config(&mut planned, &Value::Value(true), false);
        assert_eq!(planned, Value::Value(true));
        default_from_config(&mut planned, &Value::Unknown, false);
        assert_eq!(planned, Value::Unknown);

        let mut planned = Value::Value(vec![1]);
        unknown_unless_configured(&mut planned, &Value::Null);
        assert_eq!(planned, Value::Unknown);

        let mut replace = Vec::new();
        requires_replace(&mut replace, "a", &Value::Value(1), &Value::Value(1));
        assert!(replace.is_empty());
        requires_replace(&mut replace, "a", &Value::Value(1), &Value::Value(2));
        assert_eq!(replace.len(), 1);
    }
}
