//! `docs/spec/errors.md` and `docs/test-vectors/errors.json` list the stable
//! error table exactly as the code has it. `TIDINGS_BLESS=1` regenerates them.

use std::path::PathBuf;
use tidings::ErrorKind;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn layer(code: u16) -> &'static str {
    match code / 100 {
        1 => "frame",
        2 => "crypto",
        3 => "compress",
        4 => "proto",
        5 => "sync",
        6 => "session",
        7 => "store",
        _ => "bindings",
    }
}

fn markdown() -> String {
    let mut out = String::from(
        "# Tidings error codes\n\n\
         Every fallible call in Rust, C (`tidings_result`) and JavaScript (`error.code`)\n\
         reports one of these codes. The hundreds digit names the layer that defines\n\
         the code; a code is used wherever its failure happens, so a session also sends\n\
         `InvalidArgument` (801) on the wire, for an operation's malformed argument\n\
         (sync.md). On the wire a code travels in `ErrorInfo.code` or as an operation's\n\
         `error` result; an operation that meets a newer version is answered with the\n\
         `conflict` result (sync.md §6), never with `Conflict` (501). Codes are never\n\
         reused; a retired code stays listed as retired. `0` is success in C and is not an\n\
         error. Descriptions never contain keys, plaintext or mail and calendar content.\n\n\
         This file is generated from `crates/tidings/src/error.rs` by the `error_table`\n\
         test (`TIDINGS_BLESS=1 cargo test -p tidings --test error_table`).\n\n\
         | code | layer | name | description |\n|---:|---|---|---|\n",
    );
    for kind in ErrorKind::ALL {
        out += &format!(
            "| {} | {} | `{:?}` | {} |\n",
            kind.code(),
            layer(kind.code()),
            kind,
            kind.description()
        );
    }
    out
}

fn json() -> String {
    let rows: Vec<String> = ErrorKind::ALL
        .iter()
        .map(|k| {
            format!(
                "  {{ \"code\": {}, \"name\": \"{:?}\", \"description\": \"{}\" }}",
                k.code(),
                k,
                k.description()
            )
        })
        .collect();
    format!("[\n{}\n]\n", rows.join(",\n"))
}

#[test]
fn error_docs_match_the_code() {
    let files = [
        (docs().join("spec/errors.md"), markdown()),
        (docs().join("test-vectors/errors.json"), json()),
    ];
    for (path, fresh) in files {
        if std::env::var_os("TIDINGS_BLESS").is_some() {
            std::fs::write(&path, &fresh).expect("write");
        }
        let stored = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            stored,
            fresh,
            "{} is stale: rerun with TIDINGS_BLESS=1",
            path.display()
        );
    }
}
