//! `cargo xtask`: the project's own automation.
fn main() {}
