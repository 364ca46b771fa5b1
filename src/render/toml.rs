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
