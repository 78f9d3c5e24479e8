// The reference server (crates/tidings-server) for the tests: `demo` seeds
// the town hall and serves TCP, WebSocket (/tidings) and the example page
// (with the package at /pkg/); `deliver` stores a mail that the running
// server pushes to connected devices.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { artifacts, pkgDir, root } from "../paths.js";

const bin = process.env.TIDINGS_SERVER_BIN;

/** Whether the server binary was handed to the tests (`cargo xtask test`). */
export const available = bin !== undefined;

/**
 * Starts `tidings-server demo` serving the web app in `web` (default: the
 * example page); resolves once its ready file is written.
 */
export async function startServer(name, web = path.join(root, "bindings/wasm/examples/web")) {
  if (!bin) throw new Error("TIDINGS_SERVER_BIN is not set");
  const dir = mkdtempSync(path.join(tmpdir(), "tidings-server-"));
  const db = path.join(dir, "demo.db");
  const ready = path.join(dir, "ready.json");
  mkdirSync(artifacts, { recursive: true });
  const log = createWriteStream(path.join(artifacts, `server-${name}.log`));
  const args = ["--db", db, "demo", "--tcp", "127.0.0.1:0", "--ws", "127.0.0.1:0", "--web", web, "--pkg", pkgDir, "--ready-file", ready];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  let info;
  for (let waited = 0; info === undefined; waited += 100) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}); see server-${name}.log`);
    if (waited > 120_000) throw new Error("the server did not get ready in 120 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      info = JSON.parse(readFileSync(ready, "utf8"));
    } catch {
      // Not written (completely) yet.
    }
  }
  return {
    info,
    /** Makes the server push `message` (RFC 5322 text) to `to`'s devices. */
    deliver(to, message) {
      const file = path.join(dir, `mail-${Date.now()}.eml`);
      writeFileSync(file, message);
      const run = spawnSync(bin, ["--db", db, "deliver", to, file], { encoding: "utf8" });
      if (run.status !== 0) throw new Error(`deliver failed: ${run.stderr}`);
    },
    /** Stops it gracefully (SIGTERM). */
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** A fresh mail for `to`, with a subject unique to this run. */
export function freshMail(to) {
  const subject = `Flood warning ${Date.now()}`;
  const message = [
    "From: Harbour Master <harbour@town.example>",
    `To: ${to}`,
    `Subject: ${subject}`,
    `Message-ID: <${Date.now()}@harbour.town.example>`,
    `Date: ${new Date().toUTCString().replace("GMT", "+0000")}`,
    "",
    "High water expected at 18:00. Please close the harbour gates.",
    "",
  ].join("\r\n");
  return { subject, message };
}
