//! Runnable examples of Tidings against the reference server:
//!
//! - `demo`: what `cargo xtask demo` runs: the server with a seeded town
//!   hall, and handsets that enroll, sync, receive pushes and send changes
//!   back, with the bytes on the wire for each step.
//! - `client`: the Rust client example: enroll with an activation payload,
//!   sync, follow pushes, send operations. The C and WASM clients follow it.
//!
//! This library holds what both print.

use tidings::proto::{Item, ParticipationStatus, item};
use tidings::session::ClientSession;
use tidings::sync::ReplicaItem;

/// A one-line description of an item, as a handset's list would show it.
pub fn describe(held: &ReplicaItem) -> String {
    match &held.item {
        Item {
            kind: Some(item::Kind::Mail(mail)),
        } => {
            let headers = mail.headers.clone().unwrap_or_default();
            let from = headers
                .from
                .first()
                .map(|a| {
                    if a.name.is_empty() {
                        a.email.clone()
                    } else {
                        a.name.clone()
                    }
                })
                .unwrap_or_default();
            let seen = if held.flags & 1 != 0 { " " } else { "•" };
            format!("{seen} {from:<22} {}", headers.subject)
        }
        Item {
            kind: Some(item::Kind::Calendar(event)),
        } => {
            let master = event.master.clone().unwrap_or_default();
            let answers: Vec<String> = master
                .attendees
                .iter()
                .map(|a| {
                    let status = ParticipationStatus::try_from(a.status)
                        .map_or("unknown".to_string(), |s| format!("{s:?}"));
                    let who = a.address.as_ref().map_or("", |addr| addr.email.as_str());
                    format!("{who} {status}")
                })
                .collect();
            let answers = if answers.is_empty() {
                String::new()
            } else {
                format!("  [{}]", answers.join(", "))
            };
            format!("▸ {}{answers}", master.summary)
        }
        Item { kind: None } => "(empty item)".into(),
    }
}

/// Prints every collection the session holds, with its items.
pub fn print_replica(session: &ClientSession) {
    for (info, replica) in session.state().replica().collections() {
        println!(
            "   {:<18} ({}) {} item(s)",
            info.name,
            info.owner_name,
            replica.items().len()
        );
        for held in replica.items().values() {
            println!("      {}", describe(held));
        }
    }
}
