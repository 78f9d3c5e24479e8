// Times a client's apply of one delta page in WebAssembly under Node: the
// page the native benchmark `client_apply_1000_mails/tidings_replica` applies
// (written by it), through the bench package (the shipped build's profile
// plus `BenchPage`). Prints one JSON line; `cargo xtask bench` runs it.
//
//   node bindings/wasm/bench/apply.mjs BENCH_PKG_DIR PAGE_FILE
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pkg, pageFile] = process.argv.slice(2);
if (!pkg || !pageFile) {
  console.error("usage: node apply.mjs BENCH_PKG_DIR PAGE_FILE");
  process.exit(2);
}
const tidings = await import(pathToFileURL(path.join(pkg, "node.js")).href);
const page = new tidings.BenchPage(readFileSync(pageFile));

// Warm up (the engine tiers up WebAssembly as it runs), then the median of
// 41 rounds of 5 applies each, as the native side takes a median.
let items = 0;
for (let i = 0; i < 20; i++) items = page.applyFresh();
const perApply = [];
for (let round = 0; round < 41; round++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < 5; i++) page.applyFresh();
  perApply.push(Number(process.hrtime.bigint() - start) / 5);
}
perApply.sort((a, b) => a - b);
page.free();
console.log(JSON.stringify({ items, median_ns: perApply[20], min_ns: perApply[0] }));
