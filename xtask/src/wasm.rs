//! `cargo xtask wasm`: the npm package `tidings` in `bindings/wasm/pkg/`;
//! with `--with-tests` (as `cargo xtask test` asks) also a test-only package
//! with the loopback server in `target/wasm/test-pkg/`; then, for `cargo
//! xtask test`, the JS tests that use them.
//!
//! The shipped package: `tidings-wasm` built with the `wasm-release` profile,
//! `wasm-bindgen --target web` (one glue file for every platform; `node.js`
//! and `web.js` instantiate it), `wasm-opt -Oz` from the npm `binaryen`
//! package, then the hand-written JS and types of `bindings/wasm/js/` and the
//! `package.json` and README of `bindings/wasm/npm/`.

use crate::{install, run};
use base64::Engine as _;
use std::path::{Path, PathBuf};

/// The wasm-bindgen CLI version: exactly the `=` pin of the `wasm-bindgen`
/// crate in `bindings/wasm/Cargo.toml` (checked before every build).
pub(crate) const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// The shipped `.wasm`, gzipped, may not exceed this (checked by the JS
/// size test, which reads the same number from the environment).
pub(crate) const GZIP_BUDGET_BYTES: u64 = 150 * 1024;

/// Features wasm-opt must accept: what rustc enables for
/// wasm32-unknown-unknown by default.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Hand-written files copied next to the glue.
const JS_FILES: &[&str] = &[
    "errors.js",
    "errors.d.ts",
    "websocket.js",
    "websocket.d.ts",
    "node.js",
    "web.js",
    "index.d.ts",
];

pub(crate) fn wasm_dir() -> PathBuf {
    run::root().join("bindings/wasm")
}

/// The shipped package's directory.
pub(crate) fn package_dir() -> PathBuf {
    wasm_dir().join("pkg")
}

/// The test-only package's directory.
pub(crate) fn test_package_dir() -> PathBuf {
    run::root().join("target/wasm/test-pkg")
}

pub(crate) fn cargo_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => run::root().join(dir),
        None => run::root().join("target"),
    }
}

/// `cargo xtask wasm [--with-tests]`: the package, and the test package
/// only when asked (it is half the build time; `cargo xtask test` asks).
pub(crate) fn run_cli(args: &[String]) -> Result<(), String> {
    match args {
        [] => build(false),
        [flag] if flag == "--with-tests" => build(true),
        _ => Err("usage: cargo xtask wasm [--with-tests]".to_string()),
    }
}

/// Builds the npm package, and the test-only package when `with_tests`.
pub(crate) fn build(with_tests: bool) -> Result<(), String> {
    install::wasm_build_tools()?;
    check_pins()?;
    build_package()?;
    if with_tests {
        build_test_package()?;
    }
    Ok(())
}

/// The crate pins wasm-bindgen to the CLI's version, and the npm package's
/// version is the crate's.
fn check_pins() -> Result<(), String> {
    let manifest = read(&wasm_dir().join("Cargo.toml"))?;
    let pin = format!("wasm-bindgen = \"={WASM_BINDGEN_VERSION}\"");
    if !manifest.contains(&pin) {
        return Err(format!(
            "bindings/wasm/Cargo.toml must pin {pin} (the CLI version in xtask/src/wasm.rs)"
        ));
    }
    let package = read(&wasm_dir().join("npm/package.json"))?;
    let version = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    if !package.contains(&version) {
        return Err(format!("bindings/wasm/npm/package.json must say {version}"));
    }
    Ok(())
}

fn build_package() -> Result<(), String> {
    let wasm = cargo_build("wasm-release", &[])?;
    let out = package_dir();
    bindgen(&wasm, &out)?;
    let glue_wasm = out.join("tidings_bg.wasm");
    let wasm_opt = wasm_dir().join("node_modules/.bin/wasm-opt");
    let (input, output) = (path_str(&glue_wasm)?, path_str(&glue_wasm)?);
    let mut args = vec!["-Oz", "--strip-debug", "--strip-producers"];
    args.extend(WASM_FEATURES);
    args.extend([input.as_str(), "-o", output.as_str()]);
    run::command_in(&wasm_dir(), path_str(&wasm_opt)?.as_str(), &args, &[])?;
    assemble(&out)?;
    copy(
        &wasm_dir().join("npm/package.json"),
        &out.join("package.json"),
    )?;
    copy(&wasm_dir().join("npm/README.md"), &out.join("README.md"))?;
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
        copy(&run::root().join(licence), &out.join(licence))?;
    }
    write_inline_entry(&out)?;
    report_sizes(&out)
}

/// `inline.js`: the `web.js` entry with the module inside it as base64, for
/// bundlers that do not emit the `.wasm` a `new URL(…, import.meta.url)`
/// names (esbuild).
fn write_inline_entry(out: &Path) -> Result<(), String> {
    let wasm_path = out.join("tidings_bg.wasm");
    let wasm = std::fs::read(&wasm_path).map_err(|e| format!("{}: {e}", wasm_path.display()))?;
    let text = format!(
        "// The package's entry point for bundlers that do not emit assets (esbuild):\n\
         // the WebAssembly module is inside this file, as base64, and instantiated\n\
         // before the module finishes loading (top-level await). Generated by\n\
         // `cargo xtask wasm`.\n\
         import init from \"./tidings.js\";\n\n\
         const MODULE =\n  \"{}\";\n\n\
         await init({{ module_or_path: Uint8Array.from(atob(MODULE), (c) => c.charCodeAt(0)) }});\n\n\
         export * from \"./tidings.js\";\n\
         export {{ TidingsError }} from \"./errors.js\";\n\
         export {{ connect }} from \"./websocket.js\";\n",
        base64::engine::general_purpose::STANDARD.encode(&wasm)
    );
    let path = out.join("inline.js");
    std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn build_test_package() -> Result<(), String> {
    let wasm = cargo_build("wasm-test", &["--features", "loopback-server"])?;
    let out = test_package_dir();
    bindgen(&wasm, &out)?;
    assemble(&out)?;
    std::fs::write(
        out.join("package.json"),
        "{ \"name\": \"tidings-test\", \"private\": true, \"type\": \"module\" }\n",
    )
    .map_err(|e| format!("writing the test package.json: {e}"))
}

/// `cargo build` of the crate for wasm32; returns the `.wasm` it made.
fn cargo_build(profile: &str, extra: &[&str]) -> Result<PathBuf, String> {
    let mut args = vec![
        "build",
        "--package",
        "tidings-wasm",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile,
    ];
    args.extend(extra);
    run::cargo(&args, &[])?;
    Ok(cargo_target_dir()
        .join("wasm32-unknown-unknown")
        .join(profile)
        .join("tidings_wasm.wasm"))
}

fn bindgen(wasm: &Path, out: &Path) -> Result<(), String> {
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| format!("clearing {}: {e}", out.display()))?;
    }
    run::command_in(
        &run::root(),
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--out-name",
            "tidings",
            "--out-dir",
            &path_str(out)?,
            &path_str(wasm)?,
        ],
        &[],
    )
}

/// Copies the hand-written JS in, drops what the web target emits for
/// bundler-style wasm imports (unused), and types the raw exports of the
/// glue's `InitOutput` as `unknown` rather than `any`: no type the package
/// ships says `any`.
fn assemble(out: &Path) -> Result<(), String> {
    for name in JS_FILES {
        copy(&wasm_dir().join("js").join(name), &out.join(name))?;
    }
    let unused = out.join("tidings_bg.wasm.d.ts");
    if unused.exists() {
        std::fs::remove_file(&unused).map_err(|e| format!("removing {}: {e}", unused.display()))?;
    }
    let dts = out.join("tidings.d.ts");
    let text = read(&dts)?;
    let typed: String = text
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("readonly ") && line.contains("=>") {
                line.replace(": any", ": unknown")
                    .replace("=> any", "=> unknown")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&dts, typed + "\n").map_err(|e| format!("writing {}: {e}", dts.display()))
}

fn report_sizes(out: &Path) -> Result<(), String> {
    let size = |name: &str| {
        std::fs::metadata(out.join(name))
            .map(|m| m.len())
            .map_err(|e| format!("{name}: {e}"))
    };
    let js: u64 = JS_FILES
        .iter()
        .filter(|f| f.ends_with(".js"))
        .map(|f| size(f))
        .sum::<Result<u64, String>>()?;
    println!(
        "package: tidings_bg.wasm {} bytes, tidings.js (glue) {} bytes, other JS {} bytes",
        size("tidings_bg.wasm")?,
        size("tidings.js")?,
        js
    );
    Ok(())
}

/// The JS tests in Node (`node:test`): scenarios against the loopback
/// server, the shared vectors, leaks, weak refs, the size budget.
pub(crate) fn node_tests() -> Result<(), String> {
    let files = test_files(&wasm_dir().join("tests"))?;
    let mut args = vec!["--test".to_string(), "--test-reporter=spec".to_string()];
    args.extend(files);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run::command_in(&wasm_dir(), "node", &args, &env)
}

/// `tsc --noEmit` over a TypeScript program using the package's types
/// (`strict`), and the JS sources and example checked as JS.
pub(crate) fn type_check() -> Result<(), String> {
    let tsc = wasm_dir().join("node_modules/.bin/tsc");
    run::command_in(
        &wasm_dir(),
        path_str(&tsc)?.as_str(),
        &["--project", "tests/types/tsconfig.json"],
        &[],
    )
}

/// The tests against the reference server (`crates/tidings-server`): over
/// WebSocket from Node, and the example page in headless Chromium. Skipped,
/// saying so, until the server is in the workspace.
pub(crate) fn server_tests() -> Result<(), String> {
    let server = run::root().join("crates/tidings-server/Cargo.toml");
    if !server.exists() {
        println!("skipped: no crates/tidings-server in this tree yet");
        return Ok(());
    }
    run::cargo(&["build", "--package", "tidings-server"], &[])?;
    let bin = cargo_target_dir().join("debug/tidings-server");
    let files = test_files(&wasm_dir().join("tests/server"))?;
    let mut args = vec!["--test".to_string(), "--test-reporter=spec".to_string()];
    args.extend(files);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut env = env();
    let bin = path_str(&bin)?;
    env.push(("TIDINGS_SERVER_BIN", bin));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run::command_in(&wasm_dir(), "node", &args, &env)
}

/// The package as its users get it (`tests/consumer/run.test.js`): packed,
/// installed into a fresh project, type-checked with ws, bundled by esbuild
/// and Vite, each bundle run against the reference server in Node and
/// Chromium. npm's cache keeps the registry's packages between runs.
pub(crate) fn consumer_tests() -> Result<(), String> {
    run::cargo(&["build", "--package", "tidings-server"], &[])?;
    let bin = path_str(&cargo_target_dir().join("debug/tidings-server"))?;
    let mut env = env();
    env.push(("TIDINGS_SERVER_BIN", bin));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run::command_in(
        &wasm_dir(),
        "node",
        &[
            "--test",
            "--test-reporter=spec",
            "tests/consumer/run.test.js",
        ],
        &env,
    )
}

/// Where the tests find the packages and the budget.
fn env() -> Vec<(&'static str, String)> {
    vec![
        ("TIDINGS_PKG", package_dir().display().to_string()),
        ("TIDINGS_TEST_PKG", test_package_dir().display().to_string()),
        ("TIDINGS_GZIP_BUDGET", GZIP_BUDGET_BYTES.to_string()),
        (
            "TIDINGS_ARTIFACTS",
            run::root().join("target/wasm").display().to_string(),
        ),
        ("TIDINGS_ROOT", run::root().display().to_string()),
    ]
}

/// `*.test.js` files directly in `dir`, sorted.
fn test_files(dir: &Path) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.to_string_lossy().ends_with(".test.js") {
            files.push(path_str(&path)?);
        }
    }
    files.sort();
    Ok(files)
}

fn path_str(path: &Path) -> Result<String, String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| format!("not UTF-8: {}", path.display()))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}
