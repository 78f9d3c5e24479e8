// Compile-only: a program written against the package's types, under
// `strict`. `tsc` fails if a type is missing, loose, or wrong; the
// `@ts-expect-error` lines fail if a type is looser than it should be.
import {
  AbridgedReason,
  Client,
  ClientState,
  Keypair,
  MailFlag,
  ParticipationStatus,
  TidingsError,
  connect,
  errorTable,
  parseActivation,
  type ClientEvent,
  type Connection,
  type Item,
  type Outcome,
  type WebSocketConstructor,
} from "tidings";
import * as everything from "tidings";

const activation = parseActivation("tidings:enroll?...");
const serverKey: Uint8Array = activation.serverKey;
const ws: string | undefined = activation.ws;

using keys = Keypair.generate();
using fresh = new ClientState(keys, serverKey);
const client: Client = Client.enroll(fresh, activation.code, "browser", performance.now());

function show(item: Item): string {
  switch (item.kind) {
    case "mail":
      return `${item.headers.subject} ${item.flags & MailFlag.Flagged ? "flagged" : ""} ${item.size}`;
    case "calendar":
      return `${item.master?.summary ?? ""} v${item.version.toString()} ${item.floatingTzid}`;
  }
}

// An abridged event is completed before it is edited.
function edit(item: Item, location: string): void {
  if (item.kind !== "calendar") return;
  if (item.abridged?.reason === AbridgedReason.TooLarge) {
    const size: number = item.abridged.packedSize;
    client.fetchItem(performance.now(), { collectionId: item.calendarId, itemId: item.id, length: size });
    return;
  }
  const master = { ...item.master, location };
  client.updateEvent(performance.now(), { calendarId: item.calendarId, item: { ...item, master }, expectedVersion: item.version });
}
const whole: Uint8Array = new Uint8Array(0);
client.completeItem(1n, 2n, whole);

function outcome(o: Outcome): string {
  switch (o.kind) {
    case "done":
      return `item ${o.itemId} at ${o.version}`;
    case "error":
      return `${o.error.code} ${o.error.message}`;
    case "conflict":
      return `now ${o.currentVersion}: ${o.current ? show(o.current) : "deleted"}`;
    case "range":
      return `${o.data.byteLength} of ${o.totalSize} from ${o.offset}`;
    case "search":
      return o.hits.map((h) => `${h.collectionId}/${h.itemId}`).join(",");
    case "freeBusy":
      return `${o.periods.map((p) => `${p.start}-${p.end}`).join(",")} (${o.skippedCount} left out: ${o.skipped.map((s) => `${s.uid} ${s.code}`).join(",")})`;
    case "unknown":
      return "?";
  }
}

function onEvent(event: ClientEvent, connection: Connection): void {
  switch (event.type) {
    case "enrolled":
    case "changed":
      localStorage.setItem("state", String(client.save().length));
      break;
    case "connected":
      for (const c of event.collections) console.log(c.name, c.ownerName, c.id === client.principalId);
      break;
    case "operationResult":
      console.log(event.opId, outcome(event.outcome));
      break;
    case "caughtUp": {
      const modseq: bigint = event.modseq;
      if (client.caughtUp) console.log("synced", event.collectionId, modseq);
      break;
    }
    case "collectionsChanged":
      for (const c of event.collections) console.log(c.name);
      break;
    case "wipeRequested":
      client.acknowledgeWipe(performance.now(), event.wipeId);
      connection.flush();
      break;
    case "closed":
      if (event.error instanceof TidingsError) console.log(event.error.code);
      break;
    default:
      break;
  }
}

// The browser's WebSocket class is a WebSocketConstructor under `strict`
// (the ws package's is checked by tests/consumer/ with @types/ws).
const browsers: WebSocketConstructor = WebSocket;

if (ws !== undefined) {
  const connection = connect(client, ws, { onEvent, WebSocket: browsers });
  for (const collection of client.collections()) {
    const items: Item[] = client.items(collection.id);
    console.log(collection.itemCount, items.map(show));
    for (const item of items) edit(item, "Harbour office");
  }
  const [first] = client.itemIds(1n);
  if (first !== undefined) {
    const opId: string = client.setFlags(performance.now(), { collectionId: 1n, itemIds: [first], set: MailFlag.Flagged });
    client.respond(performance.now(), { calendarId: 2n, itemId: 3n, status: ParticipationStatus.Accepted, opId });
    connection.flush();
  }
  void connection.closed.then((closed) => console.log(closed.code, closed.sessionEnded));
}

const bytes: Uint8Array | undefined = client.pollTransmit();
const deadline: number | undefined = client.pollTimeout();
const next: ClientEvent | undefined = client.pollEvent();
const table: { code: number; name: string; description: string }[] = errorTable();
console.log(bytes, deadline, next, table);

// @ts-expect-error: ids are bigints
client.itemIds(1);
// @ts-expect-error: an event must be narrowed before its fields are read
console.log(next?.collectionId);
// @ts-expect-error: requests are typed
client.setFlags(0, { collectionId: 1n });
// @ts-expect-error: no test support in the package
console.log(everything.TestServer);
client.free();
