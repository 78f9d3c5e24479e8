//! Orders an administrator gives while the server runs (from another
//! process, as the admin command line does) reach connected devices: a wipe
//! is requested and its acknowledgement stored (the wiped device revoked in
//! every session); a revoked device's session ends and it cannot come back.

mod common;

use common::{LIMIT, Town};
use tidings::session::ClientEvent;
use tidings::store::{DeviceRegistry, WipeState};
use tidings_server::client::Connection;
use tidings_server::{admin, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wipe_ordered_by_an_admin_reaches_the_device_and_is_acknowledged() {
    let town = Town::new().await;
    let mut phone = town.device(seed::CHIEF, "Sam's phone").await;
    let device = phone.session().state().device_id();
    // A second session of the same device (a background push socket).
    let tcp = town.server.tcp_addr().expect("tcp").to_string();
    let mut background = Connection::resume(&tcp, phone.session().state().clone())
        .await
        .expect("resume");
    common::until(
        &mut background,
        tidings::session::ClientSession::is_caught_up,
    )
    .await;

    let wipe_id = admin::wipe(&mut town.admin(), device).expect("wipe");
    let asked = phone
        .wait_for(LIMIT, |e| match e {
            ClientEvent::WipeRequested { wipe_id } => Some(*wipe_id),
            _ => None,
        })
        .await
        .expect("wipe requested");
    assert_eq!(asked, wipe_id);
    phone.acknowledge_wipe(wipe_id).await.expect("acknowledge");

    let store = town.admin();
    let acknowledged = async {
        while store.device(device).expect("device").wipe != WipeState::Done(wipe_id) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(LIMIT, acknowledged)
        .await
        .expect("the acknowledgement is stored");
    // Wiped, the device is revoked: its other session is told so too.
    background
        .wait_for(LIMIT, |e| matches!(e, ClientEvent::Revoked).then_some(()))
        .await
        .expect("the other session is told it is revoked");
    assert!(background.session().is_closed());
    town.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_set_by_an_admin_reaches_the_connected_device_only() {
    let town = Town::new().await;
    let mut phone = town.device(seed::MAYOR, "Ada's phone").await;
    let mut other = town.device(seed::CHIEF, "Sam's phone").await;
    let device = phone.session().state().device_id();
    let welcomed = *phone.session().state().policy();
    assert_eq!(welcomed.version, 1, "the server's default policy");
    let saved_before = phone.session().state().clone();

    let rules = admin::PolicyRules {
        require_passcode: true,
        max_inactivity_seconds: 300,
        allow_attachments: false,
    };
    let version = admin::set_policy(&mut town.admin(), device, rules).expect("policy");
    assert_eq!(version, 2);
    let pushed = phone
        .wait_for(LIMIT, |e| match e {
            ClientEvent::Policy(p) => Some(*p),
            _ => None,
        })
        .await
        .expect("the new policy is pushed");
    assert_eq!(pushed.version, 2);
    assert!(pushed.require_passcode && !pushed.allow_attachments);
    assert_eq!(pushed.max_inactivity_seconds, 300);
    // What the administrator left open is the server's own.
    assert_eq!(pushed.keepalive_seconds, welcomed.keepalive_seconds);
    assert_eq!(pushed.max_preview_bytes, welcomed.max_preview_bytes);
    assert_eq!(phone.session().state().policy(), &pushed);

    // Another principal's device hears nothing of it.
    let heard = other
        .wait_for(std::time::Duration::from_millis(500), |e| {
            matches!(e, ClientEvent::Policy(_)).then_some(())
        })
        .await;
    assert!(
        heard.is_err(),
        "only the device whose policy changed is told"
    );

    // A device that was offline meanwhile is welcomed with it.
    phone.close().await.expect("close");
    let tcp = town.server.tcp_addr().expect("tcp").to_string();
    let mut again = Connection::resume(&tcp, saved_before)
        .await
        .expect("resume");
    again
        .wait_for(LIMIT, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        })
        .await
        .expect("welcomed");
    assert_eq!(again.session().state().policy(), &pushed);
    town.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_revoked_by_an_admin_is_cut_off_and_refused() {
    let town = Town::new().await;
    let mut phone = town.device(seed::MAYOR, "Ada's phone").await;
    let device = phone.session().state().device_id();

    admin::revoke(&mut town.admin(), device).expect("revoke");
    phone
        .wait_for(LIMIT, |e| matches!(e, ClientEvent::Revoked).then_some(()))
        .await
        .expect("told it is revoked");
    assert!(phone.session().is_closed());

    // Coming back with its saved state gets the same answer.
    let state = phone.session().state().clone();
    let tcp = town.server.tcp_addr().expect("tcp").to_string();
    let mut again = Connection::resume(&tcp, state).await.expect("connect");
    again
        .wait_for(LIMIT, |e| matches!(e, ClientEvent::Revoked).then_some(()))
        .await
        .expect("refused again");
    town.server.shutdown().await;
}
