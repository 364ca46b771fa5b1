//! The reference docs in `docs/` are generated from the provider's schema and `templates/`
//! (tests/support/docgen.rs); this test fails when they differ from what the generator produces.
//! `scripts/gen-docs.sh` regenerates them: it runs this test with `UPDATE_DOCS=1`, which writes
//! the pages instead, and deletes pages of types that left the schema.

mod support;

use serde_json::json;
use support::docgen;
use support::restate::project_root;

#[test]
fn docs_match_the_schema() {
    let root = project_root();
    let pages = docgen::generate(&root, &docgen::provider_schema())
        .unwrap_or_else(|problems| panic!("cannot generate docs/:\n{problems}"));
    let update = std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1");
    let mut problems = Vec::new();
    for page in &pages {
        let path = root.join(&page.path);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(page.text.as_str()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().expect("page dir")).expect("mkdir docs");
            std::fs::write(&path, &page.text).expect("write page");
            eprintln!("wrote {}", page.path);
        } else if let Some(current) = current {
            problems.push(format!(
                "{} differs:\n{}",
                page.path,
                diff_hint(&current, &page.text)
            ));
        } else {
            problems.push(format!("{} is missing", page.path));
        }
    }
    for stale in docgen::stale_pages(&root, &pages) {
        if update {
            std::fs::remove_file(root.join(&stale)).expect("remove stale page");
            eprintln!("removed {stale}");
        } else {
            problems.push(format!(
                "{stale} matches no resource or data source in the schema"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/ is not what the provider's schema and templates/ give:\n\n{}\n\n\
         Run scripts/gen-docs.sh to regenerate docs/ (edit templates/, examples/ or the schema \
         descriptions in src/, never docs/ itself).",
        problems.join("\n\n")
    );
}

/// Where `current` and `generated` differ: one hunk from the first to the last differing line
/// (`-` in docs/, `+` generated), long sides cut short.
fn diff_hint(current: &str, generated: &str) -> String {
    let old: Vec<&str> = current.lines().collect();
    let new: Vec<&str> = generated.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let side = |lines: &[&str], sign: char| {
        const SHOWN: usize = 15;
        let mut out: Vec<String> = lines
            .iter()
            .take(SHOWN)
            .map(|l| format!("{sign} {l}"))
            .collect();
        if lines.len() > SHOWN {
            out.push(format!("{sign} … {} more lines", lines.len() - SHOWN));
        }
        out
    };
    if prefix == old.len() && prefix == new.len() {
        return "  (only the line endings at the end differ)".into();
    }
    let mut hunk = vec![format!("  @@ line {} @@", prefix + 1)];
    hunk.extend(side(&old[prefix..old.len() - suffix], '-'));
    hunk.extend(side(&new[prefix..new.len() - suffix], '+'));
    hunk.join("\n  ")
}

#[test]
fn cty_types_are_written_as_words() {
    for (ty, words) in [
        (json!("string"), "String"),
        (json!("number"), "Number"),
        (json!("bool"), "Bool"),
        (json!(["list", "string"]), "List of String"),
        (json!(["set", "number"]), "Set of Number"),
        (json!(["map", "string"]), "Map of String"),
        (
            json!(["list", ["object", {"a": "string"}]]),
            "List of Object",
        ),
        (
            json!(["list", ["list", "number"]]),
            "List of List of Number",
        ),
        (json!(["object", {"a": "bool"}]), "Object"),
    ] {
        assert_eq!(docgen::type_name(&ty), words, "{ty}");
    }
}
