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

fn save(path: &Path, addr: &str, state: &ClientState) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // Owner-only: the state holds the device's private key.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, "cannot write the state file"))?;
    file.write_all(format!("{addr}\n").as_bytes())
        .and_then(|()| file.write_all(&state.to_bytes()))
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, "cannot write the state file"))
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

async fn sync(state_file: &Path, follow_seconds: u64) -> Result<()> {
    let (addr, state) = load(state_file)?;
    let mut device = Connection::resume(&addr, state).await?;
    // Caught up when a moment passes without news.
    while let Ok(event) =
        tokio::time::timeout(Duration::from_millis(500), device.next_event()).await
    {
        if event?.is_none() {
            break;
        }
    }
    print_replica(device.session());
    let follow = async {
        while let Some(event) = device.next_event().await? {
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
    let mut device = Connection::resume(&addr, state).await?;
    let op = device.submit(kind).await?;
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
