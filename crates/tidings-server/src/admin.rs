//! What the admin command line does, as functions over the store: usable
//! while the server runs (SQLite WAL lets both write; the server notices
//! and pushes) and from tests.

use crate::activation::Activation;
use crate::clock::{now_ms, random};
use crate::compose::mail_folder;
use crate::stores::ServerStore;
use tidings::proto::{CollectionKind, Policy, item};
use tidings::store::{ActivationCode, Principal, WipeState};
use tidings::sync::ical::calendar_items_from_ical;
use tidings::sync::mail::{DEFAULT_PREVIEW_BYTES, ParsedMail, check_address};
use tidings::sync::{Rights, pack_item};
use tidings::{Error, ErrorKind, Result};

/// Codes drawn before giving up on finding a free public id.
const MAX_DRAWS: u32 = 64;

/// Wrong guesses an activation code survives.
pub const ACTIVATION_ATTEMPTS: u32 = 5;

/// Where the running server listens, recorded at start so `enroll` can put
/// it in the payload.
const TCP_ADDR: &str = "tcp_addr";
const WS_URL: &str = "ws_url";

/// The folders and calendar every new principal gets.
const DEFAULT_MAIL_FOLDERS: [&str; 2] = ["Inbox", "Sent"];

/// The principal with address `email`, ignoring case (Unicode case too:
/// SQLite's NOCASE folds ASCII only).
pub fn principal(store: &impl ServerStore, email: &str) -> Result<Principal> {
    if let Some(found) = store.principal_by_email(email)? {
        return Ok(found);
    }
    let folded = email.to_lowercase();
    let mut all = store.principals()?.into_iter();
    all.find(|p| p.email.to_lowercase() == folded)
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "no principal with this address"))
}

/// Adds a principal with an Inbox, a Sent folder and a Calendar.
///
/// # Errors
///
/// [`ErrorKind::InvalidAddress`] unless `email` is a plain mailbox
/// ([`check_address`]); [`ErrorKind::InvalidArgument`] for a name with a
/// line break or control character (it would print as forged lines), or an
/// address another principal has, ignoring case.
pub fn add_principal(store: &mut impl ServerStore, name: &str, email: &str) -> Result<u64> {
    check_address(email)?;
    if name.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "the name holds a line break or control character",
        ));
    }
    if principal(store, email).is_ok() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "a principal with this address exists (addresses ignore case)",
        ));
    }
    let id = store.add_principal(name, email)?;
    for folder in DEFAULT_MAIL_FOLDERS {
        store.add_collection(id, CollectionKind::Mail, folder)?;
    }
    store.add_collection(id, CollectionKind::Calendar, "Calendar")?;
    Ok(id)
}

/// The principal's first calendar.
pub fn calendar(store: &impl ServerStore, principal: u64) -> Result<u64> {
    store
        .owned_collections(principal)?
        .into_iter()
        .find(|c| c.kind == CollectionKind::Calendar)
        .map(|c| c.id)
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "principal has no calendar"))
}

/// The principal's mail folder called `name` (ignoring ASCII case).
///
/// # Errors
///
/// [`ErrorKind::NotFound`] when there is none: an import into a mistyped
/// folder must not create it.
pub fn existing_folder(store: &impl ServerStore, principal: u64, name: &str) -> Result<u64> {
    mail_folder(store, principal, name)?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "no mail folder with this name"))
}

/// The names of the principal's mail folders, for messages to operators.
pub fn folder_names(store: &impl ServerStore, principal: u64) -> Result<Vec<String>> {
    let owned = store.owned_collections(principal)?.into_iter();
    let mail = owned.filter(|c| c.kind == CollectionKind::Mail);
    Ok(mail.map(|c| c.name).collect())
}

/// A mail folder by name, created if missing.
pub fn folder(store: &mut impl ServerStore, principal: u64, name: &str) -> Result<u64> {
    match mail_folder(store, principal, name)? {
        Some(id) => Ok(id),
        None => store.add_collection(principal, CollectionKind::Mail, name),
    }
}

/// Delegates `owner`'s calendar (or, with `mail`, Inbox) to `delegate`.
pub fn delegate(
    store: &mut impl ServerStore,
    owner: &str,
    delegate: &str,
    mail: bool,
    rights: Rights,
) -> Result<u64> {
    let owner = principal(store, owner)?;
    let delegate = principal(store, delegate)?;
    let collection = if mail {
        folder(store, owner.id, "Inbox")?
    } else {
        calendar(store, owner.id)?
    };
    store.grant(collection, delegate.id, rights)?;
    Ok(collection)
}

/// Removes a delegation of `owner`'s calendar (or, with `mail`, Inbox) to
/// `delegate`: the delegate keeps no right on it. Returns the collection.
pub fn undelegate(
    store: &mut impl ServerStore,
    owner: &str,
    delegate: &str,
    mail: bool,
) -> Result<u64> {
    self::delegate(store, owner, delegate, mail, Rights::NONE)
}

/// Records where the running server listens, for enrollment payloads.
pub fn record_addresses(store: &mut impl ServerStore, tcp: &str, ws: Option<&str>) -> Result<()> {
    store.set_meta(TCP_ADDR, tcp.as_bytes())?;
    store.set_meta(WS_URL, ws.unwrap_or_default().as_bytes())
}

/// The longest an activation code may stay valid: a code is a secret
/// handed over once, and one that never expires is a standing way in.
pub const MAX_ACTIVATION_VALID_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// Creates a one-time activation code for a device of `email`, valid for
/// `valid_ms` (at most [`MAX_ACTIVATION_VALID_MS`]), and returns the
/// enrollment payload.
///
/// # Errors
///
/// `InvalidArgument` for a validity of 0 or over the maximum; the store's.
pub fn enroll(store: &mut impl ServerStore, email: &str, valid_ms: u64) -> Result<Activation> {
    if !(1..=MAX_ACTIVATION_VALID_MS).contains(&valid_ms) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "an activation code is valid for at most 7 days (10080 minutes), and not for 0",
        ));
    }
    let principal = principal(store, email)?;
    let expires = now_ms().saturating_add(valid_ms);
    let mut code = ActivationCode::from_random(random());
    // Public ids are 20 bits: with thousands of codes outstanding, a draw
    // may collide with a live one; draw again.
    let mut draws = 1;
    while let Err(e) = store.create_activation(principal.id, &code, expires, ACTIVATION_ATTEMPTS) {
        if e.kind() != ErrorKind::InvalidArgument || draws == MAX_DRAWS {
            return Err(e);
        }
        code = ActivationCode::from_random(random());
        draws += 1;
    }
    let keys = crate::server::server_keys(store)?;
    let text = |bytes: Option<Vec<u8>>| bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
    let tcp = text(store.meta(TCP_ADDR)?).unwrap_or_else(|| "127.0.0.1:4650".into());
    let ws = text(store.meta(WS_URL)?).filter(|w| !w.is_empty());
    Ok(Activation {
        tcp: Some(tcp),
        ws,
        server_key: keys.public_key(),
        code,
    })
}

/// Revokes a device: its session ends, reconnects are refused.
pub fn revoke(store: &mut impl ServerStore, device: u64) -> Result<()> {
    store.revoke(device)
}

/// Orders a device wiped; returns the order's id.
pub fn wipe(store: &mut impl ServerStore, device: u64) -> Result<u64> {
    store.device(device)?;
    let wipe_id = now_ms();
    store.set_wipe(device, WipeState::Pending(wipe_id))?;
    Ok(wipe_id)
}

/// What an administrator decides in a device's policy (sync.md §5.7); the
/// keepalive interval and preview size stay the serving process's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyRules {
    /// The app must be locked by a passcode.
    pub require_passcode: bool,
    /// The app locks after this much inactivity; 0: the device decides.
    pub max_inactivity_seconds: u32,
    /// The app may offer attachments.
    pub allow_attachments: bool,
}

/// Sets a device's policy to `rules`, one version above the one it had
/// (the server's default counts as version 1); returns the new version.
/// Servers send it to the device at once if it is connected.
pub fn set_policy(store: &mut impl ServerStore, device: u64, rules: PolicyRules) -> Result<u64> {
    store.device(device)?;
    let version = store
        .policy(device)?
        .version
        .max(1)
        .checked_add(1)
        .ok_or(ErrorKind::LimitExceeded)?;
    store.set_policy(
        device,
        Policy {
            version,
            require_passcode: rules.require_passcode,
            max_inactivity_seconds: rules.max_inactivity_seconds,
            allow_attachments: rules.allow_attachments,
            // 0: the serving process's own (keepalive, preview size).
            max_preview_bytes: 0,
            keepalive_seconds: 0,
        },
    )?;
    Ok(version)
}

/// Delivers a raw RFC 5322 message into `email`'s Inbox; returns its id.
pub fn deliver_mail(store: &mut impl ServerStore, email: &str, raw: &[u8]) -> Result<u64> {
    let mail = read_mail(raw)?;
    deliver_parsed_mail(store, email, raw, &mail)
}

/// Reads `raw` for [`deliver_parsed_mail`], with the preview delivery gives.
pub fn read_mail(raw: &[u8]) -> Result<ParsedMail> {
    ParsedMail::parse(raw, DEFAULT_PREVIEW_BYTES)
}

/// [`deliver_mail`] of a mail read beforehand by [`read_mail`]: run in a
/// transaction, the mail is read before it opens.
pub fn deliver_parsed_mail(
    store: &mut impl ServerStore,
    email: &str,
    raw: &[u8],
    mail: &ParsedMail,
) -> Result<u64> {
    let principal = principal(store, email)?;
    let inbox = folder(store, principal.id, "Inbox")?;
    let ids = store.add_parsed_message_copies(&[inbox], raw, mail)?;
    ids.first()
        .copied()
        .ok_or_else(|| Error::new(ErrorKind::Storage, "no copy delivered"))
}

/// Adds every event of an iCalendar text to `calendar`; returns their ids.
pub fn add_events(store: &mut impl ServerStore, calendar: u64, ics: &str) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    for mut event in calendar_items_from_ical(ics, calendar)? {
        let id = store.allocate_id()?;
        event.id = id;
        event.version = 1;
        store.upsert(
            calendar,
            Some(id),
            pack_item(item::Kind::Calendar(event)),
            0,
        )?;
        ids.push(id);
    }
    Ok(ids)
}

/// Delivers the events of an iCalendar text into `email`'s calendar.
pub fn deliver_events(store: &mut impl ServerStore, email: &str, ics: &str) -> Result<Vec<u64>> {
    let principal = principal(store, email)?;
    let calendar = calendar(store, principal.id)?;
    add_events(store, calendar, ics)
}
