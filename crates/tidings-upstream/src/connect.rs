//! Connecting to the upstream IMAP server: TCP, then TLS (implicit or after
//! STARTTLS) with the certificate verified, then LOGIN.

use crate::config::{Credentials, Endpoint, Security};
use crate::session::Upstream;
use std::sync::Arc;
use std::time::Duration;
use tidings::{Error, ErrorKind, Result};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types};

/// How long connecting, TLS and the greeting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A byte stream to the upstream: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + core::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + core::fmt::Debug> Io for T {}

/// The stream an [`Upstream`] session runs on.
pub type Stream = Box<dyn Io>;

pub(crate) fn unavailable(why: &'static str) -> Error {
    Error::new(ErrorKind::UpstreamUnavailable, why)
}

pub(crate) fn refused(why: &'static str) -> Error {
    Error::new(ErrorKind::UpstreamRefused, why)
}

/// Connects, secures the connection as configured and logs in.
pub async fn connect(endpoint: &Endpoint, credentials: &Credentials) -> Result<Upstream> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, open(endpoint))
        .await
        .map_err(|_| unavailable("timed out connecting to the upstream"))??;
    // Sizes of 4 GiB or more read as u32::MAX (too large), not a parse error.
    let stream: Stream = Box::new(crate::sizes::ClampSizes::new(stream));
    let mut client = async_imap::Client::new(stream);
    if endpoint.security != Security::Starttls {
        greeting(&mut client).await?;
    }
    let session = client
        .login(&credentials.username, credentials.password.expose())
        .await
        .map_err(|(e, _)| match e {
            async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                refused("the upstream refused the login")
            }
            _ => unavailable("the upstream connection failed during login"),
        })?;
    Upstream::new(session).await
}

async fn greeting(client: &mut async_imap::Client<Stream>) -> Result<()> {
    tokio::time::timeout(CONNECT_TIMEOUT, client.read_response())
        .await
        .map_err(|_| unavailable("no greeting from the upstream"))?
        .map_err(|_| unavailable("the upstream connection failed"))?
        .ok_or_else(|| unavailable("the upstream closed the connection"))
        .map(drop)
}

async fn open(endpoint: &Endpoint) -> Result<Stream> {
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|_| unavailable("cannot connect to the upstream"))?;
    let _ = tcp.set_nodelay(true);
    match endpoint.security {
        Security::Plain => Ok(Box::new(tcp)),
        Security::Tls => Ok(Box::new(tls(endpoint, tcp).await?)),
        Security::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            let greeting = client
                .read_response()
                .await
                .map_err(|_| unavailable("no greeting from the upstream"))?;
            if greeting.is_none() {
                return Err(unavailable("the upstream closed the connection"));
            }
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|_| refused("the upstream refused STARTTLS"))?;
            let tcp = client.into_inner();
            Ok(Box::new(tls(endpoint, tcp).await?))
        }
    }
}

async fn tls(
    endpoint: &Endpoint,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let roots = roots(endpoint.ca_file.as_deref())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| unavailable("no TLS protocol version available"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = pki_types::ServerName::try_from(endpoint.host.clone()).map_err(|_| {
        Error::new(
            ErrorKind::UpstreamConfig,
            "the upstream host is not a valid name",
        )
    })?;
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|_| unavailable("TLS with the upstream failed (certificate not trusted?)"))
}

/// The CA certificates to trust: those of `ca_file`, else the system's.
pub(crate) fn roots(ca_file: Option<&std::path::Path>) -> Result<rustls::RootCertStore> {
    use pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|_| Error::new(ErrorKind::UpstreamConfig, "cannot read the CA file"))?;
            for cert in certs {
                let cert = cert
                    .map_err(|_| Error::new(ErrorKind::UpstreamConfig, "the CA file is not PEM"))?;
                roots.add(cert).map_err(|_| {
                    Error::new(ErrorKind::UpstreamConfig, "a CA certificate is invalid")
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A malformed system certificate is skipped, as browsers do.
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(Error::new(
            ErrorKind::UpstreamConfig,
            "no trusted CA certificate for the upstream",
        ));
    }
    Ok(roots)
}
