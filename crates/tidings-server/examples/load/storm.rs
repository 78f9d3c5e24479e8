//! The reconnect storm: every device, enrolled and idle, drops its
//! connection at once and comes back (Noise IK, then Hello and the check
//! that it is caught up), as after a server restart or a network outage.
//! Its rate is set against what the same build does in-core: the same
//! reconnect, both ends in one thread over a memory store, with no sockets.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tidings::crypto::StaticKeypair;
use tidings::proto::CollectionKind;
use tidings::session::{ClientConfig, ClientSession, ClientState, ServerConfig, ServerSession};
use tidings::store::{ActivationCode, DeviceRegistry, MemoryStore};
use tidings_server::client::Connection;

/// Reconnects measured in-core.
const IN_CORE_RECONNECTS: u32 = 2_000;

/// Full reconnects per second on one thread, both ends in-core: an IK
/// handshake, Hello, Welcome and the caught-up check, over a memory store.
pub(crate) fn in_core_reconnects_per_second() -> Result<f64, String> {
    let fail = |e: tidings::Error| e.to_string();
    let mut store = MemoryStore::new();
    let principal = store.add_principal("Staff", "staff@load.example");
    // One collection to be caught up on, as each load-test device has.
    store
        .add_collection(principal, CollectionKind::Mail, "Inbox")
        .map_err(fail)?;
    let code = ActivationCode::from_random([7; 10]);
    store
        .create_activation(principal, &code, u64::MAX, 3)
        .map_err(fail)?;
    let keys = Arc::new(StaticKeypair::from_secret_bytes([9; 32]));
    let state = ClientState::new([3; 32], keys.public_key());
    let mut client = ClientSession::enroll(
        ClientConfig::default(),
        state,
        &code.display(),
        "in-core",
        [4; 32],
        1,
    )
    .map_err(fail)?;
    let mut server = ServerSession::new(ServerConfig::default(), keys.clone(), [5; 32], 1);
    tidings::session::pump(&mut client, &mut server, &mut store, 1).map_err(fail)?;
    let mut state = client.state().clone();
    let started = Instant::now();
    for n in 0..IN_CORE_RECONNECTS {
        let now = 10 + u64::from(n);
        let mut client =
            ClientSession::resume(ClientConfig::default(), state, [6; 32], now).map_err(fail)?;
        client.confirm_state_saved();
        let mut server = ServerSession::new(ServerConfig::default(), keys.clone(), [8; 32], now);
        tidings::session::pump(&mut client, &mut server, &mut store, now).map_err(fail)?;
        if !client.is_caught_up() {
            return Err("an in-core reconnect did not catch up".into());
        }
        state = client.state().clone();
    }
    Ok(f64::from(IN_CORE_RECONNECTS) / started.elapsed().as_secs_f64())
}

/// Reconnects every device of `states` at once (at most `in_flight`
/// handshakes open from this client), device `n` to `addresses[n mod N]`;
/// returns the seconds until the last was caught up.
pub(crate) async fn storm(
    states: Vec<ClientState>,
    addresses: &[String],
    in_flight: usize,
) -> Result<f64, String> {
    let permits = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, state) in states.into_iter().enumerate() {
        let addr = addresses[n % addresses.len()].clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
            let mut device = Connection::resume(&addr, state)
                .await
                .map_err(|e| format!("reconnect: {e}"))?;
            while !device.session().is_caught_up() {
                device
                    .next_event()
                    .await
                    .map_err(|e| format!("reconnect: {e}"))?
                    .ok_or("the server closed a reconnected session")?;
            }
            drop(permit);
            Ok::<_, String>(device)
        });
    }
    let mut back = Vec::new();
    while let Some(done) = tasks.join_next().await {
        back.push(done.map_err(|e| e.to_string())??);
    }
    let seconds = started.elapsed().as_secs_f64();
    // Held until every device is back: none leaves early and frees the way.
    drop(back);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(seconds)
}
