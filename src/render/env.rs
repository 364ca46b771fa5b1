//! A rendered `restate.toml` as `RESTATE_*` environment variables: `RESTATE_` + the key path
//! upper-cased, `-` as `_`, tables joined with `__`; lists as `[a,b]`. Arrays of tables have no
//! such form and are left out.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use toml_edit::{DocumentMut, Item, TableLike, Value};

pub fn environment(doc: &DocumentMut) -> BTreeMap<String, String> {
    flatten(doc)
        .into_iter()
        .map(|(name, (value, _))| (name, value))
        .collect()
}

/// Whether a key is spelled as Restate spells its keys: lowercase words joined by single dashes.
/// Two such paths never give the same variable name; a key spelled otherwise (`node_name`,
/// `Node-Name`) can give the name of one that is (`RESTATE_NODE_NAME`).
fn canonical(key: &str) -> bool {
    key.split('-').all(|word| {
        !word.is_empty()
            && word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
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

/// Variables by name, each with whether its key path is canonical. When two keys give one name,
/// the canonical one wins (the one Restate reads from the file, and every key the provider sets),
/// else the first.
type Variables = BTreeMap<String, (String, bool)>;

/// Visits every key of `doc` that can have a value in `RESTATE_*` (keys in tables and inline
/// tables, not in arrays of tables), parents before children, with its path from the root and its
/// item; `visit` returns whether to go into the key's table.
pub fn visit_keys(doc: &DocumentMut, mut visit: impl FnMut(&[String], &Item) -> bool) {
    fn walk(
        table: &dyn TableLike,
        path: &mut Vec<String>,
        visit: &mut dyn FnMut(&[String], &Item) -> bool,
    ) {
        for (k, item) in table.iter() {
            path.push(k.to_string());
            let go_in = match item {
                Item::ArrayOfTables(_) | Item::None => false,
                _ => visit(path, item),
            };
            if go_in {
                match item {
                    Item::Table(t) => walk(t, path, visit),
                    Item::Value(Value::InlineTable(t)) => walk(t, path, visit),
                    _ => {}
                }
            }
            path.pop();
        }
    }
    walk(doc.as_table(), &mut Vec::new(), &mut visit);
}

fn flatten(doc: &DocumentMut) -> Variables {
    let mut out = Variables::new();
    visit_keys(doc, |path, item| {
        let Item::Value(v) = item else {
            return true;
        };
        if matches!(v, Value::InlineTable(_)) {
            return true;
        }
        let is_canonical = path.iter().all(|k| canonical(k));
        match out.entry(env_name(path)) {
            Entry::Vacant(e) => {
                e.insert((scalar(v), is_canonical));
            }
            Entry::Occupied(mut e) if is_canonical && !e.get().1 => {
                e.insert((scalar(v), true));
            }
            Entry::Occupied(_) => {}
        }
        true
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(toml: &str) -> BTreeMap<String, String> {
        environment(&toml.parse().unwrap())
    }

    #[test]
    fn keys_are_visited_parents_first_skipping_arrays_of_tables_and_what_is_not_entered() {
        let doc: DocumentMut = "a = 1\n[t]\nb = { c = 2 }\n[skip]\nd = 3\n[[arr]]\ne = 4\n"
            .parse()
            .unwrap();
        let mut seen = Vec::new();
        visit_keys(&doc, |path, _| {
            seen.push(path.join("."));
            path != ["skip"]
        });
        assert_eq!(seen, ["a", "t", "t.b", "t.b.c", "skip"]);
    }

    #[test]
    fn a_key_spelled_otherwise_never_overrides_one_restate_reads() {
        // Found by the property tests (src/fuzzing.rs): `node_name` after `node-name` gave
        // RESTATE_NODE_NAME its value, so a base config's stray key beat the provider's.
        for toml in [
            "node-name = \"n1\"\nnode_name = \"x\"\nNode-Name = \"y\"\n",
            "node_name = \"x\"\nnode-name = \"n1\"\n",
            "[worker]\nsnapshots.destination = \"s3://a\"\n[WORKER.snapshots]\ndestination = \"s3://b\"\n",
        ] {
            let e = env(toml);
            assert!(
                e.get("RESTATE_NODE_NAME") == Some(&"n1".to_string())
                    || e.get("RESTATE_WORKER__SNAPSHOTS__DESTINATION") == Some(&"s3://a".to_string()),
                "{toml}: {e:?}"
            );
        }
        assert_eq!(
            env("node_name = \"x\"\nNODE_NAME = \"y\"\n")["RESTATE_NODE_NAME"],
            "x"
        );
        assert!(canonical("default-num-partitions") && canonical("1-2"));
        assert!(!canonical("a--b") && !canonical("-a") && !canonical("a_b") && !canonical(""));
    }
}
