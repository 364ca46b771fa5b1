//! A rendered `restate.toml` as `RESTATE_*` environment variables: `RESTATE_` + the key path
//! upper-cased, `-` as `_`, tables joined with `__`; lists as `[a,b]`. Arrays of tables have no
//! such form and are left out.

use std::collections::BTreeMap;

use toml_edit::{DocumentMut, Item, TableLike, Value};

pub fn environment(doc: &DocumentMut) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten(doc.as_table(), &mut Vec::new(), &mut out);
    out
}

fn env_name(path: &[String]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|p| p.to_uppercase().replace('-', "_"))
        .collect();
    format!("RESTATE_{}", parts.join("__"))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.value().clone(),
        Value::Integer(i) => i.value().to_string(),
        Value::Float(f) => f.value().to_string(),
        Value::Boolean(b) => b.value().to_string(),
        Value::Datetime(d) => d.value().to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(scalar).collect::<Vec<_>>().join(",")),
        Value::InlineTable(t) => t.to_string(),
    }
}

fn flatten(table: &dyn TableLike, path: &mut Vec<String>, out: &mut BTreeMap<String, String>) {
    for (k, item) in table.iter() {
        path.push(k.to_string());
        match item {
            Item::Table(t) => flatten(t, path, out),
            Item::Value(Value::InlineTable(t)) => flatten(t, path, out),
            Item::Value(v) => {
                out.insert(env_name(path), scalar(v));
            }
            Item::ArrayOfTables(_) | Item::None => {}
        }
        path.pop();
    }
}
