//! Runnable examples of the Tidings core. Run one with
//! `cargo run -p tidings-examples --bin <name>`.
