// Node.js 20 (no global WebSocket): the ws package's class, passed in.
// Bundled with esbuild, so the module comes inlined (`tidings/inline`).
import { WebSocket } from "ws";
import * as tidings from "tidings/inline";
import { syncOnce } from "./app.js";

const payload = process.argv[2];
if (payload === undefined) throw new Error("usage: node node.mjs PAYLOAD");
const synced = await syncOnce(tidings, payload, WebSocket);
console.log(`synced ${JSON.stringify(synced)}`);
