//! The Rust client example, run as a user would run it, against the
//! reference server: enroll, sync, flag a mail, accept an invitation.

use std::process::Command;
use tidings::store::ItemStore;
use tidings_server::server::ServerOptions;
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::{admin, seed};

fn client(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(args)
        .output()
        .expect("client runs");
    assert!(
        out.status.success(),
        "client {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_example_enrolls_syncs_flags_and_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("town.db");
    let options = ServerOptions {
        tcp: Some(([127, 0, 0, 1], 0).into()),
        http: None,
        ..ServerOptions::default()
    };
    let server = seed::serve_town_hall(&db, options).await.expect("serve");
    let payload = server
        .with_store(|s| admin::enroll(s, seed::CHIEF, 60_000))
        .expect("enroll")
        .to_uri();
    let state = dir.path().join("chief.state");
    let state = state.to_str().expect("utf-8 path");

    let out = tokio::task::spawn_blocking({
        let (payload, state) = (payload.clone(), state.to_string());
        move || client(&["enroll", &payload, &state])
    })
    .await
    .expect("join");
    assert!(out.starts_with("enrolled as device"), "{out}");

    let out = tokio::task::spawn_blocking({
        let state = state.to_string();
        move || client(&["sync", &state])
    })
    .await
    .expect("join");
    assert!(out.contains("Agenda for Thursday's council"), "{out}");
    assert!(
        out.contains("Harbour board"),
        "the delegated calendar: {out}"
    );
    assert!(
        !out.contains("budget options"),
        "not the mayor's mail: {out}"
    );

    let read = SqliteStore::open(&db, Durability::Process).expect("open");
    let chief = admin::principal(&read, seed::CHIEF).expect("chief").id;
    let inbox = tidings_server::compose::mail_folder(&read, chief, "Inbox")
        .expect("query")
        .expect("inbox");
    let mail = read.items(inbox).expect("items")[0].0;
    let out = tokio::task::spawn_blocking({
        let state = state.to_string();
        move || client(&["flag", &state, &inbox.to_string(), &mail.to_string()])
    })
    .await
    .expect("join");
    assert!(out.contains("Done"), "{out}");
    assert_eq!(
        read.item(inbox, mail).expect("item").map(|(_, f)| f),
        Some(1)
    );

    // The chief answers the mayor's invitation from the delegated calendar.
    let mayor = admin::principal(&read, seed::MAYOR).expect("mayor").id;
    let calendar = admin::calendar(&read, mayor).expect("calendar");
    let (meeting, before, _) = read.items(calendar).expect("items").remove(0);
    let out = tokio::task::spawn_blocking({
        let state = state.to_string();
        move || {
            client(&[
                "accept",
                &state,
                &calendar.to_string(),
                &meeting.to_string(),
            ])
        }
    })
    .await
    .expect("join");
    assert!(out.contains("Done"), "{out}");
    let after = read.item(calendar, meeting).expect("item").expect("live").0;
    assert_ne!(after, before, "the stored event changed");
    server.shutdown().await;
}
