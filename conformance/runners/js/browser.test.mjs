// The browser runner of the mycel conformance suite: index.html (the same dispatcher as the
// Node runner, over the web build bindings-wasm/pkg) in headless Chromium (Debian's
// /usr/bin/chromium through playwright-core), one closing line per file. From the repository
// root, after bindings-wasm/build.sh and `npm ci` in bindings-wasm/:
//   node --test conformance/runners/js/browser.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join, extname, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const { chromium } = createRequire(join(root, "bindings-wasm", "package.json"))("playwright-core");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript",
  ".json": "application/json", ".wasm": "application/wasm" };
// Only these folders are served.
const served = ["/conformance/", "/bindings-wasm/pkg/"];

let server, base, browser;

before(async () => {
  assert.ok(existsSync(join(root, "bindings-wasm", "pkg", "mycel_wasm_bg.wasm")), "run bindings-wasm/build.sh first");
  assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (apt-get install chromium)`);
  server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (!served.some((p) => path.startsWith(p))) return res.writeHead(404).end("not found");
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { "content-type": types[extname(path)] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await new Promise((ok) => (server ? server.close(ok) : ok()));
});

test("every vector file passes in headless Chromium", async () => {
  const page = await browser.newPage();
  const logs = [];
  page.on("pageerror", (e) => logs.push(String(e)));
  const long = process.env.MYCEL_CONFORMANCE_LONG === "1" ? "?long=1" : "";
  await page.goto(`${base}/conformance/runners/js/index.html${long}`);
  await page.waitForSelector("body[data-done]", { timeout: 180000 });
  const error = await page.evaluate(() => document.body.dataset.error);
  assert.equal(error, undefined, `${error} ${logs.join(" | ")}`);
  const reports = JSON.parse(await page.evaluate(() => document.body.dataset.reports));
  for (const r of reports) console.log(`${r.area}.json: ${r.passed} passed, ${r.failed.length} failed`);
  assert.equal(reports.length, 11);
  const failing = reports.filter((r) => r.failed.length);
  assert.deepEqual(failing, [], (await page.textContent("#out")));
});
