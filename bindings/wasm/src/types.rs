//! The TypeScript types of the plain objects the package exchanges (the
//! enums are in `enums.rs`). Objects mirror the protobuf schema
//! (`crates/tidings/proto/`) with camelCase names: `bigint` for 64-bit ids
//! and versions, `number` for everything else numeric, `Uint8Array` for
//! bytes, numeric enums as below. Optional message fields are optional
//! properties.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
import type { TidingsError } from "./errors.js";
/** A mailbox. */
export interface Address {
  /** Display name ("" when absent). */
  name: string;
  /** The address, e.g. "mayor@town.example". */
  email: string;
}

/** Header fields of a mail. */
export interface MailHeaders {
  from: Address[];
  to: Address[];
  cc: Address[];
  bcc: Address[];
  replyTo: Address[];
  subject: string;
  /** Seconds since the Unix epoch, UTC (0 when absent). */
  date: number;
  /** The Date header's own UTC offset, in minutes. */
  dateOffsetMinutes: number;
  /** Without angle brackets. */
  messageId: string;
  inReplyTo: string[];
  references: string[];
  /** Server-assigned conversation id. */
  threadId: bigint;
}

/** A text part of a mail, fetched by range with `Client.fetchBody`. */
export interface BodyPart {
  partId: number;
  contentType: string;
  /** Size in bytes of the text in UTF-8. */
  size: number;
}

/** An attachment, fetched by range with `Client.fetchAttachment`. */
export interface Attachment {
  partId: number;
  filename: string;
  contentType: string;
  size: number;
  contentId: string;
  inline: boolean;
  /** Headers of an attached message (message/rfc822). */
  nestedHeaders?: MailHeaders;
  /** The charset a text file's Content-Type names ("" when none): the
   * fetched bytes are the file as sent, in this charset. */
  charset: string;
}

/**
 * What an abridged item or placeholder leaves out, and why (sync.md §3
 * rule 9). An item too large for one page (`reason` `TooLarge`) has long
 * texts cut and long lists shortened; a placeholder (`Unreadable`,
 * `RefusedByDevice`) holds ids only. `Client.fetchItem` and
 * `Client.completeItem` replace it with the whole item.
 */
export interface Abridged {
  reason: AbridgedReason;
  /** Size in bytes of the whole packed item (`fetchItem`'s `totalSize`; 0 when unknown). */
  packedSize: number;
  /** How many texts were cut short. */
  cutTexts: number;
  /** How many list entries (addresses, parts, attendees, properties…) were left out. */
  omittedEntries: number;
  /**
   * Of `omittedEntries`, the events' unmodelled properties and
   * sub-components and the time zones dropped whole for their length (an
   * inline image, a file as a binary `ATTACH`). When every omitted entry is
   * one of these and `cutTexts` is 0, the item may be edited as it is held:
   * the server puts them back.
   */
  droppedWhole: number;
}

/** A mail as the device holds it: headers, a preview, the structure. */
export interface MailItem {
  kind: "mail";
  id: bigint;
  folderId: bigint;
  headers: MailHeaders;
  /** The first bytes of the text. */
  preview: string;
  previewTruncated: boolean;
  bodyParts: BodyPart[];
  attachments: Attachment[];
  /** Current `MailFlag` bits. */
  flags: number;
  /** Size of the whole message in bytes. */
  size: number;
  /** Set when this is not the whole item. */
  abridged?: Abridged;
}

/** A time as iCalendar writes it, verbatim. */
export interface CalendarTime {
  /** "20261203" (a date), "20261203T090000" (local), "20261203T090000Z" (UTC). */
  value: string;
  /** TZID of a local time ("" for dates, UTC and floating times). */
  tzid: string;
  /** Other parameters, verbatim ("" when none). */
  params: string;
}

/** A time zone definition used by an event. */
export interface TimeZone {
  tzid: string;
  /** The VTIMEZONE component, verbatim. */
  vtimezone: string;
}

/** An invited person or resource. */
export interface Attendee {
  address?: Address;
  status: ParticipationStatus;
  role: AttendeeRole;
  rsvp: boolean;
  otherParams: string;
  /**
   * The attendee as written when not a `mailto:` URI (`urn:uuid:…`), else
   * "": `address.email` is then its EMAIL parameter, in `otherParams`.
   */
  uri: string;
}

/** A property the schema does not model, kept verbatim. */
export interface RawProperty {
  name: string;
  params: string;
  value: string;
}

/** A reminder (VALARM). */
export interface Alarm {
  action: string;
  trigger: string;
  triggerParams: string;
  description: string;
  other: RawProperty[];
  components: string[];
}

/** One VEVENT: the master of a series or an overridden instance. */
export interface CalendarEvent {
  uid: string;
  summary: string;
  location: string;
  description: string;
  start?: CalendarTime;
  end?: CalendarTime;
  /** e.g. "PT1H" ("" when `end` is used). */
  duration: string;
  organizer?: Address;
  attendees: Attendee[];
  /** e.g. "FREQ=WEEKLY;BYDAY=MO" ("" when not recurring). */
  rrule: string;
  exdates: CalendarTime[];
  rdates: CalendarTime[];
  /** Set on an overridden instance. */
  recurrenceId?: CalendarTime;
  alarms: Alarm[];
  transparency: Transparency;
  sequence: number;
  status: string;
  dtstamp: string;
  other: RawProperty[];
  summaryParams: string;
  locationParams: string;
  descriptionParams: string;
  organizerParams: string;
  components: string[];
  /** The organizer as written when not a `mailto:` URI, as `Attendee.uri`. */
  organizerUri: string;
  /** RRULE parameters, verbatim (Evolution's `X-EVOLUTION-ENDDATE=…`). */
  rruleParams: string;
}

/** An event series (or single event) with its overrides. */
export interface CalendarItem {
  kind: "calendar";
  id: bigint;
  calendarId: bigint;
  /** Incremented by the server on each change: pass it as `expectedVersion`. */
  version: bigint;
  master?: CalendarEvent;
  overrides: CalendarEvent[];
  timezones: TimeZone[];
  /**
   * Set when this is not the whole item. Keep it on an item passed back:
   * the server then puts back what it dropped whole (`droppedWhole`), or,
   * when texts were cut or lists shortened, refuses the update (515
   * ItemAbridged) instead of losing what the device was not shown.
   * Complete such an item first (`Client.fetchItem`,
   * `Client.completeItem`) to edit it.
   */
  abridged?: Abridged;
  /**
   * The calendar's time zone (X-WR-TIMEZONE) in which free/busy reads the
   * item's floating times ("" when none). Keep it on an item passed back.
   */
  floatingTzid: string;
}

/** Either kind of item. */
export type Item = MailItem | CalendarItem;

/**
 * An event to create or update: a `CalendarItem` (one read from the replica
 * works as is), where every field but those named may be left out.
 */
export type CalendarItemInput = Partial<Omit<CalendarItem, "master" | "overrides">> & {
  master?: Partial<CalendarEvent>;
  overrides?: Partial<CalendarEvent>[];
};

/** A collection the device may see. */
export interface CollectionInfo {
  id: bigint;
  kind: CollectionKind;
  /** e.g. "Inbox". */
  name: string;
  /** The owning principal: another one for a delegated collection. */
  ownerId: bigint;
  ownerName: string;
  /** `Right` bits the device's principal holds. */
  rights: number;
  epoch: bigint;
}

/** A collection the replica holds. */
export interface Collection extends CollectionInfo {
  /** How many items the replica holds. */
  itemCount: number;
}

/** The rules the server sets for the device. */
export interface Policy {
  version: bigint;
  requirePasscode: boolean;
  maxInactivitySeconds: number;
  allowAttachments: boolean;
  maxPreviewBytes: number;
  keepaliveSeconds: number;
}

/** One search hit. */
export interface SearchHit {
  collectionId: bigint;
  itemId: bigint;
}

/** A busy period, in seconds since the Unix epoch. */
export interface BusyPeriod {
  start: number;
  end: number;
  tentative: boolean;
}

/** An item free/busy could not expand, so its time is not shown. */
export interface SkippedEvent {
  calendarId: bigint;
  itemId: bigint;
  /** Its UID (at most 256 bytes). */
  uid: string;
  /** The error code saying why (505 for a rule it cannot evaluate, 300/301 for an item it cannot unpack). */
  code: number;
}

/** How the server answered an operation. */
export type Outcome =
  /** Applied (now or on an earlier try). */
  | { kind: "done"; itemId: bigint; version: bigint }
  /** Refused: `error.code` is from the error table. */
  | { kind: "error"; error: TidingsError }
  /** The expected version was stale; `current` is the item now (absent if deleted). */
  | { kind: "conflict"; currentVersion: bigint; current?: Item }
  /** Bytes of a body part or attachment. */
  | { kind: "range"; offset: number; totalSize: number; data: Uint8Array }
  | { kind: "search"; hits: SearchHit[]; truncated: boolean }
  /**
   * Busy periods in time order. `skippedCount` items were left out (their
   * time is not shown); `skipped` lists at most 32 of them.
   */
  | { kind: "freeBusy"; periods: BusyPeriod[]; skipped: SkippedEvent[]; skippedCount: number }
  /** An outcome newer than this version of the package. */
  | { kind: "unknown" };

/** What happened, for the app to show. Drain them with `Client.pollEvent`. */
export type ClientEvent =
  /** Enrolled: save the state now. */
  | { type: "enrolled"; deviceId: bigint }
  /** The session is up; the replica's collection list is current. */
  | { type: "connected"; collections: CollectionInfo[] }
  /** A collection changed: re-read it from the replica. */
  | { type: "changed"; collectionId: bigint; modseq: bigint }
  /** A collection's initial sync in this session is complete (`Client.caughtUp`: all are). */
  | { type: "caughtUp"; collectionId: bigint; modseq: bigint }
  /** The visible collections changed during the session; the replica's list is this one. */
  | { type: "collectionsChanged"; collections: CollectionInfo[] }
  /** A collection was emptied and is being synced afresh. */
  | { type: "resync"; collectionId: bigint }
  /** An operation was answered; `opId` is what the operation returned. */
  | { type: "operationResult"; opId: string; outcome: Outcome }
  | { type: "policy"; policy: Policy }
  /** Erase the device's data, then `Client.acknowledgeWipe(now, wipeId)`. */
  | { type: "wipeRequested"; wipeId: bigint }
  /** The device was revoked: do not reconnect. */
  | { type: "revoked" }
  /** The session ended; `error` says why unless it was a clean close. */
  | { type: "closed"; error?: TidingsError }
  /** An event newer than this version of the package. */
  | { type: "unknown" };

/** The parts of an activation payload (`parseActivation`). */
export interface Activation {
  /** TCP endpoint, "HOST:PORT". */
  tcp?: string;
  /** WebSocket URL. */
  ws?: string;
  /** The server's static public key (32 bytes), pinned in the state. */
  serverKey: Uint8Array;
  /** The activation code, "XXXX-XXXX-XXXX-XXXX". */
  code: string;
}

/** A row of the error table. */
export interface ErrorInfo {
  code: number;
  /** The Rust `ErrorKind` name, e.g. "ActivationRejected". */
  name: string;
  description: string;
}

/** Fields every operation takes. */
export interface OperationOptions {
  /**
   * 32 hex digits: the id to reuse when retrying an operation by hand
   * (by default a fresh random one; the outbox resends on its own).
   */
  opId?: string;
}

export interface SetFlagsRequest extends OperationOptions {
  collectionId: bigint;
  itemIds: bigint[];
  /** `MailFlag` bits to set. */
  set?: number;
  /** `MailFlag` bits to clear. */
  clear?: number;
}

export interface MoveItemsRequest extends OperationOptions {
  collectionId: bigint;
  itemIds: bigint[];
  toCollectionId: bigint;
}

export interface DeleteItemsRequest extends OperationOptions {
  collectionId: bigint;
  itemIds: bigint[];
}

/**
 * A file to attach to an outgoing mail: its bytes in `data`, or, for a file
 * larger than about 60 KiB, the `uploadId` of an upload completed with
 * `Client.uploadPart` (then `data` is left out).
 */
export interface OutgoingAttachment {
  filename: string;
  contentType: string;
  data?: Uint8Array;
  /** 32 hex digits: an upload this device completed (`uploadPart`). */
  uploadId?: string;
}

/** A mail the device composes. */
export interface OutgoingMail {
  to?: Address[];
  cc?: Address[];
  bcc?: Address[];
  subject?: string;
  /** Plain text body. */
  text?: string;
  attachments?: OutgoingAttachment[];
}

export interface SendMailRequest extends OperationOptions {
  mail: OutgoingMail;
}

export interface ReplyRequest extends OperationOptions {
  collectionId: bigint;
  itemId: bigint;
  replyAll?: boolean;
  /** Recipients may be left out to use the original's. */
  mail: OutgoingMail;
}

export interface ForwardRequest extends OperationOptions {
  collectionId: bigint;
  itemId: bigint;
  mail: OutgoingMail;
}

export interface FetchRangeRequest extends OperationOptions {
  collectionId: bigint;
  itemId: bigint;
  /** `BodyPart.partId` or `Attachment.partId`. */
  partId: number;
  /** First byte wanted: resume from the bytes already held. */
  offset?: number;
  /** Most bytes wanted (the server may send fewer). */
  length: number;
}

/** Ranges of an item's whole packed form, to complete an abridged item. */
export interface FetchItemRequest extends OperationOptions {
  collectionId: bigint;
  itemId: bigint;
  /** First byte wanted: the bytes already held. */
  offset?: number;
  /** Most bytes wanted (the server sends at most 48 KiB). */
  length: number;
}

/**
 * Part of a file a later mail attaches (sync.md §6). Send the file in
 * order from offset 0, at most 48 KiB a part; the `done` outcome's
 * `version` is the bytes the server holds, a `conflict` outcome's
 * `currentVersion` where to go on from.
 */
export interface UploadPartRequest extends OperationOptions {
  /** 32 hex digits naming the upload, drawn at random (`newUploadId`). */
  uploadId: string;
  /** Where `data` goes in the file: the bytes the server holds. */
  offset?: number;
  /** At most 48 KiB. */
  data: Uint8Array;
  /** The whole file's size (at most 25 MiB), the same in every part. */
  totalSize: number;
}

export interface CreateEventRequest extends OperationOptions {
  calendarId: bigint;
  /** id and version are assigned by the server. */
  item: CalendarItemInput;
}

export interface UpdateEventRequest extends OperationOptions {
  calendarId: bigint;
  /** Its `id` names the event. */
  item: CalendarItemInput;
  /** The version the device edited; another current version is a conflict. */
  expectedVersion: bigint;
}

export interface DeleteEventRequest extends OperationOptions {
  calendarId: bigint;
  itemId: bigint;
  expectedVersion: bigint;
}

export interface RespondRequest extends OperationOptions {
  calendarId: bigint;
  itemId: bigint;
  status: ParticipationStatus;
  /** One instance of a series (absent: the whole series). */
  recurrenceId?: CalendarTime;
  /** A note to the organizer. */
  comment?: string;
}

export interface SearchRequest extends OperationOptions {
  query: string;
  /** Folders to search (absent: every folder the device may see). */
  collectionIds?: bigint[];
  /** Most hits wanted (absent: the server's default). */
  limit?: number;
}

export interface FreeBusyRequest extends OperationOptions {
  principalId: bigint;
  /** Seconds since the Unix epoch. */
  start: number;
  end: number;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A `ClientEvent` object.
    #[wasm_bindgen(typescript_type = "ClientEvent")]
    pub type ClientEventJs;
    /// An `Item` object.
    #[wasm_bindgen(typescript_type = "Item")]
    pub type ItemJs;
    /// `Item[]`.
    #[wasm_bindgen(typescript_type = "Item[]")]
    pub type ItemList;
    /// `Collection[]`.
    #[wasm_bindgen(typescript_type = "Collection[]")]
    pub type CollectionList;
    /// `bigint[]`.
    #[wasm_bindgen(typescript_type = "bigint[]")]
    pub type IdList;
    /// A `Policy` object.
    #[wasm_bindgen(typescript_type = "Policy")]
    pub type PolicyJs;
    /// An `Activation` object.
    #[wasm_bindgen(typescript_type = "Activation")]
    pub type ActivationJs;
    /// `Uint8Array[]`.
    #[wasm_bindgen(typescript_type = "Uint8Array[]")]
    pub type ByteList;
    /// `ErrorInfo[]`.
    #[wasm_bindgen(typescript_type = "ErrorInfo[]")]
    pub type ErrorTable;

    /// A `SetFlagsRequest`.
    #[wasm_bindgen(typescript_type = "SetFlagsRequest")]
    pub type SetFlagsRequest;
    /// A `MoveItemsRequest`.
    #[wasm_bindgen(typescript_type = "MoveItemsRequest")]
    pub type MoveItemsRequest;
    /// A `DeleteItemsRequest`.
    #[wasm_bindgen(typescript_type = "DeleteItemsRequest")]
    pub type DeleteItemsRequest;
    /// A `SendMailRequest`.
    #[wasm_bindgen(typescript_type = "SendMailRequest")]
    pub type SendMailRequest;
    /// A `ReplyRequest`.
    #[wasm_bindgen(typescript_type = "ReplyRequest")]
    pub type ReplyRequest;
    /// A `ForwardRequest`.
    #[wasm_bindgen(typescript_type = "ForwardRequest")]
    pub type ForwardRequest;
    /// A `FetchRangeRequest`.
    #[wasm_bindgen(typescript_type = "FetchRangeRequest")]
    pub type FetchRangeRequest;
    /// A `FetchItemRequest`.
    #[wasm_bindgen(typescript_type = "FetchItemRequest")]
    pub type FetchItemRequest;
    /// An `UploadPartRequest`.
    #[wasm_bindgen(typescript_type = "UploadPartRequest")]
    pub type UploadPartRequest;
    /// A `CreateEventRequest`.
    #[wasm_bindgen(typescript_type = "CreateEventRequest")]
    pub type CreateEventRequest;
    /// An `UpdateEventRequest`.
    #[wasm_bindgen(typescript_type = "UpdateEventRequest")]
    pub type UpdateEventRequest;
    /// A `DeleteEventRequest`.
    #[wasm_bindgen(typescript_type = "DeleteEventRequest")]
    pub type DeleteEventRequest;
    /// A `RespondRequest`.
    #[wasm_bindgen(typescript_type = "RespondRequest")]
    pub type RespondRequest;
    /// A `SearchRequest`.
    #[wasm_bindgen(typescript_type = "SearchRequest")]
    pub type SearchRequest;
    /// A `FreeBusyRequest`.
    #[wasm_bindgen(typescript_type = "FreeBusyRequest")]
    pub type FreeBusyRequest;
}
