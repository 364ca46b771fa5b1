//! Attribute validators: each reads a value the user wrote, checks it with the domain's parser,
//! and reports a refusal at the attribute. Unknown and unset values pass (checked once known).

use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use super::diag;
use super::duration;
use crate::domain::Error;

/// Parses a known value of `attribute` with `parse`; None (after reporting) when it is refused,
/// or when the value is unset or unknown.
pub fn check<V, T>(
    diags: &mut Diagnostics,
    attribute: &str,
    value: &Value<V>,
    parse: impl FnOnce(&V) -> Result<T, Error>,
) -> Option<T> {
    check_at(
        diags,
        AttributePath::new(attribute.to_string()),
        attribute,
        value,
        parse,
    )
}

/// Like [`check`] at a nested path (`snapshots[0].destination`).
pub fn check_at<V, T>(
    diags: &mut Diagnostics,
    path: AttributePath,
    attribute: &str,
    value: &Value<V>,
    parse: impl FnOnce(&V) -> Result<T, Error>,
) -> Option<T> {
    let Value::Value(v) = value else {
        return None;
    };
    parse(v)
        .map_err(|e| diag::input(diags, path, attribute, &e))
        .ok()
}

/// Checks every known element of a list attribute, reporting each refusal at its index.
pub fn check_each<V, T>(
    diags: &mut Diagnostics,
    attribute: &str,
    list: &Value<Vec<Value<V>>>,
    parse: impl Fn(&V) -> Result<T, Error>,
) -> Option<Vec<T>> {
    let Value::Value(items) = list else {
        return None;
    };
    let mut out = Some(Vec::with_capacity(items.len()));
    for (i, item) in items.iter().enumerate() {
        let path =
            AttributePath::new(attribute.to_string()).index(i64::try_from(i).unwrap_or(i64::MAX));
        let parsed = check_at(diags, path, attribute, item, &parse);
        out = match (out, parsed) {
            (Some(mut v), Some(p)) => {
                v.push(p);
                Some(v)
            }
            _ => None,
        };
    }
    out
}

/// A Go-style duration.
pub fn duration(diags: &mut Diagnostics, value: &Value<String>, path: AttributePath) {
    if let Value::Value(text) = value {
        if let Err(e) = duration::parse(text) {
            diags.error("Invalid duration", e.to_string(), path);
        }
    }
}

/// A name that must match something in the cluster exactly: not empty, no surrounding spaces
/// (which would never match anything).
pub fn name(diags: &mut Diagnostics, attribute: &str, value: &Value<String>) {
    let Value::Value(s) = value else {
        return;
    };
    let problem = if s.trim().is_empty() {
        Some((
            format!("Empty {attribute}"),
            format!("{attribute} must not be empty."),
        ))
    } else if s.trim() != s {
        Some((
            format!("{attribute} has surrounding spaces"),
            format!(
                "{attribute} = \"{s}\" starts or ends with whitespace, so it would never match the name \
                 Restate records; write \"{}\".",
                s.trim()
            ),
        ))
    } else {
        None
    };
    if let Some((summary, detail)) = problem {
        diags.error(summary, detail, AttributePath::new(attribute.to_string()));
    }
}
