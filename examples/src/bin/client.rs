//! The Rust client example: a handset app in a hundred lines, on the
//! reference async driver (`tidings_server::client::Connection`).
//!
//! ```text
//! client enroll PAYLOAD STATE_FILE        enroll with an activation payload
//! client sync STATE_FILE [SECONDS]        resume, show everything, follow pushes
//! client flag STATE_FILE COLLECTION ITEM  mark a mail as seen
//! client accept STATE_FILE CALENDAR ITEM  accept an invitation
//! ```
//!
//! The state file holds the server's address and the client state (keys,
//! cursors, pending operations): keep it private.

use std::path::Path;
use std::time::Duration;
use tidings::proto::{ParticipationStatus, RespondToInvitation, SetFlags, operation::Kind};
use tidings::session::{ClientEvent, ClientState};
use tidings::{Error, ErrorKind, Result};
use tidings_examples::{describe, print_replica};
use tidings_server::activation::Activation;
use tidings_server::client::Connection;

const USAGE: &str = "usage: client enroll PAYLOAD STATE | sync STATE [SECONDS] | \
                     flag STATE COLLECTION ITEM | accept STATE CALENDAR ITEM";

fn bad_usage() -> Error {
    Error::new(ErrorKind::InvalidArgument, "bad arguments (see --help)")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Err(e) = run(&args).await {
        eprintln!("client: {e}\n{USAGE}");
        std::process::exit(1);
    }
}

async fn run(args: &[&str]) -> Result<()> {
    let number = |s: &str| s.parse::<u64>().map_err(|_| bad_usage());
    match args {
        ["enroll", payload, state] => enroll(payload, Path::new(state)).await,
        ["sync", state] => sync(Path::new(state), 0).await,
        ["sync", state, seconds] => sync(Path::new(state), number(seconds)?).await,
        ["flag", state, collection, item] => {
            let seen = SetFlags {
                collection_id: number(collection)?,
                item_ids: vec![number(item)?],
                set: 1,
                clear: 0,
            };
            operate(Path::new(state), Kind::SetFlags(seen)).await
        }
        ["accept", state, calendar, item] => {
            let accept = RespondToInvitation {
                calendar_id: number(calendar)?,
                item_id: number(item)?,
                status: ParticipationStatus::Accepted as i32,
                ..Default::default()
            };
            operate(Path::new(state), Kind::Respond(accept)).await
        }
        _ => Err(bad_usage()),
    }
}

/// Writes the state file whole or not at all (a new file, synced, renamed
/// over the old one): a crash mid-save leaves the previous state intact.
fn save(path: &Path, addr: &str, state: &ClientState) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |_| Error::new(ErrorKind::InvalidArgument, "cannot write the state file");
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = Path::new(&temporary);
    // Owner-only: the state holds the device's private key.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(temporary)
        .map_err(failed)?;
    file.write_all(format!("{addr}\n").as_bytes())
        .and_then(|()| file.write_all(&state.to_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    std::fs::rename(temporary, path).map_err(failed)
}

fn load(path: &Path) -> Result<(String, ClientState)> {
    let bytes = std::fs::read(path)
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, "cannot read the state file"))?;
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(ErrorKind::StateCorrupt)?;
    let addr = String::from_utf8_lossy(&bytes[..newline]).into_owned();
    Ok((addr, ClientState::from_bytes(&bytes[newline + 1..])?))
}

async fn enroll(payload: &str, state_file: &Path) -> Result<()> {
    let activation = Activation::parse(payload)?;
    let mut device = Connection::enroll(&activation, "Rust client example").await?;
    let limit = Duration::from_secs(30);
    device
        .wait_for(limit, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        })
        .await?;
    let state = device.close().await?;
    save(
        state_file,
        activation.tcp.as_deref().unwrap_or_default(),
        &state,
    )?;
    println!("enrolled as device {}; state saved", state.device_id());
    Ok(())
}

/// Reconnects, saving the state before the first byte goes out (its hello
/// counter has advanced: a crash or a lost answer never repeats it). A hello
/// the server refuses as stale is answered with the floor to use next; the
/// state adopts it, is saved, and the device tries once more.
async fn connect(state_file: &Path, addr: &str, mut state: ClientState) -> Result<Connection> {
    for attempt in 0..2 {
        let mut device =
            Connection::resume_saving(addr, state, |s| save(state_file, addr, s)).await?;
        let first = device
            .wait_for(Duration::from_secs(30), |e| {
                (!matches!(e, ClientEvent::Closed { .. })).then_some(())
            })
            .await;
        save(state_file, addr, device.session().state())?;
        match first {
            Err(e) if e.kind() == ErrorKind::Replay && attempt == 0 => {
                state = device.session().state().clone();
            }
            Err(e) => return Err(e),
            Ok(_) => return Ok(device),
        }
    }
    Err(ErrorKind::Replay.into())
}

async fn sync(state_file: &Path, follow_seconds: u64) -> Result<()> {
    let (addr, state) = load(state_file)?;
    let mut device = connect(state_file, &addr, state).await?;
    // Caught up when the server says every collection is (CaughtUp).
    let caught_up = async {
        while !device.session().is_caught_up() {
            if device.next_event().await?.is_none() {
                return Err(Error::from(ErrorKind::SessionClosed));
            }
            save(state_file, &addr, device.session().state())?;
        }
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(30), caught_up)
        .await
        .map_err(|_| Error::new(ErrorKind::Timeout, "the initial sync took over 30 s"))??;
    save(state_file, &addr, device.session().state())?;
    print_replica(device.session());
    let follow = async {
        while let Some(event) = device.next_event().await? {
            // Whatever the event changed is on disk before the next one.
            save(state_file, &addr, device.session().state())?;
            if let ClientEvent::Changed { collection_id, .. } = event {
                let replica = device.session().state().replica();
                if let Some(newest) = replica
                    .collection(collection_id)
                    .and_then(|r| r.items().values().next_back())
                {
                    println!("push: {}", describe(newest));
                }
            }
        }
        Ok::<_, Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(follow_seconds), follow).await;
    let state = device.close().await?;
    save(state_file, &addr, &state)
}

async fn operate(state_file: &Path, kind: Kind) -> Result<()> {
    let (addr, state) = load(state_file)?;
    let mut device = connect(state_file, &addr, state).await?;
    let op = device.submit(kind).await?;
    // The operation is in the saved outbox: after a crash it is sent again.
    save(state_file, &addr, device.session().state())?;
    let result = device
        .wait_for(Duration::from_secs(30), |e| match e {
            ClientEvent::OperationResult(r) if r.op_id == op => Some(r.clone()),
            _ => None,
        })
        .await?;
    println!("{:?}", result.outcome);
    let state = device.close().await?;
    save(state_file, &addr, &state)
}
