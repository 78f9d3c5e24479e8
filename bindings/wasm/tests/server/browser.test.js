// The example page in headless Chromium (Debian's, driven by
// playwright-core), served by the reference server with the package at
// /pkg/: it enrolls with the chief's activation payload, shows the seeded
// inbox and both calendars (own and delegated), receives a pushed mail,
// flags it, accepts an invitation, and leaves a screenshot in target/wasm/.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { artifacts } from "../support.js";
import { available, freshMail, startServer } from "./reference.js";

const executablePath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
let server;
let browser;

before(async () => {
  if (!available || !executablePath) return;
  server = await startServer("browser");
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const skip = (!available && "no reference server") || (!executablePath && "no chromium");

test("the example page enrolls, syncs, and updates live", { skip, timeout: 120_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));

  await page.goto(server.info.http);
  await page.getByTestId("activation").fill(server.info.activations["chief@town.example"]);
  await page.getByTestId("enroll").click();

  // The seeded inbox and both calendars: the chief's own and the mayor's.
  const mail = page.getByTestId("mail");
  await mail.first().waitFor({ timeout: 30_000 });
  assert.ok((await mail.count()) > 0);
  const calendars = page.getByTestId("calendar");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="calendar"]').length >= 2, null, { timeout: 30_000 });
  assert.ok((await calendars.count()) >= 2);
  assert.equal(await page.locator('[data-testid="calendar"][data-delegated="true"]').count() > 0, true, "a delegated calendar");
  assert.equal(await page.locator('[data-testid="calendar"][data-delegated="false"]').count() > 0, true, "an own calendar");

  // A mail delivered now appears without a reload.
  const { subject, message } = freshMail("chief@town.example");
  server.deliver("chief@town.example", message);
  const pushed = page.locator('[data-testid="mail"]', { hasText: subject });
  await pushed.waitFor({ timeout: 30_000 });

  // Flag it: the answer comes back and the row shows the flag.
  await pushed.getByTestId("flag").click();
  await page.locator('[data-testid="mail"].flagged', { hasText: subject }).waitFor({ timeout: 30_000 });

  // Accept the invitation waiting in the mayor's calendar (the chief holds
  // it by delegation): the button goes, the attendee shows "accepted".
  const accept = page.getByTestId("accept");
  const waiting = await accept.count();
  assert.ok(waiting > 0, "the seeded town has an invitation to answer");
  const invitation = page.locator('[data-testid="event"]', { has: accept }).first();
  const id = await invitation.getAttribute("data-id");
  await invitation.getByTestId("accept").click();
  const answered = page.locator(`[data-testid="event"][data-id="${id}"]`);
  await answered.getByTestId("attendees").filter({ hasText: "accepted" }).waitFor({ timeout: 30_000 });
  assert.equal(await answered.getByTestId("accept").count(), 0);

  mkdirSync(artifacts, { recursive: true });
  const shot = path.join(artifacts, "web-example.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual(problems, []);
  await page.close();
});
