// The npm package as its users get it: packed with `npm pack`, installed
// from the tarball into a fresh project (tests/consumer/, copied to a
// temporary directory, its other packages from the npm registry through
// npm's cache), type-checked by strict TypeScript with the real ws package's
// types, bundled with esbuild (Node and browser) and Vite (browser), and
// each bundle run against the reference server: in Node, and in headless
// Chromium.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { pkgDir } from "../paths.js";
import { available, startServer } from "../server/reference.js";

const template = import.meta.dirname;
const executablePath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const skip = (!available && "no reference server") || (!executablePath && "no chromium");
let scratch;
let project;
let browser;

/** Runs a command in the project, echoing it; its output is returned. */
function run(command, args, options = {}) {
  console.log(`$ ${command} ${args.join(" ")}`);
  return execFileSync(command, args, { cwd: project, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], ...options });
}

before(async () => {
  if (skip) return;
  scratch = mkdtempSync(path.join(tmpdir(), "tidings-consumer-"));
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", scratch], { cwd: pkgDir }));
  const tarball = path.join(scratch, packed.filename);
  project = path.join(scratch, "app");
  mkdirSync(project);
  for (const entry of ["tsconfig.json", "vite.config.js", "index.html", "src", "web"]) {
    cpSync(path.join(template, entry), path.join(project, entry), { recursive: true });
  }
  const manifest = JSON.parse(readFileSync(path.join(template, "package.json"), "utf8"));
  manifest.dependencies = { tidings: `file:${tarball}` };
  writeFileSync(path.join(project, "package.json"), JSON.stringify(manifest, null, 2));
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"]);
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});
after(async () => {
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("the installed package has its licences and says it is ESM", { skip }, () => {
  const installed = path.join(project, "node_modules/tidings");
  for (const file of ["LICENSE-MIT", "LICENSE-APACHE", "README.md", "tidings_bg.wasm", "inline.js"]) {
    assert.ok(existsSync(path.join(installed, file)), file);
  }
  const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
  assert.equal(manifest.type, "module");
  assert.equal(manifest.license, "MIT OR Apache-2.0");
  assert.equal(manifest.repository, undefined, "no placeholder repository");
});

test("strict TypeScript accepts the program, ws's WebSocket and the browser's", { skip }, () => {
  run(path.join(project, "node_modules/.bin/tsc"), ["--project", "tsconfig.json"]);
});

test("esbuild bundles for Node and the browser, the module inlined", { skip }, () => {
  const esbuild = path.join(project, "node_modules/.bin/esbuild");
  run(esbuild, ["src/node.ts", "--bundle", "--platform=node", "--format=esm", "--external:ws", "--outfile=dist/node.mjs", "--log-level=warning"]);
  run(esbuild, ["src/web-esbuild.ts", "--bundle", "--format=esm", "--outfile=dist/esbuild/app.js", "--log-level=warning"]);
  cpSync(path.join(project, "web/esbuild/index.html"), path.join(project, "dist/esbuild/index.html"));
  assert.deepEqual(readdirSync(path.join(project, "dist/esbuild")).sort(), ["app.js", "index.html"]);
});

test("Vite builds the browser page and emits the .wasm", { skip }, () => {
  run(path.join(project, "node_modules/.bin/vite"), ["build"]);
  const assets = readdirSync(path.join(project, "dist/vite/assets"));
  assert.ok(assets.some((f) => f.endsWith(".wasm")), `a .wasm among ${assets}`);
});

/** The result line or data a bundle reports, checked. */
function checkSynced(synced) {
  assert.ok(synced.mails > 0, "the inbox synced");
  assert.ok(synced.calendars >= 2 && synced.delegated, "own and delegated calendars");
  assert.equal(synced.flagged, true, "the flag was answered");
  assert.ok(synced.newest.length > 0, "the flagged mail is in the replica");
}

test("the esbuild Node bundle syncs with the reference server over ws", { skip, timeout: 120_000 }, async () => {
  const server = await startServer("consumer-node", path.join(project, "dist"));
  try {
    const payload = server.info.activations["chief@town.example"];
    const out = run("node", ["dist/node.mjs", payload], { timeout: 60_000 });
    const line = out.split("\n").find((l) => l.startsWith("synced "));
    assert.ok(line, out);
    checkSynced(JSON.parse(line.slice("synced ".length)));
  } finally {
    await server.stop();
  }
});

for (const bundler of ["esbuild", "vite"]) {
  test(`the ${bundler} page syncs in Chromium`, { skip, timeout: 120_000 }, async () => {
    const server = await startServer(`consumer-${bundler}`, path.join(project, "dist"));
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
    try {
      const payload = server.info.activations["chief@town.example"];
      await page.goto(`${server.info.http}${bundler}/#${encodeURIComponent(payload)}`);
      await page.waitForSelector("body[data-result], body[data-error]", { state: "attached", timeout: 60_000 });
      const error = await page.evaluate(() => document.body.dataset.error);
      assert.equal(error, undefined);
      checkSynced(JSON.parse(await page.evaluate(() => document.body.dataset.result ?? "{}")));
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
      await server.stop();
    }
  });
}
