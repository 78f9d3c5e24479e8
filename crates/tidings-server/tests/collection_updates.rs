//! The reference server over real sockets: a device is told when its initial
//! sync is done (`CaughtUp`), and gets its new collection list live when
//! another process creates, renames or deletes a collection or changes a
//! delegation (`CollectionsChanged`, sync.md §5.6): the hub notices it in the
//! store, so no writer announces anything.

mod common;

use common::{LIMIT, Town, collection, mail, subjects, until};
use tidings::proto::CollectionInfo;
use tidings::session::ClientEvent;
use tidings::store::ItemStore;
use tidings::sync::Rights;
use tidings_server::client::Connection;
use tidings_server::{admin, seed};

/// The next `CollectionsChanged` the device gets.
async fn next_list(device: &mut Connection) -> Vec<CollectionInfo> {
    device
        .wait_for(LIMIT, |e| match e {
            ClientEvent::CollectionsChanged { collections } => Some(collections.clone()),
            _ => None,
        })
        .await
        .expect("a new collection list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_caught_up_then_follows_collections_made_renamed_and_deleted_elsewhere() {
    let town = Town::new().await;
    let mut phone = Connection::enroll(&town.activation(seed::CHIEF), "Sam's phone")
        .await
        .expect("connect");
    until(&mut phone, |s| s.is_caught_up()).await;
    let expected = town.visible_items(seed::CHIEF);
    assert_eq!(
        common::holds(phone.session()),
        expected,
        "caught up means all"
    );

    // Another process (an import, the IMAP gateway) makes a folder with mail.
    let mut admin_store = town.admin();
    let chief = admin::principal(&admin_store, seed::CHIEF).expect("chief");
    let projects = admin_store
        .transaction(|s| {
            let id = admin::folder(s, chief.id, "Projects")?;
            s.add_message(id, &mail(seed::CHIEF, "Pier repairs"), 2048)?;
            Ok(id)
        })
        .expect("folder");
    let list = next_list(&mut phone).await;
    assert!(
        list.iter()
            .any(|c| c.id == projects && c.name == "Projects")
    );
    until(&mut phone, |s| {
        subjects(s, projects) == vec!["Pier repairs".to_string()] && s.is_caught_up()
    })
    .await;

    // Renamed: the same items, a new name, no resync.
    admin_store
        .rename_collection(projects, "Harbour projects")
        .expect("rename");
    let list = next_list(&mut phone).await;
    assert!(
        list.iter()
            .any(|c| c.id == projects && c.name == "Harbour projects")
    );
    assert_eq!(subjects(phone.session(), projects), vec!["Pier repairs"]);

    // Deleted: gone from the device's list and replica.
    admin_store.delete_collection(projects).expect("delete");
    let list = next_list(&mut phone).await;
    assert!(!list.iter().any(|c| c.id == projects));
    assert!(
        phone
            .session()
            .state()
            .replica()
            .collection(projects)
            .is_none()
    );

    // A delegation given by an admin: the mayor's Inbox appears, with its mail.
    let inbox = admin_store
        .transaction(|s| admin::delegate(s, seed::MAYOR, seed::CHIEF, true, Rights::READ))
        .expect("delegate");
    let list = next_list(&mut phone).await;
    assert!(list.iter().any(|c| c.id == inbox));
    let held = admin_store.items(inbox).expect("items").len();
    until(&mut phone, |s| {
        s.state()
            .replica()
            .collection(inbox)
            .is_some_and(|r| r.items().len() == held)
            && s.is_caught_up()
    })
    .await;
    assert_eq!(inbox, collection(&town, seed::MAYOR, "Inbox"));
    phone.close().await.expect("close");
    town.server.shutdown().await;
}
