//! `tidings-server`: run the reference server, or administer its store.
//!
//! Every command takes `--db PATH` (default `tidings.db`). Admin commands
//! work while the server runs: the server notices what they wrote and
//! pushes it to connected devices.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tidings::sync::Rights;
use tidings_server::server::{Server, ServerOptions};
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::{admin, import, seed};

#[derive(Parser)]
#[command(version, about = "The Tidings reference server and its admin commands")]
struct Cli {
    /// The database file.
    #[arg(long, global = true, default_value = "tidings.db")]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Listen {
    /// TCP address for devices.
    #[arg(long, default_value = "127.0.0.1:4650")]
    tcp: SocketAddr,
    /// HTTP address: WebSocket devices at /tidings, web files at /.
    #[arg(long, alias = "ws", default_value = "127.0.0.1:4651")]
    http: SocketAddr,
    /// Directory of a web app to serve at /.
    #[arg(long)]
    web: Option<PathBuf>,
    /// Directory of the npm package to serve at /pkg/.
    #[arg(long)]
    pkg: Option<PathBuf>,
    /// Most connections served at once.
    #[arg(long, default_value_t = 20_000)]
    max_connections: usize,
    #[command(flatten)]
    limits: tidings_server::server::Limits,
    /// Whether commits survive a crash of the process only, or a power cut.
    #[arg(long, value_enum, default_value_t = DurabilityArg::Process)]
    durability: DurabilityArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum DurabilityArg {
    Process,
    PowerLoss,
}

#[derive(Subcommand)]
enum Command {
    /// Serve devices until SIGINT or SIGTERM.
    Serve {
        #[command(flatten)]
        listen: Listen,
        /// Write a JSON file with the addresses once listening.
        #[arg(long)]
        ready_file: Option<PathBuf>,
    },
    /// Seed a fresh town hall into a new database, then serve it.
    Demo {
        #[command(flatten)]
        listen: Listen,
        /// Write a JSON file with the addresses and an activation payload
        /// per principal once listening.
        #[arg(long)]
        ready_file: Option<PathBuf>,
    },
    /// Add a principal (with an Inbox, a Sent folder and a Calendar).
    AddPrincipal { name: String, email: String },
    /// List principals and devices.
    List,
    /// Delegate OWNER's calendar (or Inbox, with --mail) to DELEGATE.
    Delegate {
        owner: String,
        delegate: String,
        /// Delegate the Inbox instead of the calendar.
        #[arg(long)]
        mail: bool,
        #[arg(long, value_enum, default_value_t = RightsArg::Owner)]
        rights: RightsArg,
    },
    /// Create a one-time activation for a new device of EMAIL; prints the
    /// payload and a QR code.
    Enroll {
        email: String,
        /// Minutes the code stays valid.
        #[arg(long, default_value_t = 60)]
        valid_minutes: u64,
        /// Print only the payload.
        #[arg(long)]
        no_qr: bool,
    },
    /// Revoke a device.
    Revoke { device: u64 },
    /// Order a device wiped.
    Wipe { device: u64 },
    /// Import mail (Maildir or mbox) or calendars (.ics) for EMAIL.
    Import {
        #[arg(value_enum)]
        format: ImportFormat,
        email: String,
        path: PathBuf,
        /// Mail folder to import into.
        #[arg(long, default_value = "Inbox")]
        folder: String,
    },
    /// Deliver a message (.eml) or events (.ics) to EMAIL now; a running
    /// server pushes it live.
    Deliver { email: String, path: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum RightsArg {
    Read,
    ReadWrite,
    Respond,
    Owner,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportFormat {
    Maildir,
    Mbox,
    Ics,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve { .. } | Command::Demo { .. });
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| (if serving { "info" } else { "warn" }).into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidings-server: {e} (error {})", e.code());
            ExitCode::FAILURE
        }
    }
}

fn open(db: &Path, durability: DurabilityArg) -> tidings::Result<SqliteStore> {
    let durability = match durability {
        DurabilityArg::Process => Durability::Process,
        DurabilityArg::PowerLoss => Durability::PowerLoss,
    };
    SqliteStore::open(db, durability)
}

fn read_file(path: &Path) -> tidings::Result<Vec<u8>> {
    std::fs::read(path).map_err(|_| {
        tidings::Error::new(tidings::ErrorKind::InvalidArgument, "cannot read the file")
    })
}

fn run(cli: Cli) -> tidings::Result<()> {
    let db = cli.db;
    match cli.command {
        Command::Serve { listen, ready_file } => {
            serve(open(&db, listen.durability)?, listen, ready_file, false)
        }
        Command::Demo { listen, ready_file } => {
            // A fresh town hall each time: the demo must show the same story.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            let mut store = open(&db, listen.durability)?;
            seed::town_hall(&mut store)?;
            serve(store, listen, ready_file, true)
        }
        Command::AddPrincipal { name, email } => {
            let mut store = open(&db, DurabilityArg::Process)?;
            let id = store.transaction(|s| admin::add_principal(s, &name, &email))?;
            println!("principal {id}: {name} <{email}>");
            Ok(())
        }
        Command::List => list(&open(&db, DurabilityArg::Process)?),
        Command::Delegate {
            owner,
            delegate,
            mail,
            rights,
        } => {
            let rights = match rights {
                RightsArg::Read => Rights::READ,
                RightsArg::ReadWrite => Rights::READ.union(Rights::WRITE),
                RightsArg::Respond => Rights::READ.union(Rights::RESPOND),
                RightsArg::Owner => Rights::OWNER,
            };
            let mut store = open(&db, DurabilityArg::Process)?;
            let collection =
                store.transaction(|s| admin::delegate(s, &owner, &delegate, mail, rights))?;
            println!("collection {collection} of {owner} delegated to {delegate}");
            Ok(())
        }
        Command::Enroll {
            email,
            valid_minutes,
            no_qr,
        } => {
            let mut store = open(&db, DurabilityArg::Process)?;
            let valid_ms = valid_minutes.saturating_mul(60_000);
            let activation = store.transaction(|s| admin::enroll(s, &email, valid_ms))?;
            if !no_qr {
                println!("{}", tidings_server::activation::qr_code(&activation)?);
                println!("server   {}", activation.tcp.as_deref().unwrap_or("-"));
                println!("key      {}", hex::encode(activation.server_key));
                println!(
                    "code     {}  (one use, {valid_minutes} minutes)",
                    activation.code.display()
                );
            }
            println!("{}", activation.to_uri());
            Ok(())
        }
        Command::Revoke { device } => {
            open(&db, DurabilityArg::Process)?.transaction(|s| admin::revoke(s, device))?;
            println!("device {device} revoked");
            Ok(())
        }
        Command::Wipe { device } => {
            let wipe =
                open(&db, DurabilityArg::Process)?.transaction(|s| admin::wipe(s, device))?;
            println!("device {device}: wipe {wipe} ordered");
            Ok(())
        }
        Command::Import {
            format,
            email,
            path,
            folder,
        } => {
            let mut store = open(&db, DurabilityArg::Process)?;
            let imported = store.transaction(|s| {
                let principal = admin::principal(s, &email)?;
                match format {
                    ImportFormat::Maildir => {
                        let folder = admin::folder(s, principal.id, &folder)?;
                        import::maildir(s, folder, &path)
                    }
                    ImportFormat::Mbox => {
                        let folder = admin::folder(s, principal.id, &folder)?;
                        import::mbox(s, folder, &path)
                    }
                    ImportFormat::Ics => {
                        let calendar = admin::calendar(s, principal.id)?;
                        import::ics(s, calendar, &path)
                    }
                }
            })?;
            println!(
                "imported {} item(s), skipped {}",
                imported.stored, imported.skipped
            );
            Ok(())
        }
        Command::Deliver { email, path } => {
            let bytes = read_file(&path)?;
            let mut store = open(&db, DurabilityArg::Process)?;
            let is_ics = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ics"));
            let ids = store.transaction(|s| {
                if is_ics {
                    admin::deliver_events(s, &email, &String::from_utf8_lossy(&bytes))
                } else {
                    admin::deliver_mail(s, &email, &bytes).map(|id| vec![id])
                }
            })?;
            println!("delivered {} item(s) to {email}", ids.len());
            Ok(())
        }
    }
}

fn list(store: &SqliteStore) -> tidings::Result<()> {
    for p in store.principals()? {
        println!("principal {:>4}  {:<28} {}", p.id, p.email, p.name);
    }
    for d in store.devices()? {
        let status = if d.revoked { "revoked" } else { "active" };
        println!(
            "device    {:>4}  principal {:<4} {:<8} {}",
            d.id, d.principal, status, d.name
        );
    }
    Ok(())
}

fn serve(
    store: SqliteStore,
    listen: Listen,
    ready_file: Option<PathBuf>,
    activations: bool,
) -> tidings::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|_| tidings::Error::new(tidings::ErrorKind::InvalidState, "no async runtime"))?;
    runtime.block_on(async move {
        let options = ServerOptions {
            tcp: Some(listen.tcp),
            http: Some(listen.http),
            web_root: listen.web,
            pkg_root: listen.pkg,
            max_connections: listen.max_connections,
            limits: listen.limits,
            ..ServerOptions::default()
        };
        let server = Server::start(store, options).await?;
        // Recorded after binding, so payloads name the real ports.
        let tcp = server.tcp_addr().map(|a| a.to_string()).unwrap_or_default();
        let ws = server.ws_url();
        server.with_store(|s| admin::record_addresses(s, &tcp, ws.as_deref()))?;
        if let Some(path) = ready_file {
            write_ready_file(&server, &path, &tcp, activations)?;
        }
        wait_for_signal().await;
        server.shutdown().await;
        Ok(())
    })
}

/// The addresses (and, for the demo, an activation payload per principal)
/// as JSON, for scripts and tests that start the server.
fn write_ready_file(
    server: &Server,
    path: &Path,
    tcp: &str,
    with_activations: bool,
) -> tidings::Result<()> {
    let mut activations = serde_json::Map::new();
    let principals = if with_activations {
        server.with_store(|s| s.principals())?
    } else {
        Vec::new()
    };
    for p in principals {
        let payload = server.with_store(|s| admin::enroll(s, &p.email, 24 * 3_600_000))?;
        activations.insert(p.email, payload.to_uri().into());
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
