//! The network server: TCP and WebSocket listeners, one session per
//! connection, live push through the [`hub`], graceful shutdown.
//!
//! ```no_run
//! # async fn run() -> tidings::Result<()> {
//! use tidings_server::server::{Server, ServerOptions};
//! use tidings_server::store::{Durability, SqliteStore};
//!
//! let store = SqliteStore::open("town.db".as_ref(), Durability::Process)?;
//! let server = Server::start(store, ServerOptions::default()).await?;
//! println!("listening on {:?}", server.tcp_addr());
//! tokio::signal::ctrl_c().await.ok();
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod access;
mod compaction;
mod connection;
mod cursors;
mod gate;
mod handshake;
mod housekeeping;
mod http;
pub mod hub;
pub mod limits;
mod presence;
mod replays;
mod shutdown;
pub mod stats;
mod visibility;
mod wire;

use crate::store::{SqlitePool, SqliteStore, WriteBack};
use crate::stores::ServerStore;
use access::{Access, Backend};
use gate::Gate;
use hub::Hub;
pub use limits::Limits;
use shutdown::{OrderOnDrop, Shutdown, stopped};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tidings::crypto::{DEFAULT_DH_CACHE_CAPACITY, StaticKeypair};
use tidings::proto::Feature;
use tidings::session::{ServerConfig, SharedDhCache, Timers};
use tidings::sync::PageLimits;
use tidings::{Error, ErrorKind, Result};
use tidings_store_postgres::PostgresPool;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use wire::Wire;
use zeroize::Zeroizing;

/// How the server listens and behaves.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// TCP address for devices; `None` serves no TCP.
    pub tcp: Option<SocketAddr>,
    /// HTTP address for WebSocket devices (path `/tidings`) and static web
    /// files; `None` serves no HTTP.
    pub http: Option<SocketAddr>,
    /// Directory served at `/` over HTTP (a web app), if any.
    pub web_root: Option<PathBuf>,
    /// Directory served at `/pkg/` over HTTP (the npm package), if any.
    pub pkg_root: Option<PathBuf>,
    /// Most connections served at once, TCP, HTTP and WebSocket together;
    /// further ones wait to be accepted.
    pub max_connections: usize,
    /// Limits on strangers, per source and per device (see [`Limits`]).
    pub limits: Limits,
    /// The core's session settings.
    pub session: ServerConfig,
    /// How late a change written by another process (an admin command) may
    /// be noticed.
    pub poll_interval: Duration,
    /// How long shutdown waits for connections to close.
    pub shutdown_grace: Duration,
    /// How often idle uploads are discarded (also once at start).
    pub housekeeping_interval: Duration,
    /// Where devices' writes to mirrored collections go first (the IMAP
    /// gateway's, with `serve --upstream`); `None`: the store is the truth.
    pub write_back: Option<Arc<dyn WriteBack>>,
    /// Where a mirrored principal's outgoing mail is queued for SMTP (the
    /// IMAP gateway's, with `serve --upstream` and an `[smtp]` section);
    /// `None`: mail is delivered locally.
    pub outbox: Option<Arc<tidings_upstream::outbox::Outbox>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            tcp: Some(SocketAddr::from(([127, 0, 0, 1], 4650))),
            http: Some(SocketAddr::from(([127, 0, 0, 1], 4651))),
            web_root: None,
            pkg_root: None,
            max_connections: 20_000,
            limits: Limits::default(),
            session: ServerConfig::default(),
            poll_interval: Duration::from_millis(5),
            shutdown_grace: Duration::from_secs(5),
            housekeeping_interval: housekeeping::EVERY,
            write_back: None,
            outbox: None,
        }
    }
}

/// What every connection shares.
pub(crate) struct Shared<B> {
    pub(crate) access: Arc<Access<B>>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) limits: Limits,
    pub(crate) keys: Arc<StaticKeypair>,
    /// Static-static DH of devices that reconnect, shared by connections.
    pub(crate) dh_cache: SharedDhCache,
    pub(crate) config: ServerConfig,
    pub(crate) hub: Arc<Hub>,
    pub(crate) shutdown: Arc<Shutdown>,
    pub(crate) connections: Arc<Semaphore>,
    pub(crate) outbox: Option<Arc<tidings_upstream::outbox::Outbox>>,
    /// Cursors acknowledged without a store job, waiting to be written.
    pub(crate) cursors: Arc<cursors::Cursors>,
    /// Each authenticated device's budget and sessions.
    pub(crate) presences: Arc<presence::Presences>,
}

/// A running server, over SQLite by default or over PostgreSQL
/// ([`Server::start_postgres`]).
pub struct Server<B = SqlitePool> {
    tcp_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
    public_key: [u8; 32],
    stop: OrderOnDrop,
    tasks: JoinSet<()>,
    shared: Arc<Shared<B>>,
    grace: Duration,
    max_connections: usize,
}

const SERVER_KEY: &str = "server_secret";

/// How long starting waits for live push to read its starting point.
const WATCHER_START: Duration = Duration::from_secs(30);

/// The server's static key, made on first use and kept in the store. Every
/// copy of the secret this function makes (the row read, the array) is
/// wiped when dropped; the keypair wipes its own.
pub fn server_keys(store: &mut impl ServerStore) -> Result<StaticKeypair> {
    let secret: Zeroizing<[u8; 32]> = match store.meta(SERVER_KEY)?.map(Zeroizing::new) {
        Some(bytes) => Zeroizing::new(
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| Error::new(ErrorKind::Storage, "stored server key is malformed"))?,
        ),
        None => {
            let secret = Zeroizing::new(crate::clock::random::<32>());
            store.set_meta(SERVER_KEY, secret.as_slice())?;
            secret
        }
    };
    Ok(StaticKeypair::from_secret_bytes(*secret))
}

/// Why [`Server::start`] failed when it could not listen on an address
/// it was given (the system's error is logged with it).
pub const CANNOT_LISTEN: &str = "cannot listen on the address";

fn io_error(e: std::io::Error) -> Error {
    tracing::error!(error = %e, "cannot listen");
    Error::new(ErrorKind::InvalidState, CANNOT_LISTEN)
}

impl Server {
    /// Binds the listeners and starts serving.
    pub async fn start(store: SqliteStore, options: ServerOptions) -> Result<Self> {
        let mut pool = SqlitePool::new(store);
        if let Some(write_back) = &options.write_back {
            pool = pool.with_write_back(write_back.clone());
        }
        Self::start_on(pool, options).await
    }
}

impl Server {
    /// Runs `f` in one transaction on the store's writer, as the server
    /// does, and has live push notice whatever it changed. Blocks the
    /// calling thread while the writer is busy.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut SqliteStore) -> Result<T>) -> Result<T> {
        let result = self.shared.access.pool().write(f);
        self.shared.hub.poke();
        result
    }
}

impl Server<PostgresPool> {
    /// Binds the listeners and starts serving from the PostgreSQL database
    /// `pool` connects to. Any number of servers may serve one database:
    /// each pushes every change, whichever process made it, to its own
    /// devices.
    pub async fn start_postgres(pool: PostgresPool, options: ServerOptions) -> Result<Self> {
        Self::start_on(pool, options).await
    }
}

impl<B: Backend> Server<B> {
    /// Binds the listeners and starts serving from `pool`.
    async fn start_on(pool: B, options: ServerOptions) -> Result<Self> {
        let access = Arc::new(Access::new(pool, options.limits.store_workers));
        let keys = access.run(|pool| pool.write(server_keys)).await;
        let keys = Arc::new(keys.ok_or_else(|| {
            Error::new(ErrorKind::InvalidState, "reading the server key failed")
        })??);
        let public_key = keys.public_key();
        let shutdown = Arc::new(Shutdown::default());
        #[allow(clippy::cast_precision_loss)]
        let sending = options.limits.send_mib_per_hour.saturating_mul(1 << 20) as f64;
        let presences = Arc::new(presence::Presences::new(sending));
        let stop = OrderOnDrop {
            shutdown: shutdown.clone(),
            presences: presences.clone(),
        };
        let shared = Arc::new(Shared {
            access,
            gate: Arc::new(Gate::new(options.limits.clone())),
            limits: options.limits.clone(),
            keys,
            dh_cache: SharedDhCache::new(DEFAULT_DH_CACHE_CAPACITY),
            config: options.session.clone(),
            hub: Arc::new(Hub::new()),
            shutdown,
            connections: Arc::new(Semaphore::new(options.max_connections)),
            outbox: options.outbox.clone(),
            cursors: Arc::default(),
            presences,
        });
        let mut tasks = JoinSet::new();
        let (ready, watching) = tokio::sync::oneshot::channel();
        // Pages prepared once carry patches when this server sends them:
        // a device that does not apply them computes its own.
        let prepared_limits = PageLimits {
            patches: options.session.features & Feature::ItemPatches as u32 != 0,
            ..options.session.page_limits
        };
        tasks.spawn(hub::watch(
            shared.hub.clone(),
            shared.access.clone(),
            prepared_limits,
            options.poll_interval,
            ready,
            stopped(shared.shutdown.clone()),
        ));
        // Devices only once live push knows where it starts (a watcher that
        // fails has said so and dropped `ready`; a bounded wait either way).
        let _ = tokio::time::timeout(WATCHER_START, watching).await;
        tasks.spawn(cursors::write(
            shared.cursors.clone(),
            shared.access.clone(),
            stopped(shared.shutdown.clone()),
        ));
        tasks.spawn(housekeeping::run(
            shared.access.clone(),
            options.housekeeping_interval,
            stopped(shared.shutdown.clone()),
        ));
        let mut tcp_addr = None;
        if let Some(addr) = options.tcp {
            let listener = TcpListener::bind(addr).await.map_err(io_error)?;
            tcp_addr = Some(listener.local_addr().map_err(io_error)?);
            tasks.spawn(accept_tcp(shared.clone(), listener));
        }
        let mut http_addr = None;
        if let Some(addr) = options.http {
            let listener = TcpListener::bind(addr).await.map_err(io_error)?;
            http_addr = Some(listener.local_addr().map_err(io_error)?);
            let app = http::router(shared.clone(), &options);
            tasks.spawn(http::accept(shared.clone(), listener, app));
        }
        tracing::info!(?tcp_addr, ?http_addr, key = %hex::encode(public_key), "serving");
        Ok(Self {
            tcp_addr,
            http_addr,
            public_key,
            stop,
            tasks,
            shared,
            grace: options.shutdown_grace,
            max_connections: options.max_connections,
        })
    }

    /// The TCP address devices connect to.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// The HTTP address (WebSocket at `/tidings`, web files at `/`).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The WebSocket URL web apps connect to.
    pub fn ws_url(&self) -> Option<String> {
        self.http_addr.map(|a| format!("ws://{a}/tidings"))
    }

    /// The server's static public key, which devices pin.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// Runs `f` in one transaction on a store worker, as the server does
    /// (off the async threads), and has live push notice whatever it
    /// changed.
    pub async fn run_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut B::Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let result = self.shared.access.run(move |pool| pool.write(f)).await;
        self.shared.hub.poke();
        result.ok_or_else(|| Error::new(ErrorKind::InvalidState, "a store job failed"))?
    }

    /// Stops accepting, closes every session cleanly (devices are told and
    /// resume later), and waits for connections to finish, at most the grace
    /// period. Every operation acknowledged is already committed; the last
    /// acknowledged cursors are written before this returns.
    pub async fn shutdown(mut self) {
        self.stop.order();
        let all = u32::try_from(self.max_connections).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(self.grace, self.shared.connections.acquire_many(all));
        if drained.await.is_err() {
            tracing::warn!("connections still open after the grace period");
        }
        while self.tasks.join_next().await.is_some() {}
        self.shared.cursors.flush(&self.shared.access).await;
        tracing::info!("stopped");
    }
}

/// Waits for a free connection slot (shared by TCP, HTTP and WebSocket);
/// `None` once shutdown is ordered.
pub(crate) async fn slot<B>(shared: &Shared<B>) -> Option<OwnedSemaphorePermit> {
    tokio::select! {
        () = shared.shutdown.ordered() => None,
        permit = shared.connections.clone().acquire_owned() => permit.ok(),
    }
}

/// Socket options for every accepted connection: no Nagle delay (pushes
/// are small and latency matters more than batching), and bytes left
/// unacknowledged too long end the connection: a device that only listens
/// to keepalives (sync.md §5.4) is found gone this way. `false` when the
/// timeout could not be set: the connection is then refused, since its
/// device may be told keepalives go one way.
fn tune_socket(stream: &tokio::net::TcpStream, timers: &Timers) -> bool {
    let _ = stream.set_nodelay(true);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let socket = socket2::SockRef::from(stream);
        if let Err(e) = socket.set_tcp_user_timeout(Some(unacknowledged_timeout(timers))) {
            tracing::warn!(error = %e, "cannot set TCP_USER_TIMEOUT; connection refused");
            return false;
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = timers;
    true
}

/// How long a connection's sent bytes may stay unacknowledged
/// (`TCP_USER_TIMEOUT`): the idle timeout less the keepalive interval. A
/// device that vanishes is sent a keepalive within one interval, so it is
/// found gone within one idle timeout, as a device that sends keepalives
/// itself is.
fn unacknowledged_timeout(timers: &Timers) -> Duration {
    let ms = timers.idle_timeout_ms.saturating_sub(timers.keepalive_ms);
    Duration::from_millis(ms.max(1000))
}

async fn accept_tcp<B: Backend>(shared: Arc<Shared<B>>, listener: TcpListener) {
    let mut shutdown = std::pin::pin!(shared.shutdown.ordered());
    loop {
        let Some(permit) = slot(&shared).await else {
            return;
        };
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let admission = match shared
                    .gate
                    .admit(peer.ip(), socket2::SockRef::from(&stream))
                {
                    Ok(admission) => admission,
                    Err(why) => {
                        tracing::debug!(%peer, ?why, "connection refused");
                        continue;
                    }
                };
                if !tune_socket(&stream, &shared.config.timers) {
                    continue;
                }
                let shared = shared.clone();
                tokio::spawn(connection::serve(
                    shared,
                    Wire::Tcp(stream),
                    admission,
                    permit,
                ));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off, go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_sockets_bound_unacknowledged_bytes_by_the_idle_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        let timers = Timers {
            keepalive_ms: 30_000,
            idle_timeout_ms: 100_000,
        };
        assert!(tune_socket(&accepted, &timers));
        let socket = socket2::SockRef::from(&accepted);
        // A keepalive within 30 s, unacknowledged for 70 s: gone within 100.
        assert_eq!(
            socket.tcp_user_timeout().expect("read back"),
            Some(Duration::from_secs(70))
        );
        assert!(accepted.nodelay().expect("nodelay"));
    }
}
