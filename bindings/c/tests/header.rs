//! The checked-in `include/tidings.h` is exactly what cbindgen generates now,
//! with the named constants of the core's tables (error codes, protobuf
//! enums) generated beside it; every name its comments mention exists; and
//! the C compiler agrees with the tables the other languages read.
//! Regenerate with `TIDINGS_BLESS=1 cargo test -p tidings-ffi --all-features --test header`.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use tidings_server::tidings::ErrorKind;
use tidings_server::tidings::proto;

fn generate() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut config =
        cbindgen::Config::from_file(Path::new(dir).join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n#define TIDINGS_VERSION \"{}\"\n#define TIDINGS_VERSION_MAJOR {}\n#define TIDINGS_VERSION_MINOR {}\n#define TIDINGS_VERSION_PATCH {}\n{}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        table_constants(),
    ));
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen")
        .write(&mut out);
    String::from_utf8(out).expect("utf-8")
}

/// `#define`s for every error code (`TIDINGS_ERROR_<NAME>`) and every value
/// of the protobuf enums a C program passes or reads (`TIDINGS_<VALUE>`,
/// the .proto's own value names), taken from the core, not written by hand.
fn table_constants() -> String {
    let mut out = String::from(
        "\n/* Error codes (tidings_result), from the core's table: docs/spec/errors.md. */\n",
    );
    for kind in ErrorKind::ALL {
        let name = screaming_snake(&format!("{kind:?}"));
        let _ = writeln!(
            out,
            "/** {} */\n#define TIDINGS_ERROR_{name} {}",
            kind.description(),
            kind.code()
        );
    }
    macro_rules! proto_enum {
        ($ty:ty, $what:literal) => {{
            let _ = write!(
                out,
                "\n/* {} (protobuf enum `{}`). */\n",
                $what,
                stringify!($ty)
            );
            for value in 0..=1024 {
                if let Ok(known) = <$ty>::try_from(value) {
                    let _ = writeln!(out, "#define TIDINGS_{} {value}", known.as_str_name());
                }
            }
        }};
    }
    proto_enum!(
        proto::MailFlag,
        "Mail flag bits (tidings_item_flags, tidings_client_set_flags)"
    );
    proto_enum!(proto::CollectionKind, "Kinds of collection and item");
    proto_enum!(
        proto::Right,
        "Right bits on a collection (tidings_collection.rights)"
    );
    proto_enum!(proto::ParticipationStatus, "An attendee's answer");
    proto_enum!(proto::AttendeeRole, "An attendee's role");
    proto_enum!(proto::Transparency, "Whether an event shows as busy");
    proto_enum!(proto::ResyncReason, "Why a collection is synced afresh");
    out
}

/// `FrameTooLarge` as `FRAME_TOO_LARGE`.
fn screaming_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn header() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/tidings.h");
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_checked_in_header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/tidings.h");
    let fresh = generate();
    if std::env::var_os("TIDINGS_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write header");
    }
    assert!(
        header() == fresh,
        "include/tidings.h is stale: run TIDINGS_BLESS=1 cargo test -p tidings-ffi --all-features --test header"
    );
}

/// The comments' `tidings_…` and `TIDINGS_…` names (a `_foo` suffix after a
/// name counts as that name's prefix plus `_foo`) are all declared in code.
#[test]
fn every_name_the_comments_mention_exists() {
    let text = header();
    let (mut code, mut comments) = (String::new(), String::new());
    let mut rest = text.as_str();
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        let end = rest[start..]
            .find("*/")
            .map_or(rest.len(), |e| start + e + 2);
        comments.push_str(&rest[start..end]);
        comments.push('\n');
        rest = &rest[end..];
    }
    code.push_str(rest);
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect();
    let declared = names(&code);
    let mut missing = BTreeSet::new();
    for comment_line in comments.lines() {
        let mut last_full: Option<String> = None;
        for name in names_in_order(comment_line) {
            // "`tidings_client_move`, `_delete`": a bare suffix continues the
            // previous name's prefix.
            let full = if let (Some(stripped), Some(prev)) = (name.strip_prefix('_'), &last_full) {
                let prefix = prev.rsplit_once('_').map_or(prev.as_str(), |(p, _)| p);
                format!("{prefix}_{stripped}")
            } else {
                name.clone()
            };
            if full.starts_with("tidings_") || full.starts_with("TIDINGS_") {
                let is_family = full.ends_with('_') || full.ends_with("_*");
                let family = full.trim_end_matches('*');
                let known = if is_family {
                    declared.iter().any(|d| d.starts_with(family))
                } else {
                    declared.contains(&full)
                };
                if !known {
                    missing.insert(full.clone());
                }
                last_full = Some(full);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the header's comments name undeclared {missing:?}"
    );
}

/// Identifiers (and `*` for a family like `TIDINGS_FIELD_*`) in order.
fn names_in_order(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() || c == '_' || (c == '*' && word.ends_with('_')) {
            word.push(c);
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    out
}

fn names(text: &str) -> BTreeSet<String> {
    names_in_order(text).into_iter().collect()
}

/// The C compiler, not this crate, compares the header's constants with
/// `docs/test-vectors/errors.json` (what the JS tests read) and with the
/// enum values written in the `.proto` files (the schema's source of truth).
#[test]
fn the_c_constants_match_the_vectors_and_the_schema() {
    let root = common::manifest().join("../..");
    let vectors =
        std::fs::read_to_string(root.join("docs/test-vectors/errors.json")).expect("errors.json");
    let table: Vec<serde_json::Value> = serde_json::from_str(&vectors).expect("json");
    let mut c = String::from("#include \"tidings.h\"\n");
    for entry in &table {
        let name = screaming_snake(entry["name"].as_str().expect("name"));
        let code = entry["code"].as_u64().expect("code");
        let _ = writeln!(
            c,
            "_Static_assert(TIDINGS_ERROR_{name} == {code}, \"{name}\");"
        );
    }
    assert!(
        table.len() == ErrorKind::ALL.len(),
        "errors.json is current"
    );
    let mut values = 0;
    for entry in std::fs::read_dir(root.join("crates/tidings/proto/tidings/v1")).expect("proto") {
        let schema = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        let mut in_enum = false;
        for line in schema.lines().map(str::trim) {
            if line.starts_with("enum ") {
                in_enum = true;
            } else if line.starts_with('}') {
                in_enum = false;
            } else if let (true, Some((name, value))) = (in_enum, line.split_once(" = ")) {
                let value = value.trim_end_matches(';');
                if !name.starts_with("//") && header().contains(&format!("TIDINGS_{name} ")) {
                    values += 1;
                    let _ = writeln!(c, "_Static_assert(TIDINGS_{name} == {value}, \"{name}\");");
                }
            }
        }
    }
    assert!(
        values >= 30,
        "only {values} enum values of the schema are in the header"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("constants.c");
    std::fs::write(&source, c).expect("write");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "gcc".into()))
        .args(["-std=c11", "-Wall", "-Werror", "-fsyntax-only", "-I"])
        .arg(common::manifest().join("include"))
        .arg(&source)
        .status()
        .expect("gcc runs");
    assert!(status.success(), "a C constant differs from the tables");
}
