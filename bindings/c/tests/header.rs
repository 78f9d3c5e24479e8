//! The checked-in `include/tidings.h` is exactly what cbindgen generates now.
//! Regenerate with `TIDINGS_BLESS=1 cargo test -p tidings-ffi --all-features --test header`.

use std::path::Path;

fn generate() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut config =
        cbindgen::Config::from_file(Path::new(dir).join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n#define TIDINGS_VERSION \"{}\"\n#define TIDINGS_VERSION_MAJOR {}\n#define TIDINGS_VERSION_MINOR {}\n#define TIDINGS_VERSION_PATCH {}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
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

#[test]
fn the_checked_in_header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/tidings.h");
    let fresh = generate();
    if std::env::var_os("TIDINGS_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write header");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "include/tidings.h is stale: run TIDINGS_BLESS=1 cargo test -p tidings-ffi --all-features --test header"
    );
}
