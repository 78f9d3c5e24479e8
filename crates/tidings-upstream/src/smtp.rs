//! SMTP submission of one queued mail (`lettre`, async on tokio, rustls):
//! TLS or STARTTLS with the server's certificate verified against the
//! system's roots or the operator's CA file, or plain TCP to loopback; AUTH
//! with the account's IMAP credentials unless `login = "none"`.
//!
//! The answer is sorted for the sender: a 5xx reply is a refusal (the mail
//! will never go as it is: the sender is told, nothing is retried); a 4xx
//! reply, a broken connection or a timeout is worth retrying later.

use crate::config::{Credentials, Security, SmtpConfig, SmtpLogin};
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials as SmtpCredentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;
use tidings::{Error, ErrorKind, Result};
use tokio_rustls::rustls::pki_types;

/// The longest one submission (connect, TLS, AUTH, the message) may take.
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// How a submission ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Submitted {
    /// The server accepted the mail for every recipient.
    Accepted,
    /// A permanent refusal (5xx), with the server's reply (first line).
    Refused(String),
    /// Worth another try later (4xx, connection, timeout).
    Retry(String),
}

/// One account's way to the submission server.
pub struct Submitter {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl core::fmt::Debug for Submitter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Submitter")
    }
}

fn config_error(why: &'static str) -> Error {
    Error::new(ErrorKind::UpstreamConfig, why)
}

/// The CA certificates to trust, as lettre takes them.
fn certificates(ca_file: Option<&std::path::Path>) -> Result<Vec<Certificate>> {
    use pki_types::pem::PemObject;
    let ders: Vec<Vec<u8>> = match ca_file {
        Some(path) => pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|_| config_error("cannot read the CA file"))?
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| config_error("the CA file is not PEM"))?,
        None => rustls_native_certs::load_native_certs()
            .certs
            .into_iter()
            .map(|c| c.to_vec())
            .collect(),
    };
    let certs: Vec<Certificate> = ders
        .into_iter()
        .filter_map(|der| Certificate::from_der(der).ok())
        .collect();
    if certs.is_empty() {
        return Err(config_error(
            "no trusted CA certificate for the SMTP server",
        ));
    }
    Ok(certs)
}

impl Submitter {
    /// A submitter to `config`'s server, logging in with `credentials`
    /// (unless the section says `login = "none"`).
    pub fn new(config: &SmtpConfig, credentials: &Credentials) -> Result<Submitter> {
        let endpoint = &config.endpoint;
        let tls = match endpoint.security {
            Security::Plain => Tls::None,
            Security::Tls | Security::Starttls => {
                let mut params = TlsParameters::builder(endpoint.host.clone())
                    .certificate_store(CertificateStore::None);
                for cert in certificates(endpoint.ca_file.as_deref())? {
                    params = params.add_root_certificate(cert);
                }
                let params = params
                    .build_rustls()
                    .map_err(|_| config_error("the SMTP server's TLS settings are invalid"))?;
                if endpoint.security == Security::Tls {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&endpoint.host)
            .port(endpoint.port)
            .tls(tls)
            .timeout(Some(SUBMIT_TIMEOUT));
        if config.login == SmtpLogin::Imap {
            builder = builder.credentials(SmtpCredentials::new(
                credentials.username.clone(),
                credentials.password.expose().to_owned(),
            ));
        }
        Ok(Submitter {
            transport: builder.build(),
        })
    }

    /// Submits `raw` from `from` to `to`.
    pub async fn submit(&self, from: &str, to: &[String], raw: &[u8]) -> Submitted {
        let parse = |a: &str| a.parse::<Address>();
        let envelope = match (
            parse(from),
            to.iter()
                .map(|a| a.parse::<Address>())
                .collect::<std::result::Result<Vec<_>, _>>(),
        ) {
            (Ok(from), Ok(to)) => match Envelope::new(Some(from), to) {
                Ok(envelope) => envelope,
                Err(_) => return Submitted::Refused("no valid recipient".into()),
            },
            _ => return Submitted::Refused("an address the SMTP client cannot send to".into()),
        };
        let sent = tokio::time::timeout(SUBMIT_TIMEOUT, self.transport.send_raw(&envelope, raw));
        match sent.await {
            Ok(Ok(_)) => Submitted::Accepted,
            Ok(Err(e)) if e.is_permanent() => Submitted::Refused(reply_text(&e)),
            Ok(Err(e)) => Submitted::Retry(reply_text(&e)),
            Err(_) => Submitted::Retry("the SMTP server did not answer in time".into()),
        }
    }
}

/// The server's reply as one line (lettre's `Display` of the error, which
/// carries the code and the server's text; never a credential).
fn reply_text(e: &lettre::transport::smtp::Error) -> String {
    e.to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(400)
        .collect()
}
