//! Compiles `proto/` with protox and prost: no system `protoc` is needed.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "tidings/v1/items.proto",
    "tidings/v1/device.proto",
    "tidings/v1/sync.proto",
    "tidings/v1/operations.proto",
    "tidings/v1/envelope.proto",
    "tidings/v1/state.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from("proto");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }
    let descriptors = protox::compile(PROTOS, [&root])?;
    prost_build::Config::new()
        // Tests and fuzzers generate arbitrary messages of every type.
        .type_attribute(
            ".",
            "#[cfg_attr(any(test, feature = \"arbitrary\"), derive(arbitrary::Arbitrary))]",
        )
        .compile_fds(descriptors)?;
    Ok(())
}
