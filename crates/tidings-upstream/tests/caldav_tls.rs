//! CalDAV over TLS, verified: a real Radicale serving HTTPS with a
//! certificate for 127.0.0.1 from a throwaway CA. With that CA configured
//! the gateway discovers the account's calendars; with the system's roots,
//! or under a name the certificate does not carry, it refuses to talk.

#[path = "support/caldav_servers.rs"]
mod caldav_servers;

use caldav_servers::CalServer;
use std::sync::{Arc, Mutex};
use tidings::ErrorKind;
use tidings_store_sqlite::SqliteStore;
use tidings_upstream::caldav::config::Server;
use tidings_upstream::caldav::{CalAccount, CalDavAccount};
use tidings_upstream::config::Secret;

const ALICE: &str = "alice@example.org";

async fn sync(
    cal: &CalServer,
    url: &str,
    ca_file: Option<std::path::PathBuf>,
) -> tidings::Result<u64> {
    let mut store = SqliteStore::open_in_memory().expect("store");
    store.add_principal("Alice", ALICE).expect("principal");
    let server = Server {
        url: url.parse().expect("url"),
        ca_file,
    };
    let account = CalDavAccount {
        principal: ALICE.to_string(),
        login: "alice".to_string(),
        password: Secret::new(cal.password("alice")),
        calendars: Vec::new(),
        discover_shares: false,
    };
    let mut mirror =
        CalAccount::open(&server, &account, Arc::new(Mutex::new(store))).expect("open");
    mirror.sync_all().await?;
    Ok(mirror.traffic().requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_verified_against_the_configured_ca() {
    let cal = CalServer::start_tls();
    assert!(cal.url().starts_with("https://127.0.0.1:"));
    let requests = sync(&cal, &cal.url(), Some(cal.ca_file()))
        .await
        .unwrap_or_else(|e| panic!("TLS with the test CA: {e:?}\n{}", cal.log()));
    assert!(
        requests >= 3,
        "discovery went through ({requests} requests)"
    );

    let untrusted = sync(&cal, &cal.url(), None).await.expect_err("not trusted");
    assert_eq!(untrusted.kind(), ErrorKind::UpstreamUnavailable);

    let other_name = cal.url().replace("127.0.0.1", "localhost");
    let mismatch = sync(&cal, &other_name, Some(cal.ca_file()))
        .await
        .expect_err("the certificate does not name localhost");
    assert_eq!(mismatch.kind(), ErrorKind::UpstreamUnavailable);
}
