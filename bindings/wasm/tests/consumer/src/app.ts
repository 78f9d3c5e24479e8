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
    let flagging: { opId: string; itemId: bigint; subject: string } | undefined;
    let answered = false;
    const inbox = () =>
      client
        .collections()
        .find((c) => c.kind === tidings.CollectionKind.Mail && c.ownerId === client.principalId);
    const calendars = () => client.collections().filter((c) => c.kind === tidings.CollectionKind.Calendar);
    const mails = (folder: bigint) => client.items(folder).filter((i) => i.kind === "mail");
    const timer = setTimeout(() => reject(new Error("no sync within 30 s")), 30_000);
    const connection = tidings.connect(client, url, {
      WebSocket,
      onEvent(event) {
        const folder = inbox();
        if (event.type === "closed" && event.error) reject(event.error);
        if (folder === undefined) return;
        if (flagging === undefined && folder.itemCount > 0 && calendars().length >= 2) {
          // The newest mail, by its Date header.
          const [newest] = mails(folder.id).sort((a, b) =>
            a.kind === "mail" && b.kind === "mail" ? b.headers.date - a.headers.date : 0,
          );
          if (newest === undefined || newest.kind !== "mail") return;
          const opId = client.setFlags(performance.now(), {
            collectionId: folder.id,
            itemIds: [newest.id],
            set: tidings.MailFlag.Flagged,
          });
          flagging = { opId, itemId: newest.id, subject: newest.headers.subject };
          connection.flush();
        }
        if (event.type === "operationResult" && event.opId === flagging?.opId) {
          answered = event.outcome.kind === "done";
          if (!answered) reject(new Error(`the flag was refused: ${event.outcome.kind}`));
        }
        // The answer comes first; the flag itself arrives as a change.
        const flagged = mails(folder.id).find((m) => m.id === flagging?.itemId && (m.flags & tidings.MailFlag.Flagged) !== 0);
        if (answered && flagged !== undefined && flagging !== undefined) {
          clearTimeout(timer);
          resolve({
            mails: mails(folder.id).length,
            calendars: calendars().length,
            delegated: calendars().some((c) => c.ownerId !== client.principalId),
            newest: flagging.subject,
            flagged: true,
          });
          connection.close();
        }
      },
    });
  });
}
