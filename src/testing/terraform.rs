//! What Terraform does around a provider's handlers, for fast handler tests: the proposed new
//! state it computes from the prior state and the configuration, and the diagnostics a handler
//! reported, in plain data.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;
use tf_provider::schema::{AttributeConstraint, Schema};
use tf_provider::Diagnostics;

/// Terraform's proposed new state: the configured value of each attribute, else (for a computed
/// attribute) the prior value. This is why an Optional+Computed attribute removed from the
/// configuration keeps its prior value unless the provider derives a default.
pub fn proposed<S: Serialize + DeserializeOwned>(
    schema: &Schema,
    prior: Option<&S>,
    config: &S,
) -> S {
    let config_json = serde_json::to_value(config).unwrap_or(Json::Null);
    let prior_json = prior
        .map(|p| serde_json::to_value(p).unwrap_or(Json::Null))
        .unwrap_or(Json::Null);
    let mut out = config_json.clone();
    if let Json::Object(map) = &mut out {
        for (name, attr) in &schema.block.attributes {
            let configured = config_json.get(name).cloned().unwrap_or(Json::Null);
            let computed = matches!(
                attr.constraint,
                AttributeConstraint::Computed | AttributeConstraint::OptionalComputed
            );
            let value = if configured.is_null() && computed {
                prior_json.get(name).cloned().unwrap_or(Json::Null)
            } else {
                configured
            };
            map.insert(name.clone(), value);
        }
    }
    serde_json::from_value(out).expect("a proposed state has the state's shape")
}

/// One diagnostic: severity, summary, detail, and the attribute it points at (`""` for none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub error: bool,
    pub summary: String,
    pub detail: String,
    pub attribute: String,
}

/// The diagnostics, in order, errors first.
pub fn diags(d: &Diagnostics) -> Vec<Diag> {
    let one = |error: bool, x: &tf_provider::Diagnostic| Diag {
        error,
        summary: x.summary.to_string(),
        detail: x.detail.to_string(),
        attribute: x.attribute.to_string(),
    };
    d.errors
        .iter()
        .map(|x| one(true, x))
        .chain(d.warnings.iter().map(|x| one(false, x)))
        .collect()
}
