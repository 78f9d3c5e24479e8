//! The C handset example against the reference server, over a real TCP
//! socket: it enrolls with an activation payload, syncs, receives a pushed
//! mail, flags it and accepts an invitation; the server's store shows both.
//! Under `TIDINGS_C_CHECK=valgrind|asan` like the other C programs.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tidings_server::server::ServerOptions;
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::tidings::proto::{self, ParticipationStatus, item};
use tidings_server::tidings::store::ItemStore;
use tidings_server::{admin, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handset_example_runs_against_the_reference_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("town.db");
    let options = ServerOptions {
        tcp: Some(([127, 0, 0, 1], 0).into()),
        http: None,
        ..ServerOptions::default()
    };
    let server = seed::serve_town_hall(&db, options).await.expect("serve");
    let payload = server
        .with_store(|s| admin::enroll(s, seed::MAYOR, 60_000))
        .expect("enroll")
        .to_uri();

    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/handset.c");
    let program = common::compile("handset", &source);
    let mut handset = common::runner(&program)
        .args([payload.as_str(), seed::MAYOR])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the handset runs");
    let stdout = handset.stdout.take().expect("stdout");
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("handset: {line}");
            let _ = lines_tx.send(line);
        }
    });
    let limit = Duration::from_secs(120); // valgrind is slow
    let mut transcript = Vec::new();
    let synced = tokio::time::timeout(limit, async {
        while let Some(line) = lines.recv().await {
            let done = line.starts_with("synced");
            transcript.push(line);
            if done {
                return;
            }
        }
    })
    .await;
    assert!(synced.is_ok(), "no initial sync: {transcript:?}");
    assert!(
        transcript
            .iter()
            .any(|l| l.contains("Private: budget options"))
    );
    assert!(transcript.iter().any(|l| l.contains("Harbour board")));
    // The example waits for the protocol's CaughtUp, not for silence.
    assert!(
        transcript.iter().any(|l| l.contains("caught up at")),
        "{transcript:?}"
    );

    // A mail delivered by another process is pushed to the handset.
    let mut writer = SqliteStore::open(&db, Durability::Process).expect("open");
    let mail = admin::deliver_mail(&mut writer, seed::MAYOR, seed::FLOOD_WARNING.as_bytes())
        .expect("deliver");
    let exit = tokio::task::spawn_blocking(move || handset.wait())
        .await
        .expect("join")
        .expect("wait");
    // Every line, to the end of its output: the reader thread may still be
    // passing on the last ones when the process has exited.
    let drained = tokio::time::timeout(limit, async {
        while let Some(line) = lines.recv().await {
            transcript.push(line);
        }
    })
    .await;
    assert!(drained.is_ok(), "the handset's output did not end");
    assert!(exit.success(), "handset failed: {transcript:?}");
    assert!(
        transcript
            .iter()
            .any(|l| l.contains(&format!("flagging mail {mail}")))
    );

    // The store shows the flag and the acceptance.
    let mayor = admin::principal(&writer, seed::MAYOR).expect("mayor").id;
    let inbox = admin::folder(&mut writer, mayor, "Inbox").expect("inbox");
    let inbox = writer.items(inbox).expect("items");
    let flags = inbox
        .iter()
        .find(|(id, _, _)| *id == mail)
        .map(|(_, _, f)| *f);
    assert_eq!(flags, Some(2), "flagged");
    let calendar = admin::calendar(&writer, mayor).expect("calendar");
    let accepted = writer
        .items(calendar)
        .expect("items")
        .iter()
        .any(|(_, packed, _)| {
            let bytes = tidings_server::tidings::compress::unpack(packed, &Default::default())
                .expect("unpack");
            let item: proto::Item = proto::decode(&bytes).expect("decode");
            matches!(item.kind, Some(item::Kind::Calendar(event))
            if event.master.as_ref().is_some_and(|m| m.attendees.iter().any(|a|
                a.status == ParticipationStatus::Accepted as i32)))
        });
    assert!(accepted, "the invitation was accepted");
    server.shutdown().await;
}
