//! `cargo xtask demo`: Tidings end to end, over the network.
//!
//! Starts the reference server (a separate process, on loopback) with a
//! seeded town hall, then, live in the terminal: the chief of staff's handset
//! enrolls and syncs (she holds the mayor's calendar by delegation, not the
//! mayor's mail); a new mail is pushed; the mayor accepts a meeting on her
//! own handset and it appears on the chief's; the chief's flag change goes
//! back up; the chief's handset restarts and resumes without a resync. Each
//! step shows the bytes that crossed the wire. `--keep-running` leaves the
//! server up for the web and C examples.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use tidings::proto::{ParticipationStatus, RespondToInvitation, SetFlags, item, operation::Kind};
use tidings::session::{ClientEvent, ClientSession, ClientState};
use tidings::{Error, ErrorKind, Result};
use tidings_examples::{describe, print_replica};
use tidings_server::activation::Activation;
use tidings_server::client::Connection;
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::{admin, seed};

const LIMIT: Duration = Duration::from_secs(30);
const SEEN: u32 = 1;

/// The server process; stopped (SIGTERM, then SIGKILL) when dropped.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..50 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn failed(what: &'static str) -> Error {
    Error::new(ErrorKind::InvalidState, what)
}

#[tokio::main]
async fn main() {
    let keep_running = std::env::args().any(|a| a == "--keep-running");
    if let Err(e) = run(keep_running).await {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}

async fn run(keep_running: bool) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("target/demo");
    std::fs::create_dir_all(&dir).map_err(|_| failed("cannot create target/demo"))?;
    let db = dir.join("town.db");
    let ready = dir.join("ready.json");
    let _ = std::fs::remove_file(&ready);

    println!("Tidings demo: the reference server and two handsets, over loopback\n");
    let server_bin = std::env::current_exe()
        .map_err(|_| failed("no executable path"))?
        .with_file_name("tidings-server");
    let (tcp, http) = if keep_running {
        ("127.0.0.1:4650", "127.0.0.1:4651")
    } else {
        ("127.0.0.1:0", "127.0.0.1:0")
    };
    let child = Command::new(&server_bin)
        .arg("--db")
        .arg(&db)
        // target/demo is the demo's own scratch space: replace what is there.
        .args([
            "demo",
            "--replace",
            "--tcp",
            tcp,
            "--http",
            http,
            "--ready-file",
        ])
        .arg(&ready)
        .arg("--web")
        .arg(root.join("bindings/wasm/examples/web"))
        .arg("--pkg")
        .arg(root.join("bindings/wasm/pkg"))
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .spawn()
        .map_err(|_| {
            failed("cannot start tidings-server (build it: cargo build -p tidings-server)")
        })?;
    let _server = ServerProcess(child);
    let info = wait_ready(&ready).await?;
    let payload = |email: &str| -> Result<Activation> {
        let uri = info["activations"][email]
            .as_str()
            .ok_or(failed("no payload"))?;
        Activation::parse(uri)
    };
    println!(
        "server: listening on {} (TCP) and {} (WebSocket); town hall seeded in {}",
        info["tcp"].as_str().unwrap_or_default(),
        info["ws"].as_str().unwrap_or_default(),
        db.display()
    );

    // 1. The chief's handset enrolls and syncs.
    let chief_payload = payload(seed::CHIEF)?;
    println!(
        "\n1. the chief of staff scans her activation payload:\n   {}",
        chief_payload.to_uri()
    );
    let mut chief = Connection::enroll(&chief_payload, "Sam's phone").await?;
    let store = SqliteStore::open(&db, Durability::Process)?;
    let expected = visible(&store, seed::CHIEF)?;
    let before = chief.wire_bytes();
    settle(&mut chief, ClientSession::is_caught_up).await?;
    if holds(chief.session()) != expected {
        return Err(failed("caught up without every collection"));
    }
    step(&chief, before, "1. enrollment (Noise XK) and initial sync");
    print_replica(chief.session());
    println!("   (the mayor's inbox is not there: only her calendar is delegated)");

    // 2. A new mail arrives at the server and is pushed.
    let inbox = folder(&store, seed::CHIEF, "Inbox")?;
    let before = chief.wire_bytes();
    let mut writer = SqliteStore::open(&db, Durability::Process)?;
    admin::deliver_mail(&mut writer, seed::CHIEF, seed::FLOOD_WARNING.as_bytes())?;
    let delivered = Instant::now();
    let count = chief
        .session()
        .state()
        .replica()
        .collection(inbox)
        .map_or(0, |r| r.items().len());
    settle(&mut chief, |s| {
        s.state()
            .replica()
            .collection(inbox)
            .is_some_and(|r| r.items().len() > count)
    })
    .await?;
    let latency = delivered.elapsed();
    step(
        &chief,
        before,
        &format!(
            "a new mail is delivered to the server and pushed ({} ms after it was stored)",
            latency.as_millis()
        ),
    );
    let (flood_id, flood) = newest(chief.session(), inbox).ok_or(failed("no pushed mail"))?;
    println!("      {}", describe(&flood));

    // 3. The mayor accepts the harbour board on her own handset.
    let mut mayor = Connection::enroll(&payload(seed::MAYOR)?, "Ada's phone").await?;
    let expected = visible(&store, seed::MAYOR)?;
    settle(&mut mayor, |s| holds(s) == expected).await?;
    let calendar = folder(&store, seed::MAYOR, "Calendar")?;
    let meeting = meeting_id(mayor.session(), calendar).ok_or(failed("no meeting"))?;
    let accept = RespondToInvitation {
        calendar_id: calendar,
        item_id: meeting,
        status: ParticipationStatus::Accepted as i32,
        ..Default::default()
    };
    let before = chief.wire_bytes();
    mayor.submit(Kind::Respond(accept)).await?;
    settle(&mut chief, |s| accepted(s, calendar, meeting)).await?;
    step(
        &chief,
        before,
        "3. the mayor accepts the harbour board on her phone; the chief's phone is told",
    );
    if let Some(held) = chief
        .session()
        .state()
        .replica()
        .collection(calendar)
        .and_then(|r| r.items().get(&meeting))
    {
        println!("      {}", describe(held));
    }

    // 4. The chief reads the flood warning: the flag goes back up.
    let before = chief.wire_bytes();
    let seen = SetFlags {
        collection_id: inbox,
        item_ids: vec![flood_id],
        set: SEEN,
        clear: 0,
    };
    let op = chief.submit(Kind::SetFlags(seen)).await?;
    chief
        .wait_for(LIMIT, |e| match e {
            ClientEvent::OperationResult(r) if r.op_id == op => Some(()),
            _ => None,
        })
        .await?;
    settle(&mut chief, |s| {
        s.state()
            .replica()
            .collection(inbox)
            .and_then(|r| r.items().get(&flood_id))
            .is_some_and(|i| i.flags & SEEN != 0)
    })
    .await?;
    step(
        &chief,
        before,
        "4. the chief reads the flood warning: the flag goes up, the answer comes down",
    );
    let flags = tidings::store::ItemStore::item(&store, inbox, flood_id)?.map_or(0, |(_, f)| f);
    println!("      the server's store now has flags {flags:#04b} on it");

    // 5. The chief's phone restarts and resumes from its saved state.
    let held = holds(chief.session());
    let saved = chief.close().await?.to_bytes();
    println!(
        "\n   (phone restarts; {} bytes of saved state)",
        saved.len()
    );
    let mut chief = Connection::resume(
        info["tcp"].as_str().unwrap_or_default(),
        ClientState::from_bytes(&saved)?,
    )
    .await?;
    // The server says when every collection is caught up: a resync would
    // come before that, as traffic.
    settle(&mut chief, ClientSession::is_caught_up).await?;
    step(
        &chief,
        (0, 0),
        "5. handset restart: resume from saved state (Noise IK, one round trip, no resync)",
    );
    if holds(chief.session()) != held {
        return Err(failed("resume changed the replica"));
    }
    mayor.close().await?;
    chief.close().await?;

    println!(
        "\ndone: everything above crossed a framed, compressed, end-to-end encrypted channel."
    );
    if keep_running {
        keep_serving(&info, &db).await?;
    } else {
        println!(
            "Run `cargo xtask demo --keep-running` to keep the server up for the web and C examples, `cargo xtask test` to check it all."
        );
    }
    Ok(())
}

async fn wait_ready(ready: &Path) -> Result<serde_json::Value> {
    for _ in 0..300 {
        if let Ok(text) = std::fs::read_to_string(ready) {
            return serde_json::from_str(&text).map_err(|_| failed("bad ready file"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(failed("the server did not start within 30 s"))
}

async fn keep_serving(info: &serde_json::Value, db: &Path) -> Result<()> {
    println!("\nThe server keeps running (Ctrl-C stops it):");
    println!(
        "   web app:   {}",
        info["http"].as_str().unwrap_or_default()
    );
    println!("   TCP:       {}", info["tcp"].as_str().unwrap_or_default());
    println!("   fresh activation payloads (one use each, valid for a day):");
    let mut store = SqliteStore::open(db, Durability::Process)?;
    for principal in store.principals()? {
        let payload = store.transaction(|s| admin::enroll(s, &principal.email, 24 * 3_600_000))?;
        println!("   {:<26} {}", principal.email, payload.to_uri());
    }
    // Ctrl-C or SIGTERM: return, and the server is stopped on the way out.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|_| failed("cannot wait for signals"))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

/// Drives `device` until `done` holds, within the limit.
async fn settle(
    device: &mut Connection,
    mut done: impl FnMut(&ClientSession) -> bool,
) -> Result<()> {
    let wait = async {
        while !done(device.session()) {
            device.next_event().await?.ok_or(failed("session ended"))?;
        }
        Ok(())
    };
    tokio::time::timeout(LIMIT, wait)
        .await
        .map_err(|_| failed("timed out"))?
}

fn step(device: &Connection, (up0, down0): (u64, u64), what: &str) {
    let (up, down) = device.wire_bytes();
    println!(
        "\n{what}\n   wire: {} B up, {} B down",
        up - up0,
        down - down0
    );
}

fn holds(session: &ClientSession) -> Vec<(u64, usize)> {
    session
        .state()
        .replica()
        .collections()
        .map(|(info, replica)| (info.id, replica.items().len()))
        .collect()
}

fn visible(store: &SqliteStore, email: &str) -> Result<Vec<(u64, usize)>> {
    use tidings::store::{Directory, ItemStore};
    let principal = admin::principal(store, email)?;
    store
        .visible_collections(principal.id)?
        .into_iter()
        .map(|(c, _)| Ok((c.id, store.items(c.id)?.len())))
        .collect()
}

fn folder(store: &SqliteStore, email: &str, name: &str) -> Result<u64> {
    let principal = admin::principal(store, email)?;
    store
        .owned_collections(principal.id)?
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.id)
        .ok_or(failed("no such collection"))
}

fn newest(session: &ClientSession, collection: u64) -> Option<(u64, tidings::sync::ReplicaItem)> {
    let replica = session.state().replica().collection(collection)?;
    let (id, held) = replica.items().iter().next_back()?;
    Some((*id, held.clone()))
}

fn meeting_id(session: &ClientSession, calendar: u64) -> Option<u64> {
    let replica = session.state().replica().collection(calendar)?;
    replica
        .items()
        .iter()
        .find_map(|(id, held)| match &held.item.kind {
            Some(item::Kind::Calendar(event)) => event
                .master
                .as_ref()
                .filter(|m| m.summary == "Harbour board")
                .map(|_| *id),
            _ => None,
        })
}

fn accepted(session: &ClientSession, calendar: u64, meeting: u64) -> bool {
    let held = session
        .state()
        .replica()
        .collection(calendar)
        .and_then(|r| r.items().get(&meeting));
    matches!(held.map(|h| &h.item.kind), Some(Some(item::Kind::Calendar(event)))
        if event.master.as_ref().is_some_and(|m| m.attendees.iter().any(|a| a.status == ParticipationStatus::Accepted as i32)))
}
