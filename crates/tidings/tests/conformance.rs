//! `docs/spec/conformance.md` stays complete: every *must* of `docs/spec/`
//! carries a `[C-n]` tag, every tag has a row, and every row names tests
//! that exist (`path::function`, the path from the repository root).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The tags `[C-n]` / `[S-n]` in `text`.
fn tags(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('[') {
        rest = &rest[at + 1..];
        let Some(end) = rest.find(']') else { break };
        let tag = &rest[..end];
        let mut parts = tag.splitn(2, '-');
        let kind = parts.next().unwrap_or_default();
        let number = parts.next().unwrap_or_default();
        if (kind == "C" || kind == "S")
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
        {
            found.push(tag.to_string());
        }
    }
    found
}

fn says_must(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| w.eq_ignore_ascii_case("must"))
}

/// The units a tag must sit in: a table row or a code line alone, else a
/// paragraph or list item (lines up to a blank line or the next item).
fn units(text: &str) -> Vec<String> {
    let mut units = Vec::new();
    let mut current = String::new();
    let mut fenced = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            units.push(std::mem::take(&mut current));
            continue;
        }
        let item = trimmed.starts_with("- ")
            || trimmed
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if fenced || trimmed.starts_with('|') {
            units.push(std::mem::take(&mut current));
            units.push(line.to_string());
        } else if trimmed.is_empty() || item {
            units.push(std::mem::take(&mut current));
            current.push_str(line);
        } else {
            current.push('\n');
            current.push_str(line);
        }
    }
    units.push(current);
    units
}

/// Rows of the requirements table: (id, tests named).
fn rows(conformance: &str) -> Vec<(String, Vec<String>)> {
    conformance
        .lines()
        .filter(|l| l.starts_with("| C-") || l.starts_with("| S-"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let id = cells.get(1).copied().unwrap_or_default().to_string();
            let tests = cells
                .get(4)
                .copied()
                .unwrap_or_default()
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            (id, tests)
        })
        .collect()
}

#[test]
fn every_must_of_the_spec_has_a_conformance_row_naming_an_existing_test() {
    let spec = root().join("docs/spec");
    let conformance = read(&spec.join("conformance.md"));
    let rows = rows(&conformance);
    let ids: BTreeSet<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert!(rows.len() >= 20, "the table was not read: {rows:?}");

    let mut untagged = Vec::new();
    let mut missing_rows = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&spec)
        .expect("docs/spec")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| p.file_name().is_some_and(|n| n != "conformance.md"))
        .collect();
    files.sort();
    for file in &files {
        for unit in units(&read(file)) {
            let found = tags(&unit);
            if says_must(&unit) && found.is_empty() {
                untagged.push(format!("{}: {}", file.display(), unit.trim()));
            }
            for tag in found {
                if !ids.contains(tag.as_str()) {
                    missing_rows.push(tag);
                }
            }
        }
    }
    assert!(untagged.is_empty(), "a must without a tag: {untagged:#?}");
    assert!(
        missing_rows.is_empty(),
        "tags without a row: {missing_rows:?}"
    );

    let mut missing_tests = Vec::new();
    for (id, tests) in &rows {
        assert!(!tests.is_empty(), "{id} names no test");
        for test in tests {
            let (path, function) = test.rsplit_once("::").expect("path::function");
            let source = std::fs::read_to_string(root().join(path)).unwrap_or_default();
            let defined = source.contains(&format!("fn {function}("));
            if !defined {
                missing_tests.push(format!("{id}: {test}"));
            }
        }
    }
    assert!(
        missing_tests.is_empty(),
        "rows naming tests that do not exist: {missing_tests:#?}"
    );
}

#[test]
fn the_checker_sees_an_untagged_must_and_a_tag() {
    let text = "A peer must do this.\n\nA peer must do that. [C-1]\n| a | must | x |\n";
    let units = units(text);
    let untagged: Vec<_> = units
        .iter()
        .filter(|u| says_must(u) && tags(u).is_empty())
        .collect();
    assert_eq!(untagged.len(), 2, "{units:?}");
    assert_eq!(tags("x [C-12] y [S-3] [C-] [D-1]"), vec!["C-12", "S-3"]);
}

/// The schema an implementer reads (`docs/spec/proto/`) is the one the
/// reference implementation compiles (`crates/tidings/proto/`), file by
/// file, and every wire schema file is published.
#[test]
fn the_spec_publishes_the_schema_the_crate_compiles() {
    let compiled = root().join("crates/tidings/proto/tidings/v1");
    let published = root().join("docs/spec/proto/tidings/v1");
    let names = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    };
    // The reference device's saved state never goes on the wire.
    let mut wire = names(&compiled);
    wire.remove("state.proto");
    assert_eq!(names(&published), wire, "the same files, but state.proto");
    for name in &wire {
        assert!(
            read(&compiled.join(name)) == read(&published.join(name)),
            "docs/spec/proto/tidings/v1/{name} differs from the compiled schema: \
             cp crates/tidings/proto/tidings/v1/{name} docs/spec/proto/tidings/v1/"
        );
    }
}
