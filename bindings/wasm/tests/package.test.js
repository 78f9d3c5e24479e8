// The shipped npm package: its size budget, its exports map and files, its
// types (no `any`), and that the test-only server is not in it.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { pkgDir, shipped } from "./paths.js";

const budget = Number(process.env.TIDINGS_GZIP_BUDGET ?? 150 * 1024);
const manifest = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));

test(`the .wasm, gzipped, is within the budget of ${budget} bytes`, () => {
  const wasm = readFileSync(path.join(pkgDir, "tidings_bg.wasm"));
  const gzipped = gzipSync(wasm, { level: 9 }).length;
  const glue = statSync(path.join(pkgDir, "tidings.js")).size;
  const glueGz = gzipSync(readFileSync(path.join(pkgDir, "tidings.js")), { level: 9 }).length;
  console.log(`tidings_bg.wasm: ${wasm.length} bytes, ${gzipped} gzipped; tidings.js glue: ${glue} bytes, ${glueGz} gzipped`);
  assert.ok(gzipped <= budget, `${gzipped} > ${budget}`);
});

test("package.json: name, version, an exports map for Node, browsers and bundlers", () => {
  assert.equal(manifest.name, "tidings");
  assert.equal(manifest.type, "module");
  const main = manifest.exports["."];
  assert.deepEqual(Object.keys(main), ["types", "browser", "node", "default"]);
  assert.equal(main.node, "./node.js");
  assert.equal(main.browser, "./web.js");
  assert.equal(main.default, "./web.js");
  for (const file of manifest.files) statSync(path.join(pkgDir, file));
  const shippedFiles = readdirSync(pkgDir).filter((f) => f !== "package.json").sort();
  assert.deepEqual(shippedFiles, [...manifest.files].sort(), "every file is listed, nothing else is there");
});

test("the types say no `any`, and the classes have free and Symbol.dispose", () => {
  for (const file of manifest.files.filter((f) => f.endsWith(".d.ts"))) {
    const text = readFileSync(path.join(pkgDir, file), "utf8");
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    assert.doesNotMatch(code, /\bany\b/, file);
  }
  const dts = readFileSync(path.join(pkgDir, "tidings.d.ts"), "utf8");
  for (const cls of ["Client", "ClientState", "Keypair"]) {
    const body = dts.slice(dts.indexOf(`export class ${cls} `));
    assert.match(body, /free\(\): void;\s+\[Symbol\.dispose\]\(\): void;/, cls);
  }
  assert.match(readFileSync(path.join(pkgDir, "tidings.js"), "utf8"), /new FinalizationRegistry/);
});

test("the Node entry point is ready on import and has no test support", async () => {
  const pkg = await shipped();
  for (const name of ["Client", "ClientState", "Keypair", "TidingsError", "connect", "parseActivation", "errorTable", "MailFlag"]) {
    assert.ok(name in pkg, name);
  }
  assert.equal(pkg.TestServer, undefined);
  assert.equal(pkg.testDecodeFrames, undefined);
  assert.equal(pkg.version(), manifest.version);
  const keys = pkg.Keypair.generate();
  assert.equal(keys.publicKey.length, 32);
  keys.free();
  assert.throws(() => pkg.connect(undefined, "ws://127.0.0.1:9/", { WebSocket: 42 }), TypeError);
});

test("the inline entry carries the module itself and is ready on import", async () => {
  assert.deepEqual(manifest.exports["./inline"], { types: "./index.d.ts", default: "./inline.js" });
  const inline = readFileSync(path.join(pkgDir, "inline.js"), "utf8");
  assert.doesNotMatch(inline, /tidings_bg\.wasm/, "no file to fetch");
  const pkg = await import(pathToFileURL(path.join(pkgDir, "inline.js")).href);
  assert.equal(pkg.version(), manifest.version);
  const keys = pkg.Keypair.generate();
  assert.equal(keys.publicKey.length, 32);
  keys.free();
});

test("the package carries both licence texts and no placeholder repository", () => {
  assert.equal(manifest.license, "MIT OR Apache-2.0");
  assert.equal(manifest.repository, undefined);
  assert.match(readFileSync(path.join(pkgDir, "LICENSE-MIT"), "utf8"), /^MIT License/);
  assert.match(readFileSync(path.join(pkgDir, "LICENSE-APACHE"), "utf8"), /Apache License\s+Version 2\.0/);
  assert.doesNotMatch(readFileSync(path.join(pkgDir, "README.md"), "utf8"), /example\.invalid/);
});
