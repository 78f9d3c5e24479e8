//! Cursors a caught-up device acknowledges are handled without a store job
//! and written in groups (`server/cursors.rs`): they still reach the store,
//! soon after the acknowledgement and at the latest when the server shuts
//! down.

mod common;

use common::{Town, collection, mail, subjects, until};
use std::time::{Duration, Instant};
use tidings::proto::Cursor;
use tidings::session::DEFAULT_ACK_DELAY_MS;
use tidings::store::DeviceRegistry;
use tidings_server::client::Connection;
use tidings_server::seed;
use tidings_server::store::SqliteStore;

/// The device's own cursor for `collection`.
fn held(device: &Connection, collection: u64) -> Cursor {
    device
        .session()
        .state()
        .replica()
        .collection(collection)
        .map(|r| r.cursor())
        .expect("held")
}

/// The stored cursor of the device named `name` for `collection`.
fn stored(store: &SqliteStore, name: &str, collection: u64) -> Option<Cursor> {
    let device = store
        .devices()
        .expect("devices")
        .into_iter()
        .find(|d| d.name == name)
        .expect("enrolled");
    store
        .cursors(device.id)
        .expect("cursors")
        .into_iter()
        .find(|c| c.collection_id == collection)
}

/// Runs the device until its delayed acknowledgement has left.
async fn let_the_ack_go(device: &mut Connection) {
    let until =
        tokio::time::Instant::now() + Duration::from_millis(u64::from(DEFAULT_ACK_DELAY_MS) + 50);
    while tokio::time::timeout_at(until, device.next_event())
        .await
        .is_ok()
    {}
}

async fn new_mail(town: &Town, inbox: u64, subject: &str, device: &mut Connection) {
    town.admin()
        .transaction(|s| s.add_message(inbox, &mail(seed::CHIEF, subject), 2048))
        .expect("deliver");
    until(device, |s| {
        subjects(s, inbox).contains(&subject.to_string())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_push_is_stored_soon_and_the_last_ones_at_shutdown() {
    let town = Town::new().await;
    let inbox = collection(&town, seed::CHIEF, "Inbox");
    let mut phone = town.device(seed::CHIEF, "phone").await;

    new_mail(&town, inbox, "Gritting tonight", &mut phone).await;
    let acknowledged = held(&phone, inbox);
    let admin = town.admin();
    let deadline = Instant::now() + Duration::from_secs(10);
    let_the_ack_go(&mut phone).await;
    while stored(&admin, "phone", inbox) != Some(acknowledged) {
        assert!(
            Instant::now() < deadline,
            "the acknowledged cursor was never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Acknowledged just before shutdown: written by it.
    new_mail(&town, inbox, "Roads closed", &mut phone).await;
    let last = held(&phone, inbox);
    assert_ne!(last, acknowledged);
    let_the_ack_go(&mut phone).await;
    let Town { server, db, .. } = town;
    let closing = tokio::spawn(server.shutdown());
    // The device sees the close and leaves.
    let _ = phone.next_event().await;
    drop(phone);
    closing.await.expect("shut down");
    let store = SqliteStore::open(&db, tidings_server::store::Durability::Process).expect("open");
    assert_eq!(stored(&store, "phone", inbox), Some(last));
}
