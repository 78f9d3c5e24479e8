//! `serve --upstream config.toml`: the IMAP gateway beside the server. Each
//! configured account is mirrored into the store by its own task
//! ([`tidings_upstream::gateway`]); devices' writes to mirrored folders go
//! upstream first through [`DeviceWrites`], which the server's store pool
//! calls inside each device's batch. The server notices the mirror's commits
//! as it notices an admin command's, and pushes them. With an `[smtp]`
//! section, mirrored principals' mail goes through the gateway's outbox
//! ([`tidings_upstream::sender`]): SMTP, then the upstream's Sent.

use crate::store::{Durability, SqliteStore};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidings::Result;
use tidings::store::Directory;
use tidings_upstream::SharedStore;
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

/// The running gateway: one mirror task per account.
#[derive(Debug)]
pub struct Upstream {
    /// What the server's store pool must be given (`ServerOptions::write_back`).
    pub device_writes: Arc<DeviceWrites>,
    /// Where mirrored principals' mail is queued (`ServerOptions::outbox`),
    /// with an `[smtp]` section.
    pub outbox: Option<Arc<Outbox>>,
    /// Kept so the mirrors keep serving (they stop when these are dropped).
    handles: HashMap<u64, Handle>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Upstream {
    /// Loads `config` and starts mirroring every account into the database
    /// at `db` (whose principals are made if missing). Must run inside the
    /// tokio runtime the server uses.
    pub fn start(config: &Path, db: &Path, store: &mut SqliteStore) -> Result<Upstream> {
        let config = Config::load(config)?;
        // The write-back reads the mirror's tables from the first batch on.
        state::migrate(store.companion_sql())?;
        // A device's send queues into the outbox from the first batch on.
        outbox::migrate(store.companion_sql())?;
        let mut principals = Vec::with_capacity(config.accounts.len());
        for (account, _) in &config.accounts {
            let id = match store.principal_by_email(&account.principal)? {
                Some(p) => p.id,
                None => store.transaction(|s| {
                    crate::admin::add_principal(s, &account.login, &account.principal)
                })?,
            };
            principals.push(id);
        }
        let mirror_store = Arc::new(Mutex::new(SqliteStore::open(db, Durability::Process)?));
        let (stop, shutdown) = watch::channel(false);
        let mut handles = HashMap::new();
        let mut writers = HashMap::new();
        let mut tasks = Vec::new();
        let mut accounts = HashMap::new();
        for ((account, credentials), principal) in config.accounts.into_iter().zip(principals) {
            let options = AccountOptions {
                endpoint: config.imap.clone(),
                credentials: credentials.clone(),
                principal: account.principal.clone(),
                preview_bytes: config.preview_bytes,
                poll: Duration::from_secs(config.poll_seconds),
            };
            let (handle, task) = gateway::spawn(options, mirror_store.clone(), shutdown.clone());
            handles.insert(principal, handle);
            tasks.push(task);
            writers.insert(
                principal,
                Writer::spawn(config.imap.clone(), credentials.clone()),
            );
            accounts.insert(principal, credentials);
            tracing::info!(principal, "mirroring an upstream account");
        }
        let outbox = match &config.smtp {
            Some(smtp) => {
                let (outbox, task) =
                    start_sender(&config.imap, smtp, &accounts, mirror_store, shutdown)?;
                tasks.push(task);
                Some(outbox)
            }
            None => None,
        };
        let runtime = tokio::runtime::Handle::current();
        Ok(Upstream {
            device_writes: Arc::new(DeviceWrites::new(writers, runtime)),
            outbox,
            handles,
            tasks,
            stop,
        })
    }

    /// Stops every mirror (and the sender) (each logs out), waiting a bounded time.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        drop(self.handles);
        for task in self.tasks {
            if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
                tracing::warn!("an upstream mirror did not stop in time");
            }
        }
    }
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
