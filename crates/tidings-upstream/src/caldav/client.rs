//! CalDAV requests: libdav's typed requests over [`super::http`], a
//! deadline per request, and upstream answers turned into the protocol's
//! errors.
//!
//! Everything here speaks in hrefs and ETags; what they mean to the store is
//! [`super::sync`]'s and [`super::writeback`]'s business.

use super::config::Server;
pub use super::http::Traffic;
use super::http::{Http, TooLarge};
use crate::config::Secret;
use http::{Request, StatusCode};
use libdav::CalDavClient;
use libdav::caldav::{FindCalendarHomeSet, FindCalendars, GetCalendarResources};
use libdav::dav::{
    Delete, GetProperty, PutResource, RequestError, SyncCollection, WebDavClient, WebDavError,
};
use std::time::Duration;
use tidings::Result;

mod answers;
mod discovered;
mod put;

pub(super) use answers::unavailable;
pub(crate) use answers::within;
use answers::{failed, refused, request_failed, status_error, timed, written};
use discovered::Discovered;
pub use discovered::MAX_DISCOVERED_BYTES;

/// The longest one request may take, its whole answer read (libdav reads
/// the body inside the request); its size is bounded by
/// [`super::http::MAX_RESPONSE_BYTES`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Resources asked for per `calendar-multiget`.
pub const MULTIGET_BATCH: usize = 32;
/// The media type of what the gateway writes.
const ICALENDAR: &str = "text/calendar; charset=utf-8";

/// Most calendar homes of one login asked for their calendars (RFC 4791
/// allows several; servers name one or two).
pub const MAX_CALENDAR_HOMES: usize = 16;

/// Most calendars read from one login's homes, of which at most
/// `MAX_CALENDARS` are mirrored.
pub const MAX_DISCOVERED_CALENDARS: usize = 10_000;

/// A calendar found upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteCalendar {
    /// Its href (an opaque path).
    pub href: String,
    /// Its display name, else the last segment of its href.
    pub name: String,
}

/// The body of a `current-user-privilege-set` PROPFIND.
const PRIVILEGES: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<D:propfind xmlns:D=\"DAV:\"><D:prop><D:current-user-privilege-set/></D:prop></D:propfind>";

/// What the login may do on a calendar (RFC 3744).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Privileges {
    /// `read` (or `all`).
    pub read: bool,
    /// `write`, `write-content` (or `all`).
    pub write: bool,
}

/// What a `sync-collection` REPORT answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Changes since the token sent (everything when none was sent).
    Changes {
        /// The token to send next time.
        token: String,
        /// Resources created or changed: (href, ETag).
        changed: Vec<(String, String)>,
        /// Resources deleted.
        deleted: Vec<String>,
    },
    /// The server no longer knows the token sent: list everything again.
    TokenInvalid,
}

/// A resource as fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its href.
    pub href: String,
    /// Its iCalendar text.
    pub data: String,
    /// Its ETag.
    pub etag: String,
}

/// What a conditional write answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// Done; the new ETag when the server gave one (a server that changed
    /// what it stored gives none, RFC 4791 §5.3.4).
    Done(Option<String>),
    /// `If-Match`/`If-None-Match` failed: someone else changed it first.
    PreconditionFailed,
    /// The resource is not there (a DELETE or update of something deleted).
    Gone,
}

/// One CalDAV login on one server.
#[derive(Debug)]
pub struct Client {
    dav: CalDavClient<Http>,
    http: Http,
    /// The longest one request may take ([`REQUEST_TIMEOUT`] unless set).
    timeout: Duration,
}

impl Client {
    /// A client for `login` on `server` (nothing is sent yet).
    pub fn new(server: &Server, login: &str, password: &Secret) -> Result<Client> {
        let http = Http::new(server, login, password)?;
        Ok(Client {
            dav: CalDavClient::new(WebDavClient::new(server.url.clone(), http.clone())),
            http,
            timeout: REQUEST_TIMEOUT,
        })
    }

    /// The same client, each request bounded by `timeout` instead.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    /// Requests and bytes so far.
    pub fn traffic(&self) -> Traffic {
        self.http.traffic()
    }

    /// The login's calendars: current-user-principal (RFC 5397), its
    /// calendar-home-set, the calendars in each home: at most
    /// [`MAX_CALENDAR_HOMES`] homes, [`MAX_DISCOVERED_CALENDARS`]
    /// calendars and [`MAX_DISCOVERED_BYTES`] of hrefs and names in all, so
    /// a hostile server's million calendars cost the mirror neither memory
    /// nor the comparisons that follow.
    pub async fn discover(&self) -> Result<Vec<RemoteCalendar>> {
        let principal = timed(self.timeout, self.dav.find_current_user_principal())
            .await?
            .map_err(|e| match e {
                libdav::dav::FindCurrentUserPrincipalError::RequestError(e) => failed(e),
                libdav::dav::FindCurrentUserPrincipalError::InvalidInput(_) => {
                    refused("the CalDAV url cannot be used")
                }
            })?
            .ok_or_else(|| refused("the CalDAV server names no principal for the login"))?;
        let homes = timed(
            self.timeout,
            self.dav.request(FindCalendarHomeSet::new(principal.path())),
        )
        .await?
        .map_err(failed)?
        .home_sets;
        if homes.len() > MAX_CALENDAR_HOMES {
            tracing::warn!(
                homes = homes.len(),
                "the CalDAV server names more calendar homes than are asked ({MAX_CALENDAR_HOMES})"
            );
        }
        let mut kept = Discovered::default();
        for home in homes.into_iter().take(MAX_CALENDAR_HOMES) {
            let found = timed(
                self.timeout,
                self.dav.request(FindCalendars::new(home.path())),
            )
            .await?
            .map_err(failed)?;
            for calendar in found.calendars {
                let name = calendar.properties.into_iter().next().and_then(|(_, v)| v);
                if !kept.take(calendar.href, name) {
                    return Ok(kept.calendars);
                }
            }
        }
        Ok(kept.calendars)
    }

    /// The calendar at `href` with its display name (two PROPFINDs, Depth
    /// 0: its resource type, which every resource has, then its display
    /// name, which it may lack), or `None` when it is not there or not
    /// readable by the login.
    pub async fn calendar_named(&self, href: &str) -> Result<Option<RemoteCalendar>> {
        let exists = GetProperty::new(href, &libdav::names::RESOURCETYPE);
        match timed(self.timeout, self.dav.request(exists)).await? {
            Ok(_) => {}
            Err(WebDavError::BadStatusCode(StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)) => {
                return Ok(None);
            }
            Err(e) => return Err(failed(e)),
        }
        let named = GetProperty::new(href, &libdav::names::DISPLAY_NAME);
        let name = match timed(self.timeout, self.dav.request(named)).await? {
            Ok(found) => found.value.filter(|n| !n.trim().is_empty()),
            // An unset display name is a 404 inside the multistatus.
            Err(WebDavError::BadStatusCode(_)) => None,
            Err(e) => return Err(failed(e)),
        };
        Ok(Some(RemoteCalendar {
            href: href.to_string(),
            name: name.unwrap_or_else(|| last_segment(href)),
        }))
    }

    /// The login's privileges on `href` (RFC 3744
    /// `current-user-privilege-set`, PROPFIND Depth 0), or `None` when it
    /// is not there or not readable by the login.
    pub async fn privileges(&self, href: &str) -> Result<Option<Privileges>> {
        let uri = self
            .dav
            .relative_uri(href)
            .map_err(|_| refused("an upstream href is not a valid path"))?;
        let method = http::Method::from_bytes(b"PROPFIND")
            .map_err(|_| refused("PROPFIND is not a method name"))?;
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("Depth", "0")
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(PRIVILEGES.to_string())
            .map_err(|_| refused("an upstream href is not a valid path"))?;
        let (parts, body) = timed(self.timeout, self.dav.request_raw(request))
            .await?
            .map_err(request_failed)?;
        match parts.status {
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => return Ok(None),
            s if !s.is_success() => return Err(status_error(s)),
            _ => {}
        }
        let text = std::str::from_utf8(&body)
            .map_err(|_| refused("the CalDAV server's answer could not be read"))?;
        let doc = roxmltree::Document::parse(text)
            .map_err(|_| refused("the CalDAV server's answer could not be read"))?;
        let mut privileges = Privileges::default();
        let set = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "current-user-privilege-set");
        for granted in set.flat_map(|n| n.descendants()) {
            match granted.tag_name().name() {
                "all" => {
                    privileges.read = true;
                    privileges.write = true;
                }
                "read" => privileges.read = true,
                "write" | "write-content" => privileges.write = true,
                _ => {}
            }
        }
        Ok(Some(privileges))
    }

    /// Whether the server schedules (RFC 6638 §5.1: `calendar-auto-schedule`
    /// in the `DAV` header of an `OPTIONS` on a calendar). A server that
    /// failed (`5xx`) or refused the login did not say: an error, not
    /// `false`. One that does not take `OPTIONS` (another `4xx`) says it
    /// does not.
    pub async fn auto_schedules(&self, href: &str) -> Result<bool> {
        let uri = self
            .dav
            .relative_uri(href)
            .map_err(|_| refused("an upstream href is not a valid path"))?;
        let request = Request::builder()
            .method(http::Method::OPTIONS)
            .uri(uri)
            .body(String::new())
            .map_err(|_| refused("an upstream href is not a valid path"))?;
        let (parts, _) = timed(self.timeout, self.dav.request_raw(request))
            .await?
            .map_err(request_failed)?;
        let status = parts.status;
        if status.is_server_error()
            || status == StatusCode::UNAUTHORIZED
            || status == StatusCode::FORBIDDEN
        {
            return Err(status_error(status));
        }
        Ok(parts.headers.get_all("dav").iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|c| c.trim().eq_ignore_ascii_case("calendar-auto-schedule"))
            })
        }))
    }

    /// `sync-collection` (RFC 6578) on the calendar `href` from `token`.
    pub async fn sync(&self, href: &str, token: Option<&str>) -> Result<Listing> {
        let mut request = SyncCollection::new(href);
        if let Some(token) = token {
            request = request.with_sync_token(token);
        }
        match timed(self.timeout, self.dav.request(request)).await? {
            Ok(response) => Ok(Listing::Changes {
                token: response.new_sync_token,
                changed: response
                    .changed
                    .into_iter()
                    .filter(|r| r.href.trim_end_matches('/') != href.trim_end_matches('/'))
                    .filter_map(|r| Some((r.href, r.etag?)))
                    .collect(),
                deleted: response.deleted,
            }),
            // RFC 6578 §3.2: DAV:valid-sync-token, with 403. Some servers
            // answer a stale token with 412 or 409 instead, and Xandikos
            // 0.2.8 with 500: the caller lists afresh, and a server that is
            // really failing fails that listing too.
            Err(WebDavError::PreconditionFailed(_)) if token.is_some() => Ok(Listing::TokenInvalid),
            Err(WebDavError::BadStatusCode(status))
                if token.is_some()
                    && (status == StatusCode::PRECONDITION_FAILED
                        || status == StatusCode::CONFLICT
                        || status.is_server_error()) =>
            {
                tracing::info!(status = status.as_u16(), "sync token refused");
                Ok(Listing::TokenInvalid)
            }
            Err(e) => Err(failed(e)),
        }
    }

    /// The resources `hrefs` of the calendar `collection`, by
    /// `calendar-multiget` in batches; one that is gone is left out, one
    /// over the bound of one answer fails it.
    pub async fn fetch(&self, collection: &str, hrefs: &[String]) -> Result<Vec<Resource>> {
        let (resources, too_large) = self.fetch_bounded(collection, hrefs).await?;
        if !too_large.is_empty() {
            return Err(unavailable(
                "the CalDAV server's answer was larger than the gateway keeps",
            ));
        }
        Ok(resources)
    }

    /// [`fetch`](Self::fetch), and apart the hrefs of resources that alone
    /// are over the bound of one answer: a batch over it is halved until
    /// each such resource is found, so the rest are fetched still.
    pub async fn fetch_bounded(
        &self,
        collection: &str,
        hrefs: &[String],
    ) -> Result<(Vec<Resource>, Vec<String>)> {
        let mut resources = Vec::with_capacity(hrefs.len());
        let mut too_large = Vec::new();
        let mut batches: Vec<&[String]> = hrefs.chunks(MULTIGET_BATCH).rev().collect();
        while let Some(batch) = batches.pop() {
            let request = GetCalendarResources::new(collection).with_hrefs(batch);
            let response = match timed(self.timeout, self.dav.request(request)).await? {
                Ok(response) => response,
                Err(WebDavError::Request(RequestError::Http(e))) if e.is::<TooLarge>() => {
                    if let [href] = batch {
                        too_large.push(href.clone());
                    } else {
                        let (first, second) = batch.split_at(batch.len() / 2);
                        batches.push(second);
                        batches.push(first);
                    }
                    continue;
                }
                Err(e) => return Err(failed(e)),
            };
            for fetched in response.resources {
                match fetched.content {
                    Ok(content) => resources.push(Resource {
                        href: fetched.href,
                        data: content.data,
                        etag: content.etag,
                    }),
                    Err(status) => {
                        tracing::debug!(status = status.as_u16(), "CalDAV resource not fetched")
                    }
                }
            }
        }
        Ok((resources, too_large))
    }

    /// Creates `href` (`If-None-Match: *`).
    pub async fn create(&self, href: &str, data: String) -> Result<Written> {
        let request = put::Put(PutResource::new(href).create(data, ICALENDAR));
        written(
            timed(self.timeout, self.dav.request(request))
                .await?
                .map(|r| r.etag),
        )
    }

    /// Replaces `href` if it is still at `etag` (`If-Match`).
    pub async fn update(&self, href: &str, data: String, etag: &str) -> Result<Written> {
        let request = put::Put(PutResource::new(href).update(data, ICALENDAR, etag));
        written(
            timed(self.timeout, self.dav.request(request))
                .await?
                .map(|r| r.etag),
        )
    }

    /// Deletes `href` if it is still at `etag` (`If-Match`).
    pub async fn delete(&self, href: &str, etag: &str) -> Result<Written> {
        let request = Delete::new(href).with_etag(etag);
        written(
            timed(self.timeout, self.dav.request(request))
                .await?
                .map(|_| None),
        )
    }
}

/// The last non-empty segment of an href, percent-decoding left alone.
fn last_segment(href: &str) -> String {
    href.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(href)
        .to_string()
}
