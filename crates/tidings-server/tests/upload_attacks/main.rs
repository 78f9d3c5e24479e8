//! Attacks on uploads (`UploadPart`, sync.md §6) through the running
//! reference server, as enrolled devices could make them: bad input,
//! racing sessions and revocation, budgets, disk, and how long one large
//! send holds everyone else. The heavy ones are `#[ignore]`d: run them with
//! `--ignored --test-threads 1` (see each for its size).
#![allow(dead_code, unreachable_pub)]

#[path = "../common/mod.rs"]
mod common;

mod big_send;
mod budget;
mod disk;
mod edges;
mod races;
mod site;
mod support;
