// The example page in headless Chromium (Debian's, driven by
// playwright-core), served by the reference server with the package at
// /pkg/: it enrolls with the chief's activation payload, shows the seeded
// inbox (newest first, dates in the reader's zone) and both calendars (own
// and delegated), receives a pushed mail, flags it, accepts an invitation;
// a reused activation code's error shows in the enrollment form; and at
// phone width (390 px) the columns stack with nothing wider than the
// screen. Screenshots at 1280 and 390 px are left in target/wasm/.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { artifacts } from "../paths.js";
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
  // A reader in New York, whose times differ from the sender's and London's.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "America/New_York", locale: "en-GB" });
  const page = await context.newPage();
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

  // Mail newest first: the pushed mail heads the inbox; every date is a
  // <time> in the reader's zone, in descending order.
  const firstRow = page.locator('[data-testid="folder"]').first().getByTestId("mail").first();
  assert.match(await firstRow.innerText(), new RegExp(subject));
  const dates = await page.locator('[data-testid="folder"]').first().locator('[data-testid="date"]').evaluateAll((els) => els.map((e) => e.getAttribute("datetime")));
  assert.ok(dates.length >= 2, "mail shows dates");
  assert.deepEqual([...dates].sort().reverse(), dates, "newest first");
  // The Harbour board meets at 09:00 London time, 3 Dec 2026: 04:00 in New York.
  const board = page.locator('[data-testid="event"]', { hasText: "Harbour board" }).first();
  const when = board.getByTestId("when");
  assert.equal(await when.getAttribute("datetime"), "2026-12-03T09:00:00.000Z");
  assert.match(await when.innerText(), /3 Dec 2026.*04:00/);

  mkdirSync(artifacts, { recursive: true });
  const shot = path.join(artifacts, "web-example-1280.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  const wide = await columns(page);
  assert.ok(wide.calendars.top < wide.mail.bottom, "side by side at 1280 px");

  // A phone: one column, the calendars below the mail, nothing cut off.
  await page.setViewportSize({ width: 390, height: 844 });
  const narrow = await columns(page);
  assert.ok(narrow.scrollWidth <= 390, `no horizontal overflow at 390 px (${narrow.scrollWidth})`);
  assert.ok(narrow.calendars.top >= narrow.mail.bottom, "stacked at 390 px");
  assert.ok(narrow.calendars.right <= 390 && narrow.mail.right <= 390, "within the screen");
  assert.ok(narrow.widest <= 390, `no element wider than the screen (${narrow.widest})`);
  const phone = path.join(artifacts, "web-example-390.png");
  await page.screenshot({ path: phone, fullPage: true });
  console.log(`screenshot: ${phone}`);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a reused activation code is refused in the enrollment form", { skip, timeout: 120_000 }, async () => {
  const payload = server.info.activations["chief@town.example"]; // used by the test above
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(server.info.http);
  await page.getByTestId("activation").fill(payload);
  await page.getByTestId("enroll").click();
  const error = page.getByTestId("enroll-error");
  await error.filter({ hasText: "refused" }).waitFor({ timeout: 30_000 });
  assert.ok(await error.isVisible(), "the error is in the form, where the user looks");
  assert.match(await error.innerText(), /already used/);
  const shot = path.join(artifacts, "web-example-refused-390.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  await page.close();
});

/** Where the two columns are, and how wide the page and its widest element are. */
function columns(page) {
  return page.evaluate(() => {
    const box = (selector) => {
      const r = document.querySelector(selector).closest("section").getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, right: r.right };
    };
    const widest = Math.max(...[...document.querySelectorAll("body *")].map((e) => e.getBoundingClientRect().right));
    return { mail: box("#mail"), calendars: box("#calendars"), scrollWidth: document.documentElement.scrollWidth, widest };
  });
}
