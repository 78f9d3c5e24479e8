//! Upstream answers turned into the protocol's errors: what a CalDAV
//! status, a failed request or a timeout means to the device and the log.

use super::super::http::TooLarge;
use super::Written;
use http::StatusCode;
use libdav::dav::{RequestError, WebDavError};
use std::future::Future;
use tidings::{Error, ErrorKind, Result};

pub(in crate::caldav) fn unavailable(why: &'static str) -> Error {
    Error::new(ErrorKind::UpstreamUnavailable, why)
}

pub(super) fn refused(why: &'static str) -> Error {
    Error::new(ErrorKind::UpstreamRefused, why)
}

tokio::task_local! {
    /// When the device write these requests serve must be done by: each
    /// request gets what is left of it (see [`within`]).
    static DEADLINE: tokio::time::Instant;
}

/// Runs `future` (a device write's requests) with every CalDAV request in
/// it bounded by what is left until `deadline`, as well as by the client's
/// own timeout: the write waits for the upstream at most that long in all,
/// however many requests it makes. The future itself is never cut short,
/// so what it wrote to the store when a request fails is what it meant to.
pub(crate) async fn within<T>(
    deadline: tokio::time::Instant,
    future: impl Future<Output = T>,
) -> T {
    DEADLINE.scope(deadline, future).await
}

pub(super) async fn timed<T>(
    timeout: std::time::Duration,
    future: impl Future<Output = T>,
) -> Result<T> {
    let left = DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(tokio::time::Instant::now()))
        .ok();
    let timeout = left.map_or(timeout, |left| left.min(timeout));
    tokio::time::timeout(timeout, future)
        .await
        .map_err(|_| unavailable("the CalDAV server did not answer in time"))
}

pub(super) fn status_error(status: StatusCode) -> Error {
    tracing::warn!(status = status.as_u16(), "CalDAV request refused");
    match status {
        StatusCode::UNAUTHORIZED => refused("the CalDAV server refused the login"),
        StatusCode::FORBIDDEN => Error::new(
            ErrorKind::PermissionDenied,
            "the CalDAV server refused this to the account",
        ),
        StatusCode::NOT_FOUND => Error::new(ErrorKind::NotFound, "not found on the CalDAV server"),
        s if s.is_server_error() => unavailable("the CalDAV server failed"),
        _ => refused("the CalDAV server refused the request"),
    }
}

pub(super) fn request_failed<E: std::error::Error>(e: RequestError<E>) -> Error {
    match e {
        // Logged where the bound was hit, with the request.
        RequestError::Http(e) if e.is::<TooLarge>() => {
            unavailable("the CalDAV server's answer was larger than the gateway keeps")
        }
        e => {
            tracing::warn!(error = %e, "CalDAV request failed");
            unavailable("the CalDAV server could not be reached")
        }
    }
}

pub(super) fn failed<E: std::error::Error>(e: WebDavError<E>) -> Error {
    match e {
        WebDavError::Request(e) => request_failed(e),
        WebDavError::BadStatusCode(status) => status_error(status),
        WebDavError::PreconditionFailed(_) => refused("the CalDAV server refused a precondition"),
        WebDavError::InvalidInput(_) => refused("an upstream href is not a valid path"),
        WebDavError::Xml(_) | WebDavError::InvalidResponse(_) => {
            refused("the CalDAV server's answer could not be read")
        }
    }
}

pub(super) fn written<E: std::error::Error>(
    result: core::result::Result<Option<String>, WebDavError<E>>,
) -> Result<Written> {
    match result {
        Ok(etag) => Ok(Written::Done(etag)),
        Err(WebDavError::BadStatusCode(StatusCode::PRECONDITION_FAILED)) => {
            Ok(Written::PreconditionFailed)
        }
        Err(WebDavError::BadStatusCode(StatusCode::NOT_FOUND | StatusCode::GONE)) => {
            Ok(Written::Gone)
        }
        Err(e) => Err(failed(e)),
    }
}
