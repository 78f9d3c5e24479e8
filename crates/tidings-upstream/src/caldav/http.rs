//! The HTTP under CalDAV: hyper's client with TLS (rustls + ring,
//! certificates verified against the system's roots or the configured CA
//! file), HTTP Basic credentials on every request, and a count of requests
//! and bytes (what the performance notes measure).

use super::client::unavailable;
use super::config::Server;
use crate::config::Secret;
use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderMap};
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use tidings::{Error, ErrorKind, Result};
use tokio_rustls::rustls;

/// What the client has sent and received since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// HTTP requests sent.
    pub requests: u64,
    /// Bytes sent: header lines and bodies (request lines not counted).
    pub sent: u64,
    /// Bytes received: header lines and bodies (status lines not counted).
    pub received: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
}

fn header_bytes(headers: &HeaderMap) -> u64 {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().len() + value.len() + 4) as u64)
        .sum()
}

type Body = BoxBody<Bytes, hyper::Error>;

/// hyper's client with the credentials added to every request and the
/// traffic counted: the service libdav sends its requests through.
#[derive(Clone)]
pub struct Http {
    inner: HyperClient<HttpsConnector<HttpConnector>, String>,
    authorization: HeaderValue,
    counters: Arc<Counters>,
}

impl core::fmt::Debug for Http {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Http(…)")
    }
}

impl tower_service::Service<Request<String>> for Http {
    type Response = Response<Body>;
    type Error = hyper_util::client::legacy::Error;
    type Future =
        Pin<Box<dyn Future<Output = core::result::Result<Response<Body>, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<core::result::Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<String>) -> Self::Future {
        request
            .headers_mut()
            .insert(AUTHORIZATION, self.authorization.clone());
        let counters = self.counters.clone();
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let sent = header_bytes(request.headers()) + request.body().len() as u64;
        counters.sent.fetch_add(sent, Ordering::Relaxed);
        let pending = self.inner.request(request);
        Box::pin(async move {
            let response = pending.await?;
            counters
                .received
                .fetch_add(header_bytes(response.headers()), Ordering::Relaxed);
            Ok(response.map(|body| {
                body.map_frame(move |frame| {
                    if let Some(data) = frame.data_ref() {
                        counters
                            .received
                            .fetch_add(data.len() as u64, Ordering::Relaxed);
                    }
                    frame
                })
                .boxed()
            }))
        })
    }
}

impl Http {
    /// hyper's client for `server`, sending `login`'s credentials.
    pub fn new(server: &Server, login: &str, password: &Secret) -> Result<Http> {
        use base64::Engine;
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls_config(server)?);
        let connector = match server.url.scheme_str() {
            Some("https") => connector.https_only(),
            _ => connector.https_or_http(),
        }
        .enable_http1()
        .build();
        let inner = HyperClient::builder(TokioExecutor::new()).build(connector);
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{login}:{}", password.expose()));
        let mut authorization = HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| Error::new(ErrorKind::UpstreamConfig, "the CalDAV login is not valid"))?;
        authorization.set_sensitive(true);
        Ok(Http {
            inner,
            authorization,
            counters: Arc::new(Counters::default()),
        })
    }

    /// Requests and bytes so far.
    pub fn traffic(&self) -> Traffic {
        Traffic {
            requests: self.counters.requests.load(Ordering::Relaxed),
            sent: self.counters.sent.load(Ordering::Relaxed),
            received: self.counters.received.load(Ordering::Relaxed),
        }
    }
}

fn tls_config(server: &Server) -> Result<rustls::ClientConfig> {
    let roots = match server.url.scheme_str() {
        Some("https") => crate::connect::roots(server.ca_file.as_deref())?,
        // Loopback http (checked by the configuration): no certificate.
        _ => rustls::RootCertStore::empty(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| unavailable("no TLS protocol version available"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
