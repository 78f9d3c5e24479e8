// The Tidings web example: plain JS, no bundler. It imports the npm package
// from /pkg/ (the reference server serves bindings/wasm/pkg/ there), enrolls
// with an activation payload, shows the mail folders (newest first) and the
// calendars (own and delegated; soonest first), all times in the reader's
// zone, updates live on push, flags messages and accepts invitations. The
// state (with the device's key) is kept in localStorage so a reload resumes
// without a resync. Errors are shown where the user is looking: in the
// enrollment form while enrolling, above the lists after.
import {
  Client,
  ClientState,
  CollectionKind,
  Keypair,
  MailFlag,
  ParticipationStatus,
  connect,
  parseActivation,
} from "/pkg/web.js";
import { eventTime, mailDate } from "./time.js";

/** @typedef {import("/pkg/web.js").ClientEvent} ClientEvent */
/** @typedef {import("/pkg/web.js").Connection} Connection */
/** @typedef {import("/pkg/web.js").MailItem} MailItem */
/** @typedef {import("/pkg/web.js").CalendarItem} CalendarItem */
/** @typedef {import("/pkg/web.js").Collection} Collection */

const STATE_KEY = "tidings.state";
const URL_KEY = "tidings.ws";

/** @type {Client | undefined} */
let client;
/** @type {Connection | undefined} */
let connection;
let retryMs = 1000;

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`no #${id}`);
  return element;
};

/**
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {(Node | string)[]} [children]
 */
function h(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** @param {string} text */
const setStatus = (text) => {
  $("status").textContent = text;
};

/** @param {Uint8Array} bytes */
const toBase64 = (bytes) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
/** @param {string} text */
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

function save() {
  if (client) localStorage.setItem(STATE_KEY, toBase64(client.save()));
}

/**
 * A `<time>` element, or an empty span when there is no time.
 * @param {import("./time.js").Shown | undefined} shown
 * @param {string} testid
 */
function timeElement(shown, testid) {
  if (!shown) return h("span", { class: "meta" });
  return h("time", { class: "meta", datetime: shown.iso, "data-testid": testid }, [shown.text]);
}

/**
 * What a closed session's or a refused operation's error means to a user.
 * @param {{ code: number, message: string }} error
 */
function explain(error) {
  switch (error.code) {
    case 601:
      return "This activation code was refused: it is wrong, has expired, or was already used. Ask your administrator for a new one.";
    case 602:
      return "Too many wrong attempts: this activation code is now blocked. Ask your administrator for a new one.";
    case 603:
      return "This device was revoked by an administrator.";
    default:
      return `${error.message} (error ${error.code})`;
  }
}

/**
 * Shows an error where the user is looking: in the enrollment form while it
 * is on screen, else above the mail and calendars.
 * @param {string} text
 */
function showError(text) {
  const target = $("enroll").hidden ? $("app-error") : $("enroll-error");
  target.textContent = text;
  target.hidden = false;
}

function clearErrors() {
  $("enroll-error").textContent = "";
  $("app-error").textContent = "";
  $("app-error").hidden = true;
}

/**
 * @param {bigint} collectionId
 * @param {MailItem} mail
 */
function mailRow(collectionId, mail) {
  const flagged = (mail.flags & MailFlag.Flagged) !== 0;
  const from = mail.headers.from[0];
  const button = h("button", { type: "button", "data-testid": "flag" }, [flagged ? "Unflag" : "Flag"]);
  button.addEventListener("click", () => {
    if (!client) return;
    const change = flagged ? { clear: MailFlag.Flagged } : { set: MailFlag.Flagged };
    client.setFlags(performance.now(), { collectionId, itemIds: [mail.id], ...change });
    connection?.flush();
    save();
    setStatus("flag sent…");
  });
  return h("li", { "data-testid": "mail", "data-id": String(mail.id), class: flagged ? "flagged" : "" }, [
    h("span", { class: "subject", "data-testid": "subject" }, [mail.headers.subject || "(no subject)"]),
    button,
    h("span", { class: "meta" }, [from ? from.name || from.email : ""]),
    timeElement(mailDate(mail.headers.date), "date"),
    h("span", { class: "preview" }, [mail.preview.slice(0, 140)]),
  ]);
}

/**
 * @param {bigint} calendarId
 * @param {CalendarItem} event
 */
function eventRow(calendarId, event) {
  const master = event.master;
  const attendees = master?.attendees ?? [];
  const waiting = attendees.some((a) => a.status === ParticipationStatus.NeedsAction);
  const names = ["", "needs action", "accepted", "declined", "tentative", "delegated"];
  const children = [
    h("span", { class: "subject", "data-testid": "summary" }, [master?.summary || "(no title)"]),
  ];
  if (waiting) {
    const accept = h("button", { type: "button", "data-testid": "accept" }, ["Accept"]);
    accept.addEventListener("click", () => {
      if (!client) return;
      client.respond(performance.now(), { calendarId, itemId: event.id, status: ParticipationStatus.Accepted });
      connection?.flush();
      save();
      setStatus("answer sent…");
    });
    children.push(accept);
  }
  children.push(
    timeElement(eventTime(master?.start), "when"),
    h("span", { class: "meta" }, [master?.location ?? ""]),
    h("span", { class: "attendee", "data-testid": "attendees" }, [
      attendees.map((a) => `${a.address?.email ?? "?"}: ${names[a.status] ?? "?"}`).join(", "),
    ]),
  );
  return h("li", { "data-testid": "event", "data-id": String(event.id) }, children);
}

/**
 * Mail newest first; events soonest first (undated ones last).
 * @param {(MailItem | CalendarItem)[]} items
 */
function sorted(items) {
  /** @param {MailItem | CalendarItem} item */
  const key = (item) =>
    item.kind === "mail" ? -(mailDate(item.headers.date)?.ms ?? 0) : eventTime(item.master?.start)?.ms ?? Infinity;
  return items
    .map((item) => ({ item, key: key(item) }))
    .sort((a, b) => a.key - b.key || (a.item.id < b.item.id ? 1 : -1))
    .map((entry) => entry.item);
}

/**
 * @param {Client | ClientState} source
 * @param {Collection} collection
 */
function collectionBlock(source, collection) {
  const principal = source.principalId;
  const delegated = collection.ownerId !== principal;
  const title = h("h3", {}, [
    collection.name,
    " ",
    h("small", {}, [delegated ? `${collection.ownerName} (delegated to you)` : collection.ownerName]),
  ]);
  const list = h("ul");
  for (const item of sorted(source.items(collection.id))) {
    if (item.kind === "mail") list.append(mailRow(collection.id, item));
    else list.append(eventRow(collection.id, item));
  }
  if (!list.children.length) list.append(h("li", { class: "empty" }, ["nothing here"]));
  const testid = collection.kind === CollectionKind.Mail ? "folder" : "calendar";
  return h("div", { "data-testid": testid, "data-delegated": String(delegated) }, [title, list]);
}

/** @param {Client | ClientState} source */
function render(source) {
  $("enroll").hidden = true;
  $("app").hidden = false;
  $("forget").hidden = false;
  const mail = $("mail");
  const calendars = $("calendars");
  mail.replaceChildren();
  calendars.replaceChildren();
  for (const collection of source.collections()) {
    const block = collectionBlock(source, collection);
    (collection.kind === CollectionKind.Mail ? mail : calendars).append(block);
  }
}

/** @param {ClientEvent} event */
function onEvent(event) {
  switch (event.type) {
    case "enrolled":
      save();
      setStatus("enrolled");
      break;
    case "connected":
      retryMs = 1000;
      clearErrors();
      setStatus("connected · syncing…");
      if (client) render(client);
      break;
    case "caughtUp":
      // The server says when each collection's initial sync is done.
      if (client?.caughtUp) setStatus("up to date");
      break;
    case "collectionsChanged":
      save();
      if (client) render(client);
      break;
    case "changed":
    case "resync":
      save();
      if (client) render(client);
      break;
    case "operationResult":
      save();
      if (event.outcome.kind === "error") showError(`The server refused: ${explain(event.outcome.error)}`);
      else if (event.outcome.kind === "conflict") showError("Someone changed this meanwhile; the current version is shown.");
      setStatus(event.outcome.kind === "done" ? "up to date · saved" : `connected · ${event.outcome.kind}`);
      if (client) render(client);
      break;
    case "wipeRequested":
      client?.acknowledgeWipe(performance.now(), event.wipeId);
      connection?.flush();
      forget();
      break;
    case "revoked":
      forget();
      setStatus("this device was revoked");
      break;
    case "closed":
      setStatus(event.error ? `closed (error ${event.error.code})` : "closed");
      if (event.error) showError(explain(event.error));
      break;
    default:
      break;
  }
}

/**
 * Reconnects from `state`: the hello counter has advanced, so it is stored
 * before anything is sent (a crash or a lost answer never repeats it).
 * @param {ClientState} state
 * @returns {Client}
 */
function resume(state) {
  const next = Client.resume(state, performance.now());
  localStorage.setItem(STATE_KEY, toBase64(next.save()));
  next.confirmStateSaved();
  return next;
}

/**
 * @param {Client} next
 * @param {string} url
 */
function run(next, url) {
  client = next;
  connection = connect(next, url, { onEvent });
  connection.closed.then(() => {
    // A dropped connection, or a session the server ended: resume from the
    // saved state unless the device was forgotten or never enrolled.
    if (client !== next || !localStorage.getItem(STATE_KEY)) return;
    setStatus(`offline — reconnecting in ${retryMs / 1000} s`);
    setTimeout(() => {
      if (client !== next) return;
      const state = next.state();
      next.free();
      try {
        run(resume(state), url);
      } finally {
        state.free();
      }
    }, retryMs);
    retryMs = Math.min(retryMs * 2, 30_000);
  });
}

function forget() {
  localStorage.removeItem(STATE_KEY);
  localStorage.removeItem(URL_KEY);
  const old = client;
  client = undefined;
  connection?.close();
  connection = undefined;
  old?.free();
  $("app").hidden = true;
  $("forget").hidden = true;
  $("enroll").hidden = false;
}

function enroll() {
  clearErrors();
  try {
    const activation = parseActivation(/** @type {HTMLTextAreaElement} */ ($("activation")).value);
    if (!activation.ws) throw new Error("this payload offers no WebSocket endpoint");
    const name = /** @type {HTMLInputElement} */ ($("device-name")).value || "Web browser";
    const keys = Keypair.generate();
    const fresh = new ClientState(keys, activation.serverKey);
    const next = Client.enroll(fresh, activation.code, name, performance.now());
    keys.free();
    fresh.free();
    localStorage.setItem(URL_KEY, activation.ws);
    setStatus("enrolling…");
    run(next, activation.ws);
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
  }
}

function start() {
  $("enroll-button").addEventListener("click", enroll);
  $("forget").addEventListener("click", forget);
  const saved = localStorage.getItem(STATE_KEY);
  const url = localStorage.getItem(URL_KEY);
  if (!saved || !url) {
    $("enroll").hidden = false;
    setStatus("not enrolled");
    return;
  }
  // Show what the device holds at once, then reconnect.
  const state = ClientState.restore(fromBase64(saved));
  render(state);
  setStatus("reconnecting…");
  try {
    run(resume(state), url);
  } finally {
    state.free();
  }
}

start();
