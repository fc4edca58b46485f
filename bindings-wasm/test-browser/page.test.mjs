// The validator page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): bundled samples give the expected verdicts, a corrupt file shows an error.
// Screenshots go to bindings-wasm/test-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, extname, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const artifacts = join(pkgRoot, "test-artifacts");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
  ".json": "application/json", ".wasm": "application/wasm", ".bin": "application/octet-stream" };

let server, base, browser;

before(async () => {
  assert.ok(existsSync(join(pkgRoot, "pkg", "mycel_wasm_bg.wasm")), "run bindings-wasm/build.sh first");
  assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (apt-get install chromium)`);
  await mkdir(artifacts, { recursive: true });
  server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    try {
      const file = path.endsWith("/") ? path + "index.html" : path;
      const body = await readFile(join(pkgRoot, file));
      res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream" });
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

/** Opens the page with `query`, waits for the run to finish, returns the page. */
async function open(query, shot) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const logs = [];
  page.on("console", (m) => logs.push(m.text()));
  page.on("pageerror", (e) => logs.push(String(e)));
  await page.goto(`${base}/www/${query}`);
  try {
    await page.waitForSelector("body[data-done]", { timeout: 60000 });
  } catch (e) {
    throw new Error(`the page did not finish: ${await page.textContent("#message")} ${logs.join(" | ")}`);
  }
  await page.screenshot({ path: join(artifacts, shot), fullPage: true });
  return page;
}

async function rows(page) {
  return page.$$eval("#receipts tbody tr", (trs) => trs.map((tr) => ({
    verdict: tr.dataset.verdict, miner: tr.dataset.miner, cells: Array.from(tr.children, (td) => td.textContent),
  })));
}

test("inbox sample: honest receipts pass, the tampered one fails, the lazy miner is caught", async () => {
  const page = await open("?sample=samples/inbox.json", "validator-inbox.png");
  const inbox = JSON.parse(await readFile(join(pkgRoot, "www", "samples", "inbox.json"), "utf8"));
  const lazy = inbox.miners.filter((m) => m.label === "lazy").map((m) => m.hotkey);
  const r = await rows(page);
  assert.equal(r.length, 9);
  const rejected = r.filter((x) => x.verdict.startsWith("rejected"));
  assert.equal(rejected.length, 1, "one tampered receipt");
  assert.match(rejected[0].cells[3], /invalid \(signature\./);
  const caught = r.filter((x) => x.verdict.startsWith("caught"));
  assert.equal(caught.length, 3);
  assert.ok(caught.every((x) => lazy.includes(x.miner)), "only the lazy miner is caught");
  assert.equal(r.filter((x) => x.verdict === "pass").length, 5);
  const proofs = await page.$$eval(".proof", (ps) => ps.map((p) => p.dataset.holds));
  assert.deepEqual(proofs, ["true", "true", "true"]);
  const msg = await page.textContent("#message");
  assert.match(msg, /^Done in/);
  // Time to re-check one task in this browser (printed for the report).
  const times = r.flatMap((x) => /\((\d+) ms\)/.exec(x.cells[4])?.[1] ?? []).map(Number);
  console.log(`re-execution per task in Chromium: ${Math.min(...times)}-${Math.max(...times)} ms (${msg})`);
  await page.close();
});

test("mycel simulate sample: its batch verifies and its fraud proofs against the lazy miner hold", async () => {
  const page = await open("?sample=sim", "validator-simulate.png");
  const r = await rows(page);
  assert.ok(r.length > 0);
  assert.ok(r.every((x) => x.cells[3] === "valid"), "every simulate receipt has a valid signature");
  const proofs = await page.$$eval(".proof", (ps) => ps.map((p) => p.dataset.holds));
  assert.ok(proofs.length > 0);
  assert.ok(proofs.every((h) => h === "true"));
  await page.close();
});

test("a corrupt file shows an error message, not a blank page", async () => {
  const page = await open("?file=samples/corrupt.bin", "validator-corrupt.png");
  const msg = await page.textContent("#message");
  assert.match(msg, /^Error \[decode\./);
  assert.match(msg, /corrupt\.bin/);
  assert.ok((await page.textContent("h1")).includes("validator"));
  await page.close();
});
