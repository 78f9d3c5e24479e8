//! `kill -9` of the client example mid-session, then it reconnects (issue
//! 14): the example saves its state before the hello leaves, so the restarted
//! client never repeats a timestamp the server has stored.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tidings::store::DeviceRegistry;
use tidings_server::server::ServerOptions;
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::{admin, seed};

fn client(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_client"))
        .args(args)
        .output()
        .expect("client runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_example_killed_mid_session_reconnects() {
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
    let state = state.to_str().expect("utf-8 path").to_string();

    let enrolled = tokio::task::spawn_blocking({
        let state = state.clone();
        move || client(&["enroll", &payload, &state])
    })
    .await
    .expect("join");
    assert!(enrolled.status.success(), "{enrolled:?}");

    // Sync and follow pushes for a minute; kill -9 once it has synced.
    let killed = tokio::task::spawn_blocking({
        let state = state.clone();
        move || {
            let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
                .args(["sync", &state, "60"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("client runs");
            let stdout = child.stdout.take().expect("stdout");
            let synced = BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|line| line.contains("Agenda for Thursday's council"));
            child.kill().expect("SIGKILL");
            let status = child.wait().expect("reaped");
            (synced, status)
        }
    })
    .await
    .expect("join");
    assert!(killed.0, "the client synced before it was killed");
    assert!(!killed.1.success(), "killed, not finished: {:?}", killed.1);

    let read = SqliteStore::open(&db, Durability::Process).expect("open");
    let chief = admin::principal(&read, seed::CHIEF).expect("chief").id;
    let devices: Vec<_> = read
        .devices()
        .expect("devices")
        .into_iter()
        .filter(|d| d.principal == chief)
        .collect();
    assert_eq!(devices.len(), 1);
    let stored = devices[0].last_hello.expect("the hello was stored");

    // Restarted: it reconnects and syncs, well within its time.
    let started = Instant::now();
    let again = tokio::task::spawn_blocking({
        let state = state.clone();
        move || client(&["sync", &state])
    })
    .await
    .expect("join");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("Agenda for Thursday's council"));
    assert!(started.elapsed() < Duration::from_secs(30));
    let newer = read.device(devices[0].id).expect("device").last_hello;
    assert!(newer > Some(stored), "a newer hello was accepted");
    server.shutdown().await;
}
