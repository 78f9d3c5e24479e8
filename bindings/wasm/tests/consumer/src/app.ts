// What every bundle of this project does, given the package's module and a
// WebSocket class: enroll with an activation payload, wait for the initial
// sync, flag the newest mail and wait for the server's answer.
import type * as Tidings from "tidings";

export type Package = typeof Tidings;

export interface Synced {
  mails: number;
  calendars: number;
  delegated: boolean;
  newest: string;
  flagged: boolean;
}

export function syncOnce(
  tidings: Package,
  payload: string,
  WebSocket: Tidings.WebSocketConstructor | undefined,
): Promise<Synced> {
  const activation = tidings.parseActivation(payload);
  const url = activation.ws;
  if (url === undefined) return Promise.reject(new Error("the payload has no WebSocket endpoint"));
  const keys = tidings.Keypair.generate();
  const fresh = new tidings.ClientState(keys, activation.serverKey);
  const client = tidings.Client.enroll(fresh, activation.code, "consumer test", performance.now());
  keys.free();
  fresh.free();
  return new Promise((resolve, reject) => {
    let opId: string | undefined;
    const inbox = () =>
      client
        .collections()
        .find((c) => c.kind === tidings.CollectionKind.Mail && c.ownerId === client.principalId);
    const calendars = () => client.collections().filter((c) => c.kind === tidings.CollectionKind.Calendar);
    const timer = setTimeout(() => reject(new Error("no sync within 30 s")), 30_000);
    const connection = tidings.connect(client, url, {
      WebSocket,
      onEvent(event) {
        const folder = inbox();
        if (event.type === "closed" && event.error) reject(event.error);
        if (opId === undefined && folder !== undefined && folder.itemCount > 0 && calendars().length >= 2) {
          const mails = client.items(folder.id).filter((i) => i.kind === "mail");
          mails.sort((a, b) => (a.kind === "mail" && b.kind === "mail" ? b.headers.date - a.headers.date : 0));
          const newest = mails[0];
          if (newest === undefined || newest.kind !== "mail") return;
          opId = client.setFlags(performance.now(), {
            collectionId: folder.id,
            itemIds: [newest.id],
            set: tidings.MailFlag.Flagged,
          });
          connection.flush();
        }
        if (event.type === "operationResult" && event.opId === opId && folder !== undefined) {
          clearTimeout(timer);
          const mails = client.items(folder.id).filter((i) => i.kind === "mail");
          const newest = mails.find((m) => m.kind === "mail" && (m.flags & tidings.MailFlag.Flagged) !== 0);
          resolve({
            mails: mails.length,
            calendars: calendars().length,
            delegated: calendars().some((c) => c.ownerId !== client.principalId),
            newest: newest?.kind === "mail" ? newest.headers.subject : "",
            flagged: event.outcome.kind === "done",
          });
          connection.close();
        }
      },
    });
  });
}
