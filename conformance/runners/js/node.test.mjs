// The Node runner of the mycel conformance suite: every vector file answered by the WASM
// package (bindings-wasm/pkg-node), one closing line per file. Run from the repository root:
//   node --test conformance/runners/js/node.test.mjs
// MYCEL_CONFORMANCE_LONG=1 also runs the cases flagged Long.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { AREAS, makeHandler, runFile } from "./dispatch.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const mycel = createRequire(import.meta.url)(join(root, "bindings-wasm", "pkg-node"));
const handle = makeHandler(mycel);
const long = process.env.MYCEL_CONFORMANCE_LONG === "1";

for (const area of AREAS) {
  test(`${area}.json`, () => {
    const doc = JSON.parse(readFileSync(join(root, "conformance", "vectors", `${area}.json`), "utf8"));
    const r = runFile(doc, handle, { long });
    console.log(r.line);
    for (const f of r.failed) console.log(`  FAIL ${area}.json tcId ${f.tcId}: ${f.reason}`);
    assert.equal(r.failed.length, 0, `failing tcIds in ${area}.json: ${r.failed.map((f) => f.tcId).join(", ")}`);
  });
}
