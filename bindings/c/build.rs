//! Gives `libtidings.so` its SONAME (ELF targets), so programs link against
//! the ABI they were built for: `libtidings.so.<major>` from 1.0 on, and
//! `libtidings.so.0.<minor>` before, when a minor release may break the ABI
//! (the policy is in docs/ffi.md). Applies to the cdylib only.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let elf = !matches!(
        os.as_str(),
        "macos" | "ios" | "windows" | "none" | "unknown" | ""
    );
    if elf {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{}", soname());
    }
    println!("cargo:rerun-if-changed=build.rs");
}

fn soname() -> String {
    let major = env("CARGO_PKG_VERSION_MAJOR");
    if major == "0" {
        format!("libtidings.so.0.{}", env("CARGO_PKG_VERSION_MINOR"))
    } else {
        format!("libtidings.so.{major}")
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}
