//! A device reconnecting in a loop gets its first pages only as fast as
//! its store budget allows (`--store-ms-per-second`): the pages were built
//! in every hello's turn, before the connection knew the device, so a loop
//! kept a core busy whatever the budget (security.md). Its debt now
//! outlives its connections, a hello's cost is charged to it, and while it
//! owes, a reconnect is answered with its `Welcome` alone and sent its pages
//! once the debt is repaid: late, never lost.

mod common;

use common::*;
use tidings_server::server::{Limits, ServerOptions, stats};
use tidings_server::{admin, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_reconnecting_in_a_loop_gets_its_pages_once_it_has_repaid() {
    let town = Town::with(|o: &mut ServerOptions| {
        o.limits = Limits {
            store_ms_per_second: 5,
            ..Limits::DEFAULT
        };
    })
    .await;
    let inbox = collection(&town, seed::CHIEF, "Inbox");
    let phone = town.device(seed::CHIEF, "Sam's phone").await;
    let mut state = phone.close().await.expect("close");
    let tcp = town.server.tcp_addr().expect("tcp").to_string();
    let before = stats::catch_ups_deferred();
    // Each reconnect costs the device store time; with 5 ms a second it
    // soon owes some, and then its pages wait.
    for n in 0..40 {
        let subject = format!("While away {n}");
        admin::deliver_mail(&mut town.admin(), seed::CHIEF, &mail(seed::CHIEF, &subject))
            .expect("deliver");
        let mut device = tidings_server::client::Connection::resume(&tcp, state)
            .await
            .expect("connect");
        until(&mut device, |s| {
            subjects(s, inbox).contains(&subject) && s.is_caught_up()
        })
        .await;
        state = device.close().await.expect("close");
        if stats::catch_ups_deferred() > before {
            return;
        }
    }
    panic!("forty reconnects in a row, and none was held back");
}
