//! The watcher against a real Dovecot: push keeps bringing new mail within
//! seconds whatever happened to the upstream before.

mod support;

use std::time::Duration;
use support::account::{
    ALICE, alice, bounded, collection, device_view, endpoint, item_id, mail, store_at,
};
use support::desktop::{Desktop, eventually};
use support::dovecot::Dovecot;
use tidings::proto::MailFlag;
use tidings_upstream::gateway::{self, AccountOptions};

/// The gateway's logs on a failure (`RUST_LOG=tidings_upstream=debug`).
fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn options(dovecot: &Dovecot) -> AccountOptions {
    AccountOptions {
        endpoint: endpoint(dovecot),
        credentials: alice(),
        principal: ALICE.to_string(),
        preview_bytes: 2048,
        // Far beyond the test: only push can bring the mail.
        poll: Duration::from_secs(3600),
        dovecot_push: false,
    }
}

/// Dovecot reports changes to a NOTIFY session through an inotify watch on
/// INBOX's index log as it was at `NOTIFY SET`; once a burst of flag changes
/// has rotated that log, only its `mailbox_idle_check_interval` timer
/// (30 s by default) reports anything. Here the log rotates at 16 KiB (1 MiB
/// by default) and the timer is an hour away, so the mail delivered after
/// the rotation arrives in time only if the watcher registered afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mail_is_pushed_after_flag_changes_rotate_the_inbox_log() {
    logs();
    bounded(async {
        let dovecot = Dovecot::start_with_settings(
            "mail_index_log_rotate_max_size = 16k\nmailbox_idle_check_interval = 1h",
        );
        for n in 0..5 {
            dovecot.deliver("alice", &mail(&format!("Old {n}")));
        }
        let store = store_at(&dovecot.scratch().join("store.db"));
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let (handle, task) = gateway::spawn(options(&dovecot), store.clone(), shutdown);
        let inbox = eventually(Duration::from_secs(10), || collection(&store, "INBOX")).await;
        eventually(Duration::from_secs(10), || {
            (device_view(&store, inbox).len() == 5).then_some(())
        })
        .await;

        // The desktop toggles flags on every message while a device flags
        // the same ones through the gateway, as in the report.
        let desktop = Desktop::new(dovecot.addr(), "alice", "alice-pw");
        let toggling = tokio::task::spawn_blocking(move || {
            desktop.run(
                "ok(m.select('INBOX'))\n\
                 for k in range(400):\n    \
                 ok(m.uid('STORE', '1:*', '+FLAGS' if k % 2 else '-FLAGS', '(\\\\Seen \\\\Flagged)'))",
            )
        });
        let items: Vec<u64> = (0..5)
            .map(|n| item_id(&store, inbox, &format!("Old {n}")))
            .collect();
        let flagged = MailFlag::Flagged as u32;
        for item in items.iter().cycle().take(20) {
            handle
                .set_flags(inbox, *item, flagged, 0)
                .await
                .expect("write-back");
        }
        toggling.await.expect("desktop");
        let rotated = dovecot.mail_dir("alice").join("dovecot.index.log.2");
        assert!(rotated.exists(), "the flag changes rotated INBOX's log");
        // The desktop's last change (the 400th, `+FLAGS`) is mirrored; then
        // nothing the burst set off is left to bring the next mail.
        let last = MailFlag::Seen as u32 | MailFlag::Flagged as u32;
        eventually(Duration::from_secs(10), || {
            device_view(&store, inbox)
                .values()
                .all(|flags| *flags == last)
                .then_some(())
        })
        .await;

        dovecot.deliver("alice", &mail("After rotation"));
        eventually(Duration::from_secs(10), || {
            device_view(&store, inbox)
                .contains_key("After rotation")
                .then_some(())
        })
        .await;
        stop.send(true).expect("stop");
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    })
    .await;
}

/// Each time the upstream ends the watcher's session (and only it: the
/// mirror's connection stays), the watcher is back a second later however
/// often it happened before, and new mail is pushed again: not after a
/// reconnect delay that doubled at every interruption (16 s after the
/// fifth, 60 s from the seventh on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_is_back_at_once_after_repeated_interruptions() {
    logs();
    bounded(async {
        let dovecot = Dovecot::start_with_settings("verbose_proctitle = yes");
        let store = store_at(&dovecot.scratch().join("store.db"));
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let (_handle, task) = gateway::spawn(options(&dovecot), store.clone(), shutdown);
        let inbox = eventually(Duration::from_secs(10), || collection(&store, "INBOX")).await;
        for _ in 0..5 {
            // The watcher is the session in IDLE: cut as soon as it is back.
            eventually(Duration::from_secs(20), || {
                (dovecot.end_idle_sessions("alice") > 0).then_some(())
            })
            .await;
        }
        dovecot.deliver("alice", &mail("After the interruptions"));
        eventually(Duration::from_secs(5), || {
            device_view(&store, inbox)
                .contains_key("After the interruptions")
                .then_some(())
        })
        .await;
        stop.send(true).expect("stop");
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    })
    .await;
}
