//! Editing the operator's base config with `toml_edit`: managed keys are set in place, so every
//! other key, comment and the order stay as written.

use toml_edit::{Array, DocumentMut, Item, Table, Value};

use crate::domain::Error;

/// Parses a base config, reporting the line and column of a syntax error (never the source text:
/// a base config may hold secrets).
pub fn parse_base(text: &str) -> Result<DocumentMut, Error> {
    text.parse::<DocumentMut>().map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        Error::InvalidToml {
            line,
            column,
            message: e.message().to_string(),
        }
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Sets `tables.key` to `value`, creating tables as needed and replacing a non-table value that
/// stands in the way.
pub fn set(doc: &mut DocumentMut, tables: &[&str], key: &str, value: impl Into<Value>) {
    let mut table: &mut Table = doc.as_table_mut();
    for name in tables {
        let item = table.entry(name).or_insert_with(implicit_table);
        let was_value = item.is_value();
        if let Item::Value(Value::InlineTable(inline)) = item {
            // An inline table in the base config: turn it into a regular table to extend it.
            *item = Item::Table(std::mem::take(inline).into_table());
        }
        if !item.is_table() {
            *item = implicit_table();
        }
        if was_value {
            header_from_key(table, name);
        }
        let Some(next) = table.get_mut(name).and_then(Item::as_table_mut) else {
            return;
        };
        table = next;
    }
    let mut v: Value = value.into();
    match table.get_mut(key) {
        // Replace in place: the key keeps the comments above it, the value its trailing comment.
        Some(Item::Value(old)) => {
            *v.decor_mut() = old.decor().clone();
            *old = v;
        }
        _ => {
            table.insert(key, Item::Value(v));
        }
    }
}

/// `name`, a key-value line until now, becomes a table header: its key's decor was written for
/// a line (`# comment\nname = ...`), and inside `[...]` it would not parse. A comment above it
/// moves above the header.
fn header_from_key(table: &mut Table, name: &str) {
    let Some(mut key) = table.key_mut(name) else {
        return;
    };
    let prefix = key.leaf_decor().prefix().cloned();
    key.leaf_decor_mut().clear();
    key.dotted_decor_mut().clear();
    if let (Some(prefix), Some(header)) = (prefix, table.get_mut(name).and_then(Item::as_table_mut))
    {
        header.decor_mut().set_prefix(prefix);
    }
}

fn implicit_table() -> Item {
    let mut t = Table::new();
    t.set_implicit(true);
    Item::Table(t)
}

pub fn string_array<S: AsRef<str>>(items: &[S]) -> Array {
    items.iter().map(AsRef::as_ref).collect()
}

/// Visits every key of `doc` that can have a value in `RESTATE_*` (keys in tables and inline
/// tables, not in arrays of tables), parents before children, with its path from the root; `visit`
/// returns whether to go into the key's table.
pub fn visit_keys(doc: &DocumentMut, mut visit: impl FnMut(&[String]) -> bool) {
    fn walk(
        table: &dyn toml_edit::TableLike,
        path: &mut Vec<String>,
        visit: &mut dyn FnMut(&[String]) -> bool,
    ) {
        for (k, item) in table.iter() {
            path.push(k.to_string());
            let go_in = match item {
                Item::ArrayOfTables(_) | Item::None => false,
                _ => visit(path),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visited_parents_first_skipping_arrays_of_tables_and_what_is_not_entered() {
        let doc = parse_base("a = 1\n[t]\nb = { c = 2 }\n[skip]\nd = 3\n[[arr]]\ne = 4\n").unwrap();
        let mut seen = Vec::new();
        visit_keys(&doc, |path| {
            seen.push(path.join("."));
            path != ["skip"]
        });
        assert_eq!(seen, ["a", "t", "t.b", "t.b.c", "skip"]);
    }
}
