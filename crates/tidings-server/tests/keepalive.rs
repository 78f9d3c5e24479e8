//! Keepalives over real sockets (sync.md §5.4): a device that asks for
//! one-way keepalives sends nothing while idle and the server keeps it with
//! its own; a server run with `--two-way-keepalives` does not take the
//! feature up, and the device then keeps the rhythm itself.

mod common;

use common::Town;
use std::time::Duration;
use tidings_server::client::Connection;
use tidings_server::seed;

/// What a device sent and received while it sat idle for `idle`, against a
/// server with a 1 s keepalive and a 2 s idle timeout.
async fn idle_device(two_way: bool, idle: Duration) -> ((u64, u64), Connection, Town) {
    let town = Town::with(|options| {
        options.limits.keepalive_secs = 1;
        options.limits.idle_timeout_secs = 2;
        options.limits.two_way_keepalives = two_way;
        options.session = options.limits.session();
    })
    .await;
    let mut phone = town.device(seed::CHIEF, "Sam's phone").await;
    // Let whatever the sync left in flight (a last acknowledgement) cross
    // before counting.
    let _ = phone
        .wait_for(Duration::from_millis(300), |_| None::<()>)
        .await;
    let (sent, received) = phone.wire_bytes();
    // Nothing but keepalives can come: the wait must run out.
    let ended = phone
        .wait_for(idle, |e| {
            matches!(e, tidings::session::ClientEvent::Closed { .. }).then_some(())
        })
        .await;
    assert_eq!(
        ended.map_err(|e| e.kind()),
        Err(tidings::ErrorKind::Timeout),
        "the session outlived the idle timeout"
    );
    let (sent_after, received_after) = phone.wire_bytes();
    ((sent_after - sent, received_after - received), phone, town)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listening_device_sends_nothing_and_the_servers_keepalives_keep_it() {
    let ((sent, received), phone, town) = idle_device(false, Duration::from_secs(5)).await;
    assert_eq!(sent, 0, "a device that only listens sends no keepalive");
    // About one 19-byte keepalive a second (at least two, whatever the
    // machine's load); the session is open past two and a half idle
    // timeouts of the device's silence.
    assert!((2 * 19..=7 * 19).contains(&received), "{received} bytes");
    assert!(!phone.session().is_closed());
    town.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_way_keepalives_the_device_keeps_the_rhythm_itself() {
    let ((sent, received), phone, town) = idle_device(true, Duration::from_secs(5)).await;
    // Each side sends a keepalive after each second it has sent nothing.
    assert!((3 * 19..=6 * 19).contains(&sent), "{sent} bytes sent");
    assert!(
        (3 * 19..=6 * 19).contains(&received),
        "{received} bytes received"
    );
    assert!(!phone.session().is_closed());
    town.server.shutdown().await;
}
