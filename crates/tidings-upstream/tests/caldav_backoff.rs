//! The CalDAV mirror's reconnect backoff against a real Xandikos behind a
//! loopback proxy the test switches off and on: after a session that
//! synced, a failure is retried a second later, however long the server
//! was away before.

#[path = "support/caldav_servers.rs"]
mod caldav_servers;

use caldav_servers::{CalServer, Kind};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tidings_store_sqlite::SqliteStore;
use tidings_upstream::caldav::config::Server;
use tidings_upstream::caldav::{CalDavAccount, CalendarOptions, gateway};
use tidings_upstream::config::Secret;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const ALICE: &str = "alice@example.org";
/// No test may take longer than this, whatever the mirror does.
const LIMIT: Duration = Duration::from_secs(60);

/// A proxy to the server: while up it forwards, while down it closes every
/// connection (those open included) and notes when each was attempted.
struct Proxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    refused: Arc<Mutex<Vec<Instant>>>,
}

impl Proxy {
    async fn start(to: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (up, state) = watch::channel(true);
        let refused = Arc::new(Mutex::new(Vec::new()));
        let noted = refused.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*state.borrow() {
                    noted.lock().expect("noted").push(Instant::now());
                    continue;
                }
                let mut state = state.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(to).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = state.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { addr, up, refused }
    }

    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }

    fn refused(&self) -> Vec<Instant> {
        self.refused.lock().expect("refused").clone()
    }
}

#[tokio::test]
async fn a_failure_after_a_synced_session_is_retried_within_seconds() {
    tokio::time::timeout(LIMIT, async {
        let cal = CalServer::start(Kind::Xandikos);
        let proxy = Proxy::start(cal.addr()).await;
        let mut store = SqliteStore::open_in_memory().expect("store");
        store.add_principal("Alice", ALICE).expect("principal");
        let options = CalendarOptions {
            server: Server {
                url: format!("http://{}/", proxy.addr).parse().expect("url"),
                ca_file: None,
            },
            account: CalDavAccount {
                principal: ALICE.to_string(),
                login: "alice".to_string(),
                password: Secret::new(cal.password("alice")),
                calendars: Vec::new(),
                discover_shares: false,
            },
            interval: Duration::from_millis(200),
        };
        let (shutdown, stop) = watch::channel(false);
        let (handle, task) = gateway::spawn(options, Arc::new(Mutex::new(store)), stop);
        handle.sync_now().await.expect("first sync");

        // Away for 4 s: the failures at about 0, 1 and 3 s grow the
        // backoff to 8 s.
        proxy.set(false);
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(proxy.refused().len() >= 2, "{:?}", proxy.refused());
        // Back: the next session syncs.
        proxy.set(true);
        handle
            .sync_now()
            .await
            .expect("sync after the server came back");

        // Away again: the poll fails, and the retry comes a second later,
        // not after the 8 s the earlier failures had grown to.
        proxy.set(false);
        let away = Instant::now();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let attempts: Vec<Duration> = proxy
            .refused()
            .iter()
            .filter(|at| **at > away)
            .map(|at| at.duration_since(away))
            .collect();
        let first = attempts.first().copied().expect("the poll failed");
        assert!(
            attempts
                .iter()
                .any(|at| *at > first + Duration::from_millis(500)),
            "no retry within 3 s: attempts at {attempts:?}"
        );
        shutdown.send(true).expect("stop");
        task.await.expect("stopped");
    })
    .await
    .expect("test exceeded its time limit");
}
