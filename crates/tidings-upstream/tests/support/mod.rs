//! Real upstream servers for the gateway's tests.
#![allow(dead_code, unreachable_pub)]

pub mod account;
pub mod desktop;
pub mod dovecot;
pub mod fake_imap;
pub mod postfix;
