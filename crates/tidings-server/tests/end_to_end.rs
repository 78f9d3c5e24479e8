//! The reference server over real loopback sockets: devices of different
//! principals and a delegate each see exactly what they may, changes are
//! pushed live whoever makes them, and push latency is measured.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tidings::proto::{ParticipationStatus, RespondToInvitation, SetFlags, item, operation::Kind};
use tidings::session::ClientEvent;
use tidings::store::ItemStore;
use tidings_server::{admin, seed};

const SEEN: u32 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_device_sees_what_its_principal_may_and_changes_reach_it_live() {
    let town = Town::new().await;
    let mut chief = town.device(seed::CHIEF, "Sam's phone").await;
    let mut mayor = town.device(seed::MAYOR, "Ada's phone").await;
    let councillor_email = seed::COUNCILLORS[0];
    let mut councillor = town.device(councillor_email, "Bryn's phone").await;

    let mayor_calendar = collection(&town, seed::MAYOR, "Calendar");
    let mayor_inbox = collection(&town, seed::MAYOR, "Inbox");
    let chief_inbox = collection(&town, seed::CHIEF, "Inbox");
    let held: Vec<u64> = holds(chief.session()).iter().map(|(c, _)| *c).collect();
    assert!(held.contains(&mayor_calendar), "delegated calendar held");
    assert!(!held.contains(&mayor_inbox), "the mayor's mail is not");

    // A mail delivered by another process (an admin command) is pushed.
    let before_mayor = holds(mayor.session());
    let before_councillor = positions(councillor.session());
    admin::deliver_mail(
        &mut town.admin(),
        seed::CHIEF,
        seed::FLOOD_WARNING.as_bytes(),
    )
    .expect("deliver");
    until(&mut chief, |s| {
        subjects(s, chief_inbox)
            .iter()
            .any(|s| s.starts_with("Flood warning"))
    })
    .await;

    // The mayor accepts the harbour board on her phone; the chief sees it.
    let meeting = town
        .admin()
        .items(mayor_calendar)
        .expect("items")
        .into_iter()
        .map(|(id, _, _)| id)
        .next()
        .expect("meeting");
    let accept = RespondToInvitation {
        calendar_id: mayor_calendar,
        item_id: meeting,
        status: ParticipationStatus::Accepted as i32,
        ..Default::default()
    };
    mayor.submit(Kind::Respond(accept)).await.expect("submit");
    let accepted = |s: &tidings::session::ClientSession| {
        s.state()
            .replica()
            .collection(mayor_calendar)
            .and_then(|r| r.items().get(&meeting).cloned())
            .and_then(|i| match i.item.kind {
                Some(item::Kind::Calendar(c)) => c.master,
                _ => None,
            })
            .is_some_and(|m| {
                m.attendees
                    .iter()
                    .any(|a| a.status == ParticipationStatus::Accepted as i32)
            })
    };
    until(&mut chief, accepted).await;

    // The chief reads the flood warning: the flag goes up to the store.
    let flood = chief
        .session()
        .state()
        .replica()
        .collection(chief_inbox)
        .and_then(|r| r.items().keys().next_back().copied())
        .expect("flood warning held");
    let seen = SetFlags {
        collection_id: chief_inbox,
        item_ids: vec![flood],
        set: SEEN,
        clear: 0,
    };
    let op = chief.submit(Kind::SetFlags(seen)).await.expect("submit");
    chief
        .wait_for(LIMIT, |e| match e {
            ClientEvent::OperationResult(r) if r.op_id == op => Some(()),
            _ => None,
        })
        .await
        .expect("answered");
    let flags = town
        .admin()
        .item(chief_inbox, flood)
        .expect("item")
        .map(|(_, f)| f);
    assert_eq!(flags, Some(SEEN));

    // Others were told nothing of the chief's mail or flags.
    quiet_for(&mut councillor, Duration::from_millis(300)).await;
    assert_eq!(positions(councillor.session()), before_councillor);
    assert_eq!(holds(mayor.session()), before_mayor);
    town.server.shutdown().await;
}

/// Drives `device` for `window` (it may still take events from before).
async fn quiet_for(device: &mut tidings_server::client::Connection, window: Duration) {
    let drive = async { while device.next_event().await.expect("connection").is_some() {} };
    assert!(
        tokio::time::timeout(window, drive).await.is_err(),
        "the session ended"
    );
}

/// Where each collection of the device's replica stands.
fn positions(session: &tidings::session::ClientSession) -> Vec<(u64, u64)> {
    session
        .state()
        .replica()
        .collections()
        .map(|(info, replica)| (info.id, replica.cursor().modseq))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_latency_from_store_change_to_device() {
    let town = Town::new().await;
    let mut chief = town.device(seed::CHIEF, "Sam's phone").await;
    let inbox = collection(&town, seed::CHIEF, "Inbox");
    let mut admin_store = town.admin();
    let mut latencies = Vec::new();
    for n in 0..40 {
        let subject = format!("latency-{n}");
        let raw = mail(seed::CHIEF, &subject);
        // From the commit of the change to the device holding it.
        admin::deliver_mail(&mut admin_store, seed::CHIEF, &raw).expect("deliver");
        let committed = Instant::now();
        until(&mut chief, |s| subjects(s, inbox).contains(&subject)).await;
        latencies.push(committed.elapsed());
    }
    report("change by another process (poll 10 ms)", &mut latencies);

    // A change made through the server (a flag set on the chief's phone)
    // reaches the chief's tablet without waiting for a poll.
    let mut tablet = town.device(seed::CHIEF, "Sam's tablet").await;
    let item = town.admin().items(inbox).expect("items")[0].0;
    let mut latencies = Vec::new();
    for n in 0..40u32 {
        let flags = n % 2;
        let op = SetFlags {
            collection_id: inbox,
            item_ids: vec![item],
            set: flags,
            clear: 1 - flags,
        };
        let sent = Instant::now();
        chief.submit(Kind::SetFlags(op)).await.expect("submit");
        until(&mut tablet, |s| {
            s.state()
                .replica()
                .collection(inbox)
                .and_then(|r| r.items().get(&item).map(|i| i.flags))
                == Some(flags)
        })
        .await;
        latencies.push(sent.elapsed());
    }
    report(
        "operation on another device (round trip included)",
        &mut latencies,
    );
    town.server.shutdown().await;
}

fn report(what: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let worst = latencies[latencies.len() - 1];
    println!("push latency over loopback, {what}: median {median:?}, max {worst:?}");
}
