//! `serve --upstream config.toml`: the gateway beside the server. Each
//! configured IMAP account (`[imap]`) and CalDAV account (`[caldav]`) is
//! mirrored into the store by its own task ([`tidings_upstream::gateway`],
//! [`tidings_upstream::caldav::gateway`]); devices' writes to mirrored
//! folders and calendars go upstream first through [`DeviceWrites`], which
//! the server's store pool calls inside each device's batch. The server
//! notices the mirrors' commits (items, and collections made, renamed or
//! deleted) as it notices an admin command's, and pushes them.
//! With an `[smtp]` section, mirrored principals' mail goes through the
//! gateway's outbox ([`tidings_upstream::sender`]): SMTP, then the
//! upstream's Sent.

use crate::store::{Durability, SqliteStore};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidings::Result;
use tidings::store::Directory;
use tidings_upstream::SharedStore;
use tidings_upstream::caldav::device_writes::CalendarWriter;
use tidings_upstream::caldav::{self, CalDavConfig, CalendarHandle, CalendarOptions};
use tidings_upstream::config::{Config, Credentials, Endpoint, SmtpConfig};
use tidings_upstream::device_writes::DeviceWrites;
use tidings_upstream::outbox::{self, Outbox};
use tidings_upstream::sender::{self, SenderOptions};
use tidings_upstream::writer::Writer;
use tidings_upstream::{AccountOptions, Handle, gateway, state};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long stopping waits for the mirror tasks to log out.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The running gateway: one mirror task per account and upstream.
#[derive(Debug)]
pub struct Upstream {
    /// What the server's store pool must be given (`ServerOptions::write_back`).
    pub device_writes: Arc<DeviceWrites>,
    /// Where mirrored principals' mail is queued (`ServerOptions::outbox`),
    /// with an `[smtp]` section.
    pub outbox: Option<Arc<Outbox>>,
    /// Kept so the mirrors keep serving (they stop when these are dropped).
    handles: HashMap<u64, Handle>,
    calendars: HashMap<u64, CalendarHandle>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Upstream {
    /// Loads `config` and starts mirroring every account into the database
    /// at `db` (whose principals are made if missing). Must run inside the
    /// tokio runtime the server uses.
    pub fn start(config: &Path, db: &Path, store: &mut SqliteStore) -> Result<Upstream> {
        let config = Config::load(config)?;
        // The write-back reads the mirrors' tables from the first batch on.
        state::migrate(store.companion_sql())?;
        caldav::state::migrate(store.companion_sql())?;
        // A device's send queues into the outbox from the first batch on.
        outbox::migrate(store.companion_sql())?;
        let mut principals = Vec::with_capacity(config.accounts.len());
        for (account, _) in &config.accounts {
            let name = account.name.as_deref().unwrap_or(&account.login);
            principals.push(principal(store, name, &account.principal)?);
        }
        let mirror_store = Arc::new(Mutex::new(SqliteStore::open(db, Durability::Process)?));
        let (stop, shutdown) = watch::channel(false);
        let mut handles = HashMap::new();
        let mut writers = HashMap::new();
        let mut tasks = Vec::new();
        let imap = config.imap.as_ref();
        let mut accounts = HashMap::new();
        let mut by_address = HashMap::new();
        for ((account, credentials), principal) in config.accounts.into_iter().zip(principals) {
            // `Config` refuses mail accounts without `[imap]`.
            let Some(endpoint) = imap else { break };
            let options = AccountOptions {
                endpoint: endpoint.clone(),
                credentials: credentials.clone(),
                principal: account.principal.clone(),
                preview_bytes: config.preview_bytes,
                poll: Duration::from_secs(config.poll_seconds),
                dovecot_push: config.dovecot_push.is_some(),
            };
            let (handle, task) = gateway::spawn(options, mirror_store.clone(), shutdown.clone());
            by_address.insert(account.principal.clone(), handle.clone());
            handles.insert(principal, handle);
            tasks.push(task);
            writers.insert(
                principal,
                Writer::spawn(endpoint.clone(), credentials.clone()),
            );
            accounts.insert(principal, credentials);
            tracing::info!(principal, "mirroring an upstream mail account");
        }
        if let Some(addr) = config.dovecot_push {
            tasks.push(start_dovecot_push(addr, by_address, shutdown.clone())?);
        }
        let mut calendars = HashMap::new();
        let mut calendar_writers = HashMap::new();
        if let Some(caldav) = &config.caldav {
            for (principal, handle, writer, task) in
                start_calendars(caldav, store, &mirror_store, &shutdown)?
            {
                calendars.insert(principal, handle);
                calendar_writers.insert(principal, writer);
                tasks.push(task);
            }
        }
        // The sender APPENDs to Sent over IMAP: without `[imap]` there is
        // no outbox, and sends stay local.
        let outbox = match (&config.smtp, imap) {
            (Some(smtp), Some(imap)) => {
                let (outbox, task) = start_sender(
                    imap,
                    smtp,
                    &accounts,
                    mirror_store.clone(),
                    shutdown.clone(),
                )?;
                tasks.push(task);
                Some(outbox)
            }
            _ => None,
        };
        let runtime = tokio::runtime::Handle::current();
        let device_writes = DeviceWrites::new(writers, runtime)
            .with_calendars(calendar_writers)
            .with_outbox(outbox.clone());
        Ok(Upstream {
            device_writes: Arc::new(device_writes),
            outbox,
            handles,
            calendars,
            tasks,
            stop,
        })
    }

    /// Stops every mirror (and the sender) (each logs out), waiting a bounded time.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        drop(self.handles);
        drop(self.calendars);
        for task in self.tasks {
            if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
                tracing::warn!("an upstream mirror did not stop in time");
            }
        }
    }
}

/// The principal with address `email`, made (called `name`, with the usual
/// collections) if the database has none.
fn principal(store: &mut SqliteStore, name: &str, email: &str) -> Result<u64> {
    match store.principal_by_email(email)? {
        Some(p) => Ok(p.id),
        None => store.transaction(|s| crate::admin::add_principal(s, name, email)),
    }
}

/// One started calendar account: its principal, the mirror's handle, the
/// client devices' writes go through, and the mirror's task.
type StartedCalendars = (u64, CalendarHandle, CalendarWriter, JoinHandle<()>);

/// Starts one calendar mirror per `[[caldav.account]]`.
fn start_calendars(
    caldav: &CalDavConfig,
    store: &mut SqliteStore,
    mirror_store: &tidings_upstream::SharedStore,
    shutdown: &watch::Receiver<bool>,
) -> Result<Vec<StartedCalendars>> {
    let mut started = Vec::with_capacity(caldav.accounts.len());
    for account in &caldav.accounts {
        let principal = principal(store, &account.login, &account.principal)?;
        let writer = CalendarWriter::new(&caldav.server, account)?;
        let options = CalendarOptions {
            server: caldav.server.clone(),
            account: account.clone(),
            interval: caldav.interval,
        };
        let (handle, task) =
            caldav::gateway::spawn(options, mirror_store.clone(), shutdown.clone());
        tracing::info!(principal, "mirroring an upstream calendar account");
        started.push((principal, handle, writer, task));
    }
    Ok(started)
}

/// The outbox of every configured account and its sender task.
fn start_sender(
    imap: &Endpoint,
    smtp: &SmtpConfig,
    accounts: &HashMap<u64, Credentials>,
    store: SharedStore,
    shutdown: watch::Receiver<bool>,
) -> Result<(Arc<Outbox>, JoinHandle<()>)> {
    let outbox = Arc::new(Outbox::new(
        accounts.keys().copied().collect(),
        smtp.outbox_limit,
    ));
    let options = SenderOptions {
        imap: imap.clone(),
        smtp: smtp.clone(),
        accounts: accounts.clone(),
    };
    let task = sender::spawn(options, store, outbox.clone(), shutdown)?;
    Ok((outbox, task))
}

/// Listens at `addr` for Dovecot's push-notification requests about the
/// mirrored accounts (`tidings_upstream::dovecot_push`).
fn start_dovecot_push(
    addr: std::net::SocketAddr,
    accounts: HashMap<String, Handle>,
    shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<()>> {
    let listener = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .and_then(tokio::net::TcpListener::from_std)
        .map_err(|_| {
            tidings::Error::new(
                tidings::ErrorKind::UpstreamConfig,
                "cannot listen at dovecot_push",
            )
        })?;
    tracing::info!(%addr, "listening for Dovecot's push notifications");
    Ok(tokio::spawn(tidings_upstream::dovecot_push::serve(
        listener,
        Arc::new(accounts),
        shutdown,
    )))
}
