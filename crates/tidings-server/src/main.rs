//! `tidings-server`: run the reference server, or administer its store.
//!
//! Every command takes `--db PATH` (default `tidings.db`), or `--db
//! postgres://…` for a PostgreSQL database that several server processes
//! may share. Admin commands work while the server runs: the server
//! notices what they wrote and pushes it to connected devices.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tidings::store::Principal;
use tidings::sync::Rights;
use tidings_server::dbfile;
use tidings_server::operator::{Failure, printable};
use tidings_server::server::Server;
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::stores::{PostgresStore, ServerStore};
use tidings_server::{admin, import, seed};
use tidings_store_postgres::PostgresPool;

#[path = "main/serving.rs"]
mod serving;
#[path = "main/triggers.rs"]
mod triggers;
use serving::serve;

#[derive(Parser)]
#[command(version, about = "The Tidings reference server and its admin commands")]
struct Cli {
    /// The database: a SQLite file, or a PostgreSQL connection string
    /// (`postgres://user@host/dbname`, or `host=… dbname=…`).
    #[arg(long, global = true, default_value = "tidings.db")]
    db: String,
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
        /// Mirror mail accounts from an IMAP server, as this TOML file says
        /// (docs/upstream.md).
        #[arg(long)]
        upstream: Option<PathBuf>,
    },
    /// Seed a fresh town hall into a new database, then serve it. An
    /// existing database is replaced only if an earlier demo made it, or
    /// with --replace.
    Demo {
        #[command(flatten)]
        listen: Listen,
        /// Write a JSON file with the addresses and an activation payload
        /// per principal once listening.
        #[arg(long)]
        ready_file: Option<PathBuf>,
        /// Delete the database at --db first even if no demo made it.
        #[arg(long)]
        replace: bool,
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
        /// What the delegate may do: the least by default; `none` removes
        /// the delegation.
        #[arg(long, value_enum, default_value_t = RightsArg::Read)]
        rights: RightsArg,
    },
    /// Remove a delegation of OWNER's calendar (or Inbox, with --mail) to DELEGATE.
    Undelegate {
        owner: String,
        delegate: String,
        /// The Inbox's delegation instead of the calendar's.
        #[arg(long)]
        mail: bool,
    },
    /// Create a one-time activation for a new device of EMAIL; prints the
    /// payload and a QR code.
    Enroll {
        email: String,
        /// Minutes the code stays valid (1 to 10080, a week).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=10_080))]
        valid_minutes: u64,
        /// Print only the payload.
        #[arg(long)]
        no_qr: bool,
        /// The TCP address devices reach the server at, put in the payload
        /// (default: where the last `serve` of this database listened, else
        /// 127.0.0.1:4650). Name it when enrolling before the first `serve`,
        /// or for an address that differs from where it listens (a load
        /// balancer's).
        #[arg(long)]
        tcp: Option<String>,
        /// The WebSocket URL web apps reach the server at (`ws://` or
        /// `wss://`), put in the payload (default: the last `serve`'s,
        /// unless `--tcp` is given: an address from another serve would
        /// not match it, so the payload then names none).
        #[arg(long)]
        ws: Option<String>,
    },
    /// Revoke a device.
    Revoke { device: u64 },
    /// Order a device wiped.
    Wipe { device: u64 },
    /// Set a device's policy (sync.md §5.7): a connected device gets it at
    /// once, from whichever server process it is connected to. Flags not
    /// given take the reference defaults (no passcode, no lock timer,
    /// attachments allowed; the server's keepalive and preview size).
    Policy {
        device: u64,
        /// The app must be locked by a passcode.
        #[arg(long)]
        require_passcode: bool,
        /// The app locks after this much inactivity (0: the device decides).
        #[arg(long, default_value_t = 0)]
        max_inactivity_secs: u32,
        /// The app must not offer attachments.
        #[arg(long)]
        no_attachments: bool,
    },
    /// Import mail (Maildir or mbox) or calendars (.ics) for EMAIL.
    Import {
        #[arg(value_enum)]
        format: ImportFormat,
        email: String,
        path: PathBuf,
        /// Mail folder to import into.
        #[arg(long, default_value = "Inbox")]
        folder: String,
        /// Create the folder if EMAIL has none of this name.
        #[arg(long)]
        create_folder: bool,
    },
    /// Deliver a message (.eml) or events (.ics) to EMAIL now; a running
    /// server pushes it live.
    Deliver { email: String, path: PathBuf },
    /// Forget the removals in EMAIL's mail FOLDER up to now (compaction):
    /// devices behind it get ResyncRequired LOG_COMPACTED.
    Compact { email: String, folder: String },
    /// Start EMAIL's mail FOLDER afresh in a new epoch, empty: devices get
    /// ResyncRequired RECREATED.
    Recreate { email: String, folder: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum RightsArg {
    None,
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
        Ok(code) => code,
        Err(failure) => {
            eprintln!("tidings-server: {failure}");
            ExitCode::FAILURE
        }
    }
}

type Outcome = Result<ExitCode, Failure>;

fn durability(durability: DurabilityArg) -> Durability {
    match durability {
        DurabilityArg::Process => Durability::Process,
        DurabilityArg::PowerLoss => Durability::PowerLoss,
    }
}

/// Where the data lives.
enum Db {
    /// A SQLite file.
    File(PathBuf),
    /// A PostgreSQL connection string (never printed: it may hold a password).
    Postgres(String),
}

impl Db {
    fn parse(db: String) -> Self {
        match tidings_server::stores::is_postgres(&db) {
            true => Db::Postgres(db),
            false => Db::File(db.into()),
        }
    }
}

/// Opens the database, creating it (mode 0600) if missing.
fn open_or_create(db: &Path, durability: Durability) -> Result<SqliteStore, Failure> {
    dbfile::create_private(db)?;
    Ok(SqliteStore::open(db, durability)?)
}

/// Opens a database that must exist: a mistyped --db must not create one.
fn open_existing(db: &Path) -> Result<SqliteStore, Failure> {
    dbfile::require_existing(db)?;
    Ok(SqliteStore::open(db, Durability::Process)?)
}

/// The principal `email` of `db` (named so), or what to do when there is none.
fn principal(store: &impl ServerStore, db: &str, email: &str) -> Result<Principal, Failure> {
    admin::principal(store, email).map_err(|e| match e.kind() {
        tidings::ErrorKind::NotFound => Failure::new(format!(
            "no principal {} in {db} (`list` shows them, `add-principal` adds one)",
            printable(email),
        )),
        _ => e.into(),
    })
}

const DEMO_MARK: &str = "made_by_demo";

/// Clears the way for the demo's fresh database at `db`: only a database an
/// earlier demo made is deleted, unless `replace`.
fn clear_for_demo(db: &Path, replace: bool) -> Result<(), Failure> {
    if !db.exists() {
        return Ok(());
    }
    if !replace {
        let made_by_demo = SqliteStore::open(db, Durability::Process)
            .and_then(|s| s.meta(DEMO_MARK))
            .is_ok_and(|mark| mark.is_some());
        if !made_by_demo {
            return Err(Failure::new(format!(
                "{} exists and no demo made it; the demo starts from a fresh database: \
                 pass another --db, or --replace to delete this one",
                db.display()
            )));
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Failure::new(format!(
                    "cannot delete {}: {e}",
                    file.display()
                )));
            }
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Outcome {
    match (Db::parse(cli.db), cli.command) {
        (
            Db::File(db),
            Command::Serve {
                listen,
                ready_file,
                upstream,
            },
        ) => {
            let store = open_or_create(&db, durability(listen.durability))?;
            dbfile::check_private(&db)?;
            let mirror = upstream.map(|config| serving::Mirror {
                config,
                db: db.clone(),
            });
            serve(listen, ready_file, false, |options| {
                serving::start_sqlite(store, mirror, options)
            })?;
        }
        (
            Db::Postgres(url),
            Command::Serve {
                listen,
                ready_file,
                upstream,
            },
        ) => {
            if upstream.is_some() {
                // The gateway's state tables live in the SQLite store.
                return Err(Failure::new(
                    "--upstream runs on a SQLite database only (--db PATH)",
                ));
            }
            // One connection per store worker, one for the watcher's looks.
            let connections = u32::try_from(listen.limits.store_workers.saturating_add(1));
            let pool = PostgresPool::connect(
                &url,
                connections.unwrap_or(u32::MAX),
                Duration::from_secs(30),
            )?;
            serve(listen, ready_file, false, |options| async move {
                Ok((Server::start_postgres(pool, options).await?, None))
            })?;
        }
        (
            Db::File(db),
            Command::Demo {
                listen,
                ready_file,
                replace,
            },
        ) => {
            clear_for_demo(&db, replace)?;
            let mut store = open_or_create(&db, durability(listen.durability))?;
            dbfile::check_private(&db)?;
            store.set_meta(DEMO_MARK, b"1")?;
            seed::town_hall(&mut store)?;
            serve(listen, ready_file, true, |options| {
                serving::start_sqlite(store, None, options)
            })?;
        }
        (Db::Postgres(_), Command::Demo { .. }) => {
            return Err(Failure::new(
                "the demo seeds a fresh SQLite file: pass --db PATH (or no --db)",
            ));
        }
        (Db::File(db), Command::Compact { email, folder }) => {
            let floor = triggers::compact(&mut open_existing(&db)?, &email, &folder)?;
            println!("{folder} of {email}: log compacted up to modseq {floor}");
        }
        (Db::File(db), Command::Recreate { email, folder }) => {
            let epoch = triggers::recreate(&mut open_existing(&db)?, &email, &folder)?;
            println!("{folder} of {email}: recreated, epoch {epoch}");
        }
        (Db::File(db), command) => {
            // Only adding a principal may create the file: a mistyped --db
            // must not make an empty database for the other commands.
            let mut store = match command {
                Command::AddPrincipal { .. } => open_or_create(&db, Durability::Process)?,
                _ => open_existing(&db)?,
            };
            return administer(&mut store, &db.display().to_string(), command);
        }
        (Db::Postgres(url), Command::Compact { email, folder }) => {
            let mut store = PostgresStore::connect(&url)?;
            let floor = triggers::compact_postgres(&mut store, &email, &folder)?;
            println!("{folder} of {email}: log compacted up to modseq {floor}");
        }
        (Db::Postgres(url), command) => {
            let mut store = PostgresStore::connect(&url)?;
            return administer(&mut store, "the PostgreSQL database", command);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs an admin command on `store`, which messages call `db`.
fn administer(store: &mut impl ServerStore, db: &str, command: Command) -> Outcome {
    match command {
        Command::Serve { .. } | Command::Demo { .. } => {
            unreachable!("serve and demo are not admin commands")
        }
        Command::Compact { .. } | Command::Recreate { .. } => {
            return Err(Failure::new(
                "recreate (a conformance trigger) works on a SQLite database only",
            ));
        }
        Command::AddPrincipal { name, email } => {
            let id = store.transaction(|s| admin::add_principal(s, &name, &email))?;
            println!(
                "principal {id}: {} <{}>",
                printable(&name),
                printable(&email)
            );
        }
        Command::List => list(store)?,
        Command::Delegate {
            owner,
            delegate,
            mail,
            rights,
        } => {
            let rights = match rights {
                RightsArg::None => Rights::NONE,
                RightsArg::Read => Rights::READ,
                RightsArg::ReadWrite => Rights::READ.union(Rights::WRITE),
                RightsArg::Respond => Rights::READ.union(Rights::RESPOND),
                RightsArg::Owner => Rights::OWNER,
            };
            principal(store, db, &owner)?;
            principal(store, db, &delegate)?;
            let collection =
                store.transaction(|s| admin::delegate(s, &owner, &delegate, mail, rights))?;
            match rights == Rights::NONE {
                true => {
                    println!("collection {collection} of {owner} no longer delegated to {delegate}")
                }
                false => println!("collection {collection} of {owner} delegated to {delegate}"),
            }
        }
        Command::Undelegate {
            owner,
            delegate,
            mail,
        } => {
            principal(store, db, &owner)?;
            principal(store, db, &delegate)?;
            let collection =
                store.transaction(|s| admin::undelegate(s, &owner, &delegate, mail))?;
            println!("collection {collection} of {owner} no longer delegated to {delegate}");
        }
        Command::Enroll {
            email,
            valid_minutes,
            no_qr,
            tcp,
            ws,
        } => {
            principal(store, db, &email)?;
            if let Some(ws) = ws.as_deref()
                && !is_websocket_url(ws)
            {
                return Err(Failure::new(format!(
                    "--ws {} is not a ws:// or wss:// URL",
                    printable(ws)
                )));
            }
            if let Some(tcp) = tcp.as_deref()
                && !is_host_port(tcp)
            {
                return Err(Failure::new(format!(
                    "--tcp {} is not host:port (a name or an address, then a port)",
                    printable(tcp)
                )));
            }
            let valid_ms = valid_minutes.saturating_mul(60_000);
            let mut activation = store.transaction(|s| admin::enroll(s, &email, valid_ms))?;
            if tcp.is_some() {
                activation.tcp = tcp;
                activation.ws = None;
            }
            if ws.is_some() {
                activation.ws = ws;
            }
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
        }
        Command::Revoke { device } => {
            store.transaction(|s| admin::revoke(s, device))?;
            println!("device {device} revoked");
        }
        Command::Wipe { device } => {
            let wipe = store.transaction(|s| admin::wipe(s, device))?;
            println!("device {device}: wipe {wipe} ordered");
        }
        Command::Policy {
            device,
            require_passcode,
            max_inactivity_secs,
            no_attachments,
        } => {
            let rules = admin::PolicyRules {
                require_passcode,
                max_inactivity_seconds: max_inactivity_secs,
                allow_attachments: !no_attachments,
            };
            let version = store.transaction(|s| admin::set_policy(s, device, rules))?;
            println!("device {device}: policy version {version}");
        }
        Command::Import {
            format,
            email,
            path,
            folder,
            create_folder,
        } => {
            let owner = principal(store, db, &email)?;
            let report = match format {
                ImportFormat::Ics => {
                    let calendar = admin::calendar(store, owner.id)?;
                    import::ics(store, calendar, &path)?
                }
                ImportFormat::Maildir | ImportFormat::Mbox => {
                    let folder = match create_folder {
                        true => store.transaction(|s| admin::folder(s, owner.id, &folder))?,
                        false => mail_folder(store, &owner, &folder)?,
                    };
                    match format {
                        ImportFormat::Maildir => import::maildir(store, folder, &path)?,
                        _ => import::mbox(store, folder, &path)?,
                    }
                }
            };
            return Ok(print_report(&report));
        }
        Command::Deliver { email, path } => {
            let bytes =
                import::read(&path, import::MAX_IMPORT_MESSAGE_BYTES).map_err(Failure::new)?;
            let owner = principal(store, db, &email)?;
            let is_ics = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ics"));
            if is_ics {
                let calendar = admin::calendar(store, owner.id)?;
                return Ok(print_report(&import::ics(store, calendar, &path)?));
            }
            // Read before the transaction: a costly mail must not hold
            // the write lock the running server's devices wait for.
            let id = admin::read_mail(&bytes)
                .and_then(|mail| {
                    store.transaction(|s| admin::deliver_parsed_mail(s, &email, &bytes, &mail))
                })
                .map_err(|e| match e.kind() {
                    tidings::ErrorKind::InvalidData => Failure::new(format!(
                        "{} is not a mail message, nothing delivered: {e} (error {})",
                        path.display(),
                        e.code()
                    )),
                    _ => e.into(),
                })?;
            println!("delivered message {id} to {email}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `text` is `host:port`: a name or an address (an IPv6 one in
/// brackets), then a port from 1 to 65535.
fn is_websocket_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("ws://")
        .or_else(|| text.strip_prefix("wss://"));
    rest.is_some_and(|rest| {
        let authority = rest.split('/').next().unwrap_or_default();
        !authority.is_empty() && rest.bytes().all(|b| b.is_ascii_graphic())
    })
}

fn is_host_port(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    host_ok && port.parse::<u16>().is_ok_and(|p| p != 0)
}

/// The principal's existing mail folder `name`, or what to do.
fn mail_folder(store: &impl ServerStore, owner: &Principal, name: &str) -> Result<u64, Failure> {
    admin::existing_folder(store, owner.id, name).map_err(|e| match e.kind() {
        tidings::ErrorKind::NotFound => {
            let names = admin::folder_names(store, owner.id).unwrap_or_default();
            Failure::new(format!(
                "{} has no mail folder {} (folders: {}); check --folder, or add \
                 --create-folder to create it",
                owner.email,
                printable(name),
                printable(&names.join(", "))
            ))
        }
        _ => e.into(),
    })
}

/// Prints what an import did, refusal by refusal; the exit status says
/// whether anything was refused.
fn print_report(report: &import::Report) -> ExitCode {
    for note in &report.notes {
        eprintln!("note: {}", printable(note));
    }
    for refusal in &report.refused {
        eprintln!("refused: {}", printable(&refusal.to_string()));
    }
    println!("{}", report.summary());
    if report.refused.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "tidings-server: {} item(s) refused (listed above); everything else was imported",
        report.refused.len()
    );
    ExitCode::FAILURE
}

fn list(store: &impl ServerStore) -> tidings::Result<()> {
    for p in store.principals()? {
        println!(
            "principal {:>4}  {:<28} {}",
            p.id,
            printable(&p.email),
            printable(&p.name)
        );
    }
    for d in store.devices()? {
        // A wiped device is revoked once it confirms (sync.md §5.8).
        let status = match (d.revoked, d.wipe) {
            (true, tidings::store::WipeState::Done(_)) => "wiped",
            (true, _) => "revoked",
            (false, tidings::store::WipeState::Pending(_)) => "wiping",
            (false, _) => "active",
        };
        println!(
            "device    {:>4}  principal {:<4} {:<8} {}",
            d.id,
            d.principal,
            status,
            printable(&d.name)
        );
    }
    Ok(())
}
