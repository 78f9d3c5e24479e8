//! `[smtp]`: where a mirrored principal's outgoing mail is submitted.
//!
//! ```toml
//! [smtp]
//! host = "mail.example.org"
//! port = 465
//! security = "tls"        # "tls", "starttls", or "plain" (loopback only)
//! # ca_file = "/etc/tidings/upstream-ca.pem"
//! # login = "imap"        # "imap": the account's IMAP credentials; "none"
//! # outbox_limit = 100    # mails waiting per principal
//! ```
//!
//! The same certificate rules as `[imap]`: TLS and STARTTLS verify the
//! server's certificate; plain TCP only to a loopback host.

use super::{Endpoint, Security, config_error};
use serde::Deserialize;
use std::path::PathBuf;
use tidings::Result;

/// How the gateway authenticates to the submission server.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpLogin {
    /// SMTP AUTH with the account's IMAP credentials: its own password, or
    /// the master user's `login*master` form (Dovecot's submission service,
    /// and Postfix with Dovecot SASL, accept it as IMAP does).
    #[default]
    Imap,
    /// No AUTH: a relay that trusts the gateway's address (loopback tests,
    /// or a relay restricted to the gateway's host).
    None,
}

/// Mails waiting in one principal's outbox before a send is refused.
pub const DEFAULT_OUTBOX_LIMIT: usize = 100;

/// The `[smtp]` section as written.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Section {
    host: String,
    port: u16,
    security: Security,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    login: SmtpLogin,
    #[serde(default)]
    outbox_limit: Option<usize>,
}

/// The checked `[smtp]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpConfig {
    /// The submission server (the same rules as `[imap]`).
    pub endpoint: Endpoint,
    /// Whether and how the gateway logs in.
    pub login: SmtpLogin,
    /// Mails waiting per principal before a send is refused.
    pub outbox_limit: usize,
}

impl Section {
    pub(crate) fn check(self) -> Result<SmtpConfig> {
        let endpoint = Endpoint {
            host: self.host,
            port: self.port,
            security: self.security,
            ca_file: self.ca_file,
        };
        endpoint.check()?;
        let outbox_limit = self.outbox_limit.unwrap_or(DEFAULT_OUTBOX_LIMIT);
        if outbox_limit == 0 {
            return Err(config_error("smtp.outbox_limit must be at least 1"));
        }
        Ok(SmtpConfig {
            endpoint,
            login: self.login,
            outbox_limit,
        })
    }
}
