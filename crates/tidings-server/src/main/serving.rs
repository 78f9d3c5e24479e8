//! `serve` and `demo`: the server on a tokio runtime until a signal, and
//! the ready file scripts and tests wait for.

use crate::Listen;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tidings_server::admin;
use tidings_server::operator::Failure;
use tidings_server::server::access::Backend;
use tidings_server::server::{CANNOT_LISTEN, Server, ServerOptions};
use tidings_server::store::SqliteStore;
use tidings_server::stores::ServerStore;
use tidings_server::upstream::Upstream;

/// `serve --upstream`: the gateway's configuration and the database the
/// mirrors write (the server's own, through connections of their own).
pub(crate) struct Mirror {
    pub(crate) config: PathBuf,
    pub(crate) db: PathBuf,
}

/// A started server and, with `--upstream`, the gateway beside it.
pub(crate) type Started<B> = (Server<B>, Option<Upstream>);

/// Starts the server on SQLite; with a `mirror`, the IMAP gateway first,
/// whose write-back the server's batches then call.
pub(crate) async fn start_sqlite(
    mut store: SqliteStore,
    mirror: Option<Mirror>,
    mut options: ServerOptions,
) -> tidings::Result<Started<tidings_server::store::SqlitePool>> {
    let upstream = match &mirror {
        Some(m) => Some(Upstream::start(&m.config, &m.db, &mut store)?),
        None => None,
    };
    options.outbox = upstream.as_ref().and_then(|u| u.outbox.clone());
    options.write_back = upstream.as_ref().map(|u| {
        let hook: std::sync::Arc<dyn tidings_server::store::WriteBack> = u.device_writes.clone();
        hook
    });
    Ok((Server::start(store, options).await?, upstream))
}

/// Serves with the server `start` starts until SIGINT or SIGTERM.
/// The stack of the server's threads: 256 MiB (tokio's default is 2 MiB,
/// which a 1 MB mail of nested messages overflowed). A margin, not a
/// bound (16 MB of base64-encoded nesting overflowed 128 MiB): the guard
/// refusing those mails before parsing is what keeps the server up.
const PARSING_STACK: usize = 256 << 20;

pub(crate) fn serve<B: Backend, F>(
    listen: Listen,
    ready_file: Option<PathBuf>,
    activations: bool,
    start: impl FnOnce(ServerOptions) -> F,
) -> Result<(), Failure>
where
    F: Future<Output = tidings::Result<Started<B>>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Mail is parsed on these threads, and a mail nesting messages
        // deeply takes the parser a stack frame per level. The core refuses
        // such mail before parsing (`tidings::sync::mail`'s guard); this
        // is the margin should a shape it does not model get through: the
        // reservation is address space, taken only as it is used.
        .thread_stack_size(PARSING_STACK)
        .build()
        .map_err(|_| tidings::Error::new(tidings::ErrorKind::InvalidState, "no async runtime"))?;
    runtime.block_on(async move {
        let options = ServerOptions {
            tcp: Some(listen.tcp),
            http: Some(listen.http),
            web_root: listen.web,
            pkg_root: listen.pkg,
            max_connections: listen.max_connections,
            session: listen.limits.session(),
            limits: listen.limits,
            ..ServerOptions::default()
        };
        let (tcp, http) = (listen.tcp, listen.http);
        let (server, upstream) = start(options)
            .await
            .map_err(|e| listen_failure(e, tcp, http))?;
        // Recorded after binding, so payloads name the real ports.
        let tcp = server.tcp_addr().map(|a| a.to_string()).unwrap_or_default();
        let ws = server.ws_url();
        let (tcp2, ws2) = (tcp.clone(), ws.clone());
        server
            .run_store(move |s| admin::record_addresses(s, &tcp2, ws2.as_deref()))
            .await?;
        if let Some(path) = ready_file {
            write_ready_file(&server, &path, &tcp, activations).await?;
        }
        wait_for_signal().await;
        server.shutdown().await;
        if let Some(upstream) = upstream {
            upstream.stop().await;
        }
        Ok(())
    })
}

/// What the operator is told when the server did not start: which
/// addresses could not be listened on, and what to do.
fn listen_failure(e: tidings::Error, tcp: SocketAddr, http: SocketAddr) -> Failure {
    match &e {
        tidings::Error::Other { reason, .. } if *reason == CANNOT_LISTEN => Failure::new(format!(
            "cannot listen on {tcp} (TCP) and {http} (HTTP): another process may hold \
             them, or they are not this machine's; choose others with --tcp and --http \
             (error {})",
            e.code()
        )),
        _ => e.into(),
    }
}

/// The addresses (and, for the demo, an activation payload per principal)
/// as JSON, for scripts and tests that start the server.
async fn write_ready_file<B: Backend>(
    server: &Server<B>,
    path: &Path,
    tcp: &str,
    with_activations: bool,
) -> tidings::Result<()> {
    let mut activations = serde_json::Map::new();
    if with_activations {
        let payloads = server
            .run_store(|s| {
                let principals = s.principals()?;
                principals
                    .into_iter()
                    .map(|p| Ok((admin::enroll(s, &p.email, 24 * 3_600_000)?, p.email)))
                    .collect::<tidings::Result<Vec<_>>>()
            })
            .await?;
        for (payload, email) in payloads {
            activations.insert(email, payload.to_uri().into());
        }
    }
    let ready = serde_json::json!({
        "tcp": tcp,
        "ws": server.ws_url(),
        "http": server.http_addr().map(|a| format!("http://{a}/")),
        "server_key": hex::encode(server.public_key()),
        "activations": activations,
    });
    // Written whole, then renamed: a reader never sees half a file.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, ready.to_string())
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|_| {
            tidings::Error::new(
                tidings::ErrorKind::InvalidArgument,
                "cannot write the ready file",
            )
        })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
