//! The HTTP under CalDAV: hyper's client with TLS (rustls + ring,
//! certificates verified against the system's roots or the configured CA
//! file), HTTP Basic credentials on every request, a bound on what one
//! answer may hold, and a count of requests and bytes (what the
//! performance notes measure).

use super::client::unavailable;
use super::config::Server;
use crate::config::Secret;
use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderMap};
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Frame, Incoming, SizeHint};
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

/// Most bytes of one answer's body. The largest legitimate ones are a
/// first `sync-collection` of a big calendar (about 250 bytes a resource:
/// 100,000 events are 25 MB) and a `calendar-multiget` of
/// `MULTIGET_BATCH` events; a server that streams a body forever, or
/// announces a huge one, is cut here rather than filling memory (the
/// request's deadline, `REQUEST_TIMEOUT`, does not stop a fast stream).
pub const MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// What reading a body failed with: hyper's error, or [`TooLarge`].
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

type Body = BoxBody<Bytes, BodyError>;

/// A body that went (or was announced to go) beyond
/// [`MAX_RESPONSE_BYTES`]; told apart from a broken connection by type.
#[derive(Debug)]
pub struct TooLarge;

impl core::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "response body over {MAX_RESPONSE_BYTES} bytes")
    }
}

impl std::error::Error for TooLarge {}

/// A response body cut at [`MAX_RESPONSE_BYTES`], its bytes counted.
struct Capped {
    inner: Incoming,
    left: u64,
    counters: Arc<Counters>,
    /// The request, for the log line when the bound is hit.
    method: http::Method,
    path: String,
}

impl Capped {
    fn too_large(
        &mut self,
        declared: Option<u64>,
    ) -> Poll<Option<core::result::Result<Frame<Bytes>, BodyError>>> {
        tracing::warn!(
            method = %self.method,
            path = %self.path,
            declared,
            limit = MAX_RESPONSE_BYTES,
            "the CalDAV server's answer is larger than the gateway keeps; request abandoned"
        );
        self.left = 0;
        Poll::Ready(Some(Err(Box::new(TooLarge))))
    }
}

impl hyper::body::Body for Capped {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<core::result::Result<Frame<Bytes>, BodyError>>> {
        // A Content-Length beyond the bound is refused before any of it is read.
        let announced = self.inner.size_hint().lower();
        if announced > self.left {
            return self.too_large(Some(announced));
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(data) = frame.data_ref() {
            let len = data.len() as u64;
            if len > self.left {
                return self.too_large(None);
            }
            self.left -= len;
            self.counters.received.fetch_add(len, Ordering::Relaxed);
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

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
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let pending = self.inner.request(request);
        Box::pin(async move {
            let response = pending.await?;
            counters
                .received
                .fetch_add(header_bytes(response.headers()), Ordering::Relaxed);
            Ok(response.map(|inner| {
                Capped {
                    inner,
                    left: MAX_RESPONSE_BYTES,
                    counters,
                    method,
                    path,
                }
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
