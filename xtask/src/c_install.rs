//! `cargo xtask install-c`: libtidings installed like any C library, into
//! any prefix: `include/tidings.h`, `lib/libtidings.a`, the versioned
//! `lib/libtidings.so.X.Y.Z` with its SONAME link and `libtidings.so`, and
//! `lib/pkgconfig/tidings.pc` (shared) and `tidings-static.pc` (static),
//! written from `bindings/c/pkgconfig/*.pc.in`. The libraries are built with
//! the release profile and stripped of debug information.
//!
//! `check_installed` is the step of `cargo xtask test` that proves it: it
//! installs into a temporary prefix and builds and runs a C program from
//! outside the repository through pkg-config, shared and static.

use crate::run;
use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str = "usage: cargo xtask install-c [--prefix DIR] [--libdir DIR] \
                     [--includedir DIR] [--destdir DIR] | install-c --check";

/// Where the files go. The `.pc` files name `prefix`, `libdir` and
/// `includedir`; `destdir` (for packagers) is only prepended when copying.
pub(crate) struct Layout {
    prefix: PathBuf,
    libdir: PathBuf,
    includedir: PathBuf,
    destdir: Option<PathBuf>,
}

impl Layout {
    fn new(prefix: &Path) -> Self {
        Layout {
            prefix: prefix.to_path_buf(),
            libdir: prefix.join("lib"),
            includedir: prefix.join("include"),
            destdir: None,
        }
    }

    /// `dir` as it is written to, under `destdir` when one is given.
    fn staged(&self, dir: &Path) -> PathBuf {
        match &self.destdir {
            Some(root) => root.join(dir.strip_prefix("/").unwrap_or(dir)),
            None => dir.to_path_buf(),
        }
    }
}

pub(crate) fn run_cli(args: &[String]) -> Result<(), String> {
    if args == ["--check"] {
        return check_installed();
    }
    let mut prefix = PathBuf::from("/usr/local");
    let (mut libdir, mut includedir, mut destdir) = (None, None, None);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().map(PathBuf::from).ok_or(USAGE)?;
        match flag.as_str() {
            "--prefix" => prefix = value,
            "--libdir" => libdir = Some(value),
            "--includedir" => includedir = Some(value),
            "--destdir" => destdir = Some(value),
            _ => return Err(USAGE.to_string()),
        }
    }
    if !prefix.is_absolute() {
        return Err("--prefix must be an absolute path".to_string());
    }
    let mut layout = Layout::new(&prefix);
    layout.libdir = libdir.unwrap_or(layout.libdir);
    layout.includedir = includedir.unwrap_or(layout.includedir);
    layout.destdir = destdir;
    install(&layout)
}

/// The library's version (the workspace's, which xtask shares).
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The SONAME: `libtidings.so.0.<minor>` before 1.0, `.so.<major>` after
/// (bindings/c/build.rs gives the library the same one).
fn soname() -> String {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    if major == "0" {
        format!("libtidings.so.0.{}", env!("CARGO_PKG_VERSION_MINOR"))
    } else {
        format!("libtidings.so.{major}")
    }
}

/// Builds, strips and installs.
pub(crate) fn install(layout: &Layout) -> Result<(), String> {
    run::cargo(
        &["build", "--release", "--package", "tidings-ffi", "--lib"],
        &[],
    )?;
    let built = crate::run::cargo_target_dir().join("release");
    let c = run::root().join("bindings/c");
    let (lib, include) = (
        layout.staged(&layout.libdir),
        layout.staged(&layout.includedir),
    );
    let pkgconfig = lib.join("pkgconfig");
    for dir in [&lib, &include, &pkgconfig] {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    copy(&c.join("include/tidings.h"), &include.join("tidings.h"))?;
    let archive = lib.join("libtidings.a");
    copy(&built.join("libtidings.a"), &archive)?;
    strip(&["--strip-debug"], &archive)?;
    let real = format!("libtidings.so.{VERSION}");
    copy(&built.join("libtidings.so"), &lib.join(&real))?;
    strip(&["--strip-unneeded"], &lib.join(&real))?;
    symlink(&real, &lib.join(soname()))?;
    symlink(&soname(), &lib.join("libtidings.so"))?;
    let system_libs = read(&c.join("pkgconfig/native-static-libs"))?;
    for name in ["tidings.pc", "tidings-static.pc"] {
        let text = read(&c.join(format!("pkgconfig/{name}.in")))?
            .replace("@PREFIX@", &path_str(&layout.prefix)?)
            .replace("@LIBDIR@", &path_str(&layout.libdir)?)
            .replace("@INCLUDEDIR@", &path_str(&layout.includedir)?)
            .replace("@VERSION@", VERSION)
            .replace("@SYSTEM_LIBS@", system_libs.trim());
        let to = pkgconfig.join(name);
        std::fs::write(&to, text).map_err(|e| format!("writing {}: {e}", to.display()))?;
    }
    println!(
        "installed libtidings {VERSION} (SONAME {}) into {}",
        soname(),
        layout.staged(&layout.prefix).display()
    );
    Ok(())
}

/// Installs into a temporary prefix, then compiles
/// `bindings/c/tests/installed/app.c` in a temporary directory outside the
/// repository with only what `pkg-config` says, shared and static; checks
/// the SONAME, that the static program does not need the `.so`, that no
/// debug information was installed; and runs both programs.
pub(crate) fn check_installed() -> Result<(), String> {
    crate::install::pkg_config()?;
    let scratch = std::env::temp_dir().join(format!("tidings-c-install-{}", std::process::id()));
    let result = check_in(&scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn check_in(scratch: &Path) -> Result<(), String> {
    let prefix = scratch.join("prefix");
    let layout = Layout::new(&prefix);
    install(&layout)?;
    let project = scratch.join("app");
    std::fs::create_dir_all(&project)
        .map_err(|e| format!("creating {}: {e}", project.display()))?;
    copy(
        &run::root().join("bindings/c/tests/installed/app.c"),
        &project.join("app.c"),
    )?;
    let pc_path = path_str(&layout.libdir.join("pkgconfig"))?;
    let pkg_config = |args: &[&str]| -> Result<Vec<String>, String> {
        let out = Command::new("pkg-config")
            .args(args)
            .env("PKG_CONFIG_PATH", &pc_path)
            .output()
            .map_err(|e| format!("pkg-config: {e}"))?;
        if !out.status.success() {
            return Err(format!("pkg-config {}: {out:?}", args.join(" ")));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect())
    };
    pkg_config(&["--validate", "tidings"])?;
    pkg_config(&["--validate", "tidings-static"])?;
    let libdir = path_str(&layout.libdir)?;

    let soname_line = format!("Library soname: [{}]", soname());
    let so = layout.libdir.join(soname());
    expect_output("readelf", &["-d", &path_str(&so)?], &soname_line, true)?;
    for file in [so.clone(), layout.libdir.join("libtidings.a")] {
        expect_output(
            "readelf",
            &["-S", "-W", &path_str(&file)?],
            ".debug_",
            false,
        )?;
        let bytes = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
        println!("{}: {bytes} bytes", file.display());
    }

    let mut shared = pkg_config(&["--cflags", "--libs", "tidings"])?;
    shared.push(format!("-Wl,-rpath,{libdir}"));
    let static_ = pkg_config(&["--cflags", "--libs", "--static", "tidings-static"])?;
    for (name, flags, needs_so) in [("shared", shared, true), ("static", static_, false)] {
        let exe = project.join(format!("app-{name}"));
        let mut cc = vec!["-std=c11", "-Wall", "-Wextra", "-Werror", "app.c", "-o"];
        let exe_str = path_str(&exe)?;
        cc.push(&exe_str);
        cc.extend(flags.iter().map(String::as_str));
        run::command_in(&project, "cc", &cc, &[])?;
        let needed = format!("Shared library: [{}]", soname());
        expect_output("readelf", &["-d", &exe_str], &needed, needs_so)?;
        run::command_in(&project, &exe_str, &[], &[])?;
    }
    Ok(())
}

/// Runs `program args`; fails unless its output contains `text` exactly
/// when `present`.
fn expect_output(program: &str, args: &[&str], text: &str, present: bool) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    let found = String::from_utf8_lossy(&out.stdout).contains(text);
    if !out.status.success() || found != present {
        let want = if present { "lacks" } else { "has" };
        return Err(format!("{program} {}: {want} `{text}`", args.join(" ")));
    }
    Ok(())
}

fn strip(args: &[&str], file: &Path) -> Result<(), String> {
    let file = path_str(file)?;
    let mut all = args.to_vec();
    all.push(&file);
    run::command_in(&run::root(), "strip", &all, &[])
}

fn symlink(target: &str, link: &Path) -> Result<(), String> {
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(link).map_err(|e| format!("replacing {}: {e}", link.display()))?;
    }
    std::os::unix::fs::symlink(target, link)
        .map_err(|e| format!("linking {} to {target}: {e}", link.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if to.symlink_metadata().is_ok() {
        std::fs::remove_file(to).map_err(|e| format!("replacing {}: {e}", to.display()))?;
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn path_str(path: &Path) -> Result<String, String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| format!("not UTF-8: {}", path.display()))
}
