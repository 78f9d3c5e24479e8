//! The C tests: real C11 programs, compiled with gcc against `libtidings.a`
//! and `include/tidings.h`, then run. `TIDINGS_C_CHECK=valgrind` runs them
//! under valgrind (0 errors, 0 leaks), `TIDINGS_C_CHECK=asan` builds them with
//! `-fsanitize=address,undefined`; `cargo xtask test` runs both.

mod common;

use common::{compile, manifest, runner, system_libs};
use std::path::Path;

fn build_and_run(name: &str, source: &Path, args: &[&str]) {
    let program = compile(name, source);
    let output = runner(&program)
        .args(args)
        .output()
        .expect("the C program runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
    assert!(output.status.success(), "{name}: failed: {stderr}");
}

#[test]
fn c_errors_nulls_vectors_and_bad_input() {
    let vectors = manifest().join("../../docs/test-vectors/errors.json");
    build_and_run(
        "errors",
        &manifest().join("tests/c/errors.c"),
        &[vectors.to_str().expect("utf-8 path")],
    );
}

/// docs/test-vectors/wire.json and session.json, one vector per line for
/// the C program: `pad BODY PADDED`, `envelope PADDED ENVELOPE BODY`,
/// `packed PACKED ITEM`, `text UTF8`; hex, with `-` for empty.
fn vector_lines() -> String {
    let read = |name: &str| -> serde_json::Value {
        let path = manifest().join("../../docs/test-vectors").join(name);
        serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("JSON")
    };
    let text = |v: &serde_json::Value| {
        let s = v.as_str().expect("a string");
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let hex_of = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let mut lines = Vec::new();
    let wire = read("wire.json");
    for v in wire["padding"].as_array().expect("padding") {
        lines.push(format!("pad {} {}", text(&v["body"]), text(&v["padded"])));
    }
    // wire.json's envelopes: a keepalive, then a Hello, a Delta and an Ack.
    let names = ["-", "Hello", "Delta", "Ack"];
    let envelopes = wire["envelopes"].as_array().expect("envelopes");
    assert_eq!(envelopes.len(), names.len());
    for (v, name) in envelopes.iter().zip(names) {
        let (padded, envelope) = (text(&v["padded"]), text(&v["envelope"]));
        lines.push(format!("envelope {padded} {envelope} {name}"));
    }
    for v in wire["packed"].as_array().expect("packed") {
        lines.push(format!(
            "packed {} {}",
            text(&v["packed"]),
            text(&v["item"])
        ));
    }
    // session.json names bodies in words ("caught_up", "delta (repair)",
    // "result done"); the protobuf oneof's are CaughtUp, Delta, Result. A
    // keepalive has no body.
    let session = read("session.json");
    for v in session["envelopes"].as_array().expect("envelopes") {
        let body = v["body"].as_str().expect("body");
        let name: String = if body == "keepalive" {
            "-".into()
        } else {
            body.split(' ')
                .next()
                .unwrap_or_default()
                .split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect()
        };
        let (padded, envelope) = (text(&v["padded"]), text(&v["envelope"]));
        lines.push(format!("envelope {padded} {envelope} {name}"));
    }
    let packed = &session["packed_item"];
    lines.push(format!(
        "packed {} {}",
        text(&packed["packed"]),
        text(&packed["item"])
    ));
    for field in ["subject", "from"] {
        lines.push(format!(
            "text {}",
            hex_of(packed[field].as_str().expect(field))
        ));
    }
    lines.join("\n") + "\n"
}

#[test]
fn c_wire_and_session_vectors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("vectors.txt");
    std::fs::write(&path, vector_lines()).expect("writing the vectors");
    build_and_run(
        "vectors",
        &manifest().join("tests/c/vectors.c"),
        &[path.to_str().expect("utf-8 path")],
    );
}

#[test]
fn c_enrollment_sync_push_save_and_restore() {
    build_and_run("sync", &manifest().join("tests/c/sync.c"), &[]);
}

#[test]
fn c_a_lost_answer_or_a_crash_never_locks_the_device_out() {
    build_and_run("lockout", &manifest().join("tests/c/lockout.c"), &[]);
}

#[test]
fn c_operations_invitations_and_conflicts() {
    build_and_run("ops", &manifest().join("tests/c/ops.c"), &[]);
}

#[test]
fn c_an_abridged_item_is_fetched_whole_and_completed() {
    build_and_run("abridged", &manifest().join("tests/c/abridged.c"), &[]);
}

#[test]
fn c_a_large_file_is_uploaded_in_parts_and_sent() {
    build_and_run("upload", &manifest().join("tests/c/upload.c"), &[]);
}

#[test]
fn c_fields_a_handset_shows_and_mail_it_sends() {
    build_and_run("fields", &manifest().join("tests/c/fields.c"), &[]);
}

#[test]
fn the_pkg_config_templates_name_the_system_libraries() {
    for name in ["tidings.pc.in", "tidings-static.pc.in"] {
        let pc =
            std::fs::read_to_string(manifest().join("pkgconfig").join(name)).expect("template");
        assert!(
            pc.contains("Version: @VERSION@\n"),
            "{name}: the version is filled in"
        );
        assert!(
            pc.contains("@SYSTEM_LIBS@"),
            "{name}: the static link line is filled in"
        );
        assert!(
            pc.contains("prefix=@PREFIX@\n"),
            "{name}: no prefix is hard-coded"
        );
    }
    assert!(
        system_libs().iter().all(|l| l.starts_with("-l")),
        "-l flags only"
    );
}
