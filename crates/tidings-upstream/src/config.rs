//! The gateway's configuration: a TOML file naming the upstream endpoints and
//! the accounts, and a separate secrets file (mode 0600) with the passwords.
//!
//! ```toml
//! secrets = "/etc/tidings/upstream-secrets.toml"
//!
//! [imap]                    # optional when [caldav] is given
//! host = "mail.example.org"
//! port = 993
//! security = "tls"          # "tls", "starttls", or "plain" (loopback only)
//! # ca_file = "/etc/tidings/upstream-ca.pem"   # else the system's roots
//!
//! [master]                  # optional: one login for every account
//! user = "tidings"          # Dovecot logs in as "<login>*<user>"
//!
//! [[account]]
//! principal = "mayor@example.org"   # the Tidings principal (by address)
//! login = "mayor"                   # the upstream login
//! ```
//!
//! The secrets file holds `master = "…"` and/or `[passwords] <login> = "…"`.
//! Secrets are [`Secret`]s: their `Debug` never prints them.

use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use tidings::{Error, ErrorKind, Result};

fn config_error(why: &'static str) -> Error {
    Error::new(ErrorKind::UpstreamConfig, why)
}

/// How the connection to an upstream server is protected.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (IMAPS, port 993), certificate verified.
    Tls,
    /// Plain TCP upgraded with STARTTLS before login, certificate verified.
    Starttls,
    /// No encryption: allowed only when the host is a loopback address.
    Plain,
}

/// One upstream server.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Host name (verified against the certificate) or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS, STARTTLS, or plain TCP on loopback.
    pub security: Security,
    /// PEM file of the CA certificates to trust instead of the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl Endpoint {
    /// Whether `host` is a loopback address (or `localhost`).
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    fn check(&self) -> Result<()> {
        if self.security == Security::Plain && !self.is_loopback() {
            return Err(config_error(
                "plain TCP to an upstream is allowed only on loopback",
            ));
        }
        Ok(())
    }
}

/// A master (proxy) user that may log in as any account.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MasterUser {
    /// The master user's name.
    pub user: String,
    /// Between the account's login and the master user's name: Dovecot's
    /// `auth_master_user_separator`.
    #[serde(default = "default_separator")]
    pub separator: String,
}

fn default_separator() -> String {
    "*".to_string()
}

/// One mirrored account.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The Tidings principal's address.
    pub principal: String,
    /// The login on the upstream server.
    pub login: String,
    /// The principal's display name, when the server creates the principal
    /// (mail it sends shows it); the login when absent.
    #[serde(default)]
    pub name: Option<String>,
}

/// The configuration file, as written.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct File {
    secrets: PathBuf,
    #[serde(default)]
    imap: Option<Endpoint>,
    #[serde(default)]
    master: Option<MasterUser>,
    #[serde(default, rename = "account")]
    accounts: Vec<Account>,
    #[serde(default)]
    preview_bytes: Option<usize>,
    #[serde(default)]
    poll_seconds: Option<u64>,
    #[serde(default)]
    dovecot_push: Option<std::net::SocketAddr>,
    #[serde(default)]
    caldav: Option<crate::caldav::config::Section>,
    #[serde(default)]
    smtp: Option<smtp::Section>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    #[serde(default)]
    master: Option<String>,
    #[serde(default)]
    passwords: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    caldav_passwords: std::collections::BTreeMap<String, String>,
}

/// A password: kept out of `Debug`, logs and errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The password, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// How the gateway logs in for one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The name sent in LOGIN (`login`, or `login*master` for a master user).
    pub username: String,
    /// Its password.
    pub password: Secret,
}

/// The checked configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The upstream IMAP server (`[imap]`), if mail is mirrored.
    pub imap: Option<Endpoint>,
    /// Accounts and how to log in to each.
    pub accounts: Vec<(Account, Credentials)>,
    /// Text preview size of a new mail item (bytes).
    pub preview_bytes: usize,
    /// Safety re-sync interval when no push event arrives (seconds).
    pub poll_seconds: u64,
    /// Where to listen for Dovecot's push-notification requests
    /// ([`crate::dovecot_push`]), if Dovecot is set up to send them.
    pub dovecot_push: Option<std::net::SocketAddr>,
    /// The calendar upstream (`[caldav]`), if any.
    pub caldav: Option<crate::caldav::CalDavConfig>,
    /// The submission server (`[smtp]`), if any: without it a mirrored
    /// principal's mail is delivered locally only.
    pub smtp: Option<SmtpConfig>,
}

/// Default text preview of a new mail: the design's "first ~2 KB".
pub const DEFAULT_PREVIEW_BYTES: usize = 2048;
/// Default safety re-sync interval, for servers without NOTIFY: every
/// folder but the idled INBOX is checked this often.
pub const DEFAULT_POLL_SECONDS: u64 = 300;

impl Config {
    /// Reads and checks the configuration file and the secrets file it names.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|_| config_error("cannot read the upstream configuration file"))?;
        let file: File = toml::from_str(&text)
            .map_err(|_| config_error("the upstream configuration file is not valid"))?;
        let secrets_path = if file.secrets.is_relative() {
            path.parent().unwrap_or(Path::new(".")).join(&file.secrets)
        } else {
            file.secrets.clone()
        };
        let secrets = read_secrets(&secrets_path)?;
        Self::from_parts(file, secrets)
    }

    /// Checks a configuration given as text, with its secrets as text (tests).
    pub fn from_strs(config: &str, secrets: &str) -> Result<Config> {
        let file: File = toml::from_str(config)
            .map_err(|_| config_error("the upstream configuration file is not valid"))?;
        let secrets: SecretsFile = toml::from_str(secrets)
            .map_err(|_| config_error("the upstream secrets file is not valid"))?;
        Self::from_parts(file, secrets)
    }

    fn from_parts(file: File, secrets: SecretsFile) -> Result<Config> {
        if file.imap.is_none() && file.caldav.is_none() {
            return Err(config_error(
                "the upstream configuration names neither [imap] nor [caldav]",
            ));
        }
        if let Some(imap) = &file.imap {
            imap.check()?;
        } else if !file.accounts.is_empty() {
            return Err(config_error("[[account]] entries need an [imap] section"));
        }
        let mut accounts = Vec::with_capacity(file.accounts.len());
        for account in file.accounts {
            let credentials = match &file.master {
                Some(master) => Credentials {
                    username: format!("{}{}{}", account.login, master.separator, master.user),
                    password: Secret::new(
                        secrets
                            .master
                            .clone()
                            .ok_or_else(|| config_error("the master user has no password"))?,
                    ),
                },
                None => Credentials {
                    username: account.login.clone(),
                    password: Secret::new(
                        secrets
                            .passwords
                            .get(&account.login)
                            .cloned()
                            .ok_or_else(|| config_error("an account has no password"))?,
                    ),
                },
            };
            accounts.push((account, credentials));
        }
        let caldav = file
            .caldav
            .map(|section| section.check(&secrets.caldav_passwords, &secrets.passwords))
            .transpose()?;
        let smtp = file.smtp.map(smtp::Section::check).transpose()?;
        Ok(Config {
            caldav,
            smtp,
            imap: file.imap,
            accounts,
            preview_bytes: file.preview_bytes.unwrap_or(DEFAULT_PREVIEW_BYTES),
            poll_seconds: file.poll_seconds.unwrap_or(DEFAULT_POLL_SECONDS).max(1),
            dovecot_push: file.dovecot_push,
        })
    }
}

/// Reads the secrets file, refusing one that anyone but its owner may read.
fn read_secrets(path: &Path) -> Result<SecretsFile> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|_| config_error("cannot read the upstream secrets file"))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(config_error(
            "the upstream secrets file must be readable by its owner only (mode 0600)",
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|_| config_error("cannot read the upstream secrets file"))?;
    toml::from_str(&text).map_err(|_| config_error("the upstream secrets file is not valid"))
}

mod smtp;
pub use smtp::{DEFAULT_OUTBOX_LIMIT, SmtpConfig, SmtpLogin};

#[cfg(test)]
mod tests;
