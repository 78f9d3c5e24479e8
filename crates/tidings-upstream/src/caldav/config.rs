//! The `[caldav]` section of the gateway's configuration file:
//!
//! ```toml
//! [caldav]
//! url = "https://cal.example.org/dav/"   # the server's context path
//! interval_seconds = 60                  # sync-collection poll per calendar
//! # ca_file = "/etc/tidings/upstream-ca.pem"
//! # discover_shares = true               # see calendars.rs: shares from upstream rights
//!
//! [[caldav.account]]
//! principal = "mayor@example.org"        # the Tidings principal
//! login = "mayor"                        # the CalDAV login
//! # calendars = ["/mayor/calendar/"]     # shared with the login upstream
//! ```
//!
//! Passwords come from the same secrets file as the mail upstream's:
//! `[caldav_passwords] <login> = "…"`, else `[passwords] <login>`.
//! `http:` is accepted for a loopback host only; `https:` verifies the
//! server's certificate against the system's roots or `ca_file`.

use crate::config::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use tidings::{Error, ErrorKind, Result};

/// Default poll interval: CalDAV has no standard push, and one
/// sync-collection REPORT per calendar a minute costs one small exchange.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 60;

fn config_error(why: &'static str) -> Error {
    Error::new(ErrorKind::UpstreamConfig, why)
}

/// The section as written.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Section {
    url: String,
    #[serde(default)]
    interval_seconds: Option<u64>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    discover_shares: Option<bool>,
    #[serde(default, rename = "account")]
    accounts: Vec<AccountEntry>,
}

/// One `[[caldav.account]]` entry.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    /// The Tidings principal's address.
    pub principal: String,
    /// The CalDAV login.
    pub login: String,
    /// Calendars shared with this login upstream that its calendar home set
    /// does not list, by href. One that another configured principal
    /// mirrors becomes a grant on that principal's collection, with the
    /// rights this login has upstream; any other is mirrored as this
    /// principal's own, written with this login's upstream rights.
    #[serde(default)]
    pub calendars: Vec<String>,
}

/// The CalDAV server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// Base URL: scheme, host, port and the context path.
    pub url: http::Uri,
    /// PEM file of CA certificates to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// One mirrored CalDAV account, checked, with its password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalDavAccount {
    /// The Tidings principal's address.
    pub principal: String,
    /// The CalDAV login.
    pub login: String,
    /// Its password.
    pub password: Secret,
    /// Further calendars to mirror, by href.
    pub calendars: Vec<String>,
    /// Whether calendars other accounts mirror are asked whether this login
    /// may read them (shares found from the upstream's rights).
    pub discover_shares: bool,
}

/// The checked `[caldav]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalDavConfig {
    /// The server.
    pub server: Server,
    /// How often each calendar is asked for changes.
    pub interval: Duration,
    /// The accounts.
    pub accounts: Vec<CalDavAccount>,
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Section {
    /// Checks the section against the secrets file's password tables.
    pub fn check(
        self,
        caldav_passwords: &BTreeMap<String, String>,
        passwords: &BTreeMap<String, String>,
    ) -> Result<CalDavConfig> {
        let url: http::Uri = self
            .url
            .parse()
            .map_err(|_| config_error("the CalDAV url is not a valid URL"))?;
        let host = url
            .host()
            .ok_or_else(|| config_error("the CalDAV url has no host"))?;
        match url.scheme_str() {
            Some("https") => {}
            Some("http") if is_loopback(host) => {}
            Some("http") => {
                return Err(config_error(
                    "plain http to a CalDAV server is allowed only on loopback",
                ));
            }
            _ => return Err(config_error("the CalDAV url must be https")),
        }
        let mut accounts = Vec::with_capacity(self.accounts.len());
        for entry in self.accounts {
            let password = caldav_passwords
                .get(&entry.login)
                .or_else(|| passwords.get(&entry.login))
                .cloned()
                .ok_or_else(|| config_error("a CalDAV account has no password"))?;
            accounts.push(CalDavAccount {
                principal: entry.principal,
                login: entry.login,
                password: Secret::new(password),
                calendars: entry.calendars,
                discover_shares: self.discover_shares.unwrap_or(true),
            });
        }
        Ok(CalDavConfig {
            server: Server {
                url,
                ca_file: self.ca_file,
            },
            interval: Duration::from_secs(
                self.interval_seconds
                    .unwrap_or(DEFAULT_INTERVAL_SECONDS)
                    .max(1),
            ),
            accounts,
        })
    }
}
