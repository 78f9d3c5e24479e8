//! A PUT whose `207 Multi-Status` answer is a refusal. Xandikos answers a
//! create whose UID another resource already holds with 207 carrying an
//! inner `412` (`no-uid-conflict`), which libdav reads as success (any
//! 2xx): the device was told `Done`, and its event was gone at the next
//! sync. RFC 4918 gives PUT no 207; a server that sends one is reporting
//! what went wrong.

use http::response::Parts;
use http::{Request, StatusCode, Uri};
use libdav::dav::{PutResourceParseError, PutResourceResponse, WebDavError};
use libdav::requests::DavRequest;

/// `R`, a libdav PUT, with a 207 answer read as refused.
pub(super) struct Put<R>(pub(super) R);

impl<R> DavRequest for Put<R>
where
    R: DavRequest<Response = PutResourceResponse, ParseError = PutResourceParseError>,
{
    type Response = PutResourceResponse;
    type ParseError = PutResourceParseError;
    type Error<E> = WebDavError<E>;

    fn prepare_request(&self, base_url: Uri) -> Result<Request<String>, http::Error> {
        self.0.prepare_request(base_url)
    }

    fn parse_response(
        &self,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Self::Response, Self::ParseError> {
        match parts.status {
            StatusCode::MULTI_STATUS => Err(PutResourceParseError::BadStatusCode(parts.status)),
            _ => self.0.parse_response(parts, body),
        }
    }
}
