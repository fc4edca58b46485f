// The page: hands files to the worker and renders what it reports. All validation work runs in
// worker.js, so the page stays responsive while tasks re-execute.
const $ = (s) => document.querySelector(s);
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let started = 0;

function setMessage(text, error = false) {
  const m = $("#message");
  m.textContent = text;
  m.classList.toggle("error", error);
}

function reset() {
  $("#receipts tbody").replaceChildren();
  $("#receipts").hidden = true;
  $("#summary").replaceChildren();
  $("#fraud").replaceChildren();
  $("#progress").value = 0;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function stat(label, value, cls) {
  const d = document.createElement("div");
  d.className = `stat ${cls || ""}`;
  const b = document.createElement("b");
  b.textContent = value;
  d.append(b, label);
  return d;
}

worker.onmessage = ({ data: m }) => {
  switch (m.type) {
    case "ready":
      document.body.dataset.ready = "1";
      setMessage(`Ready: mycel-wasm ${m.version}, matmul on ${m.kernel}. Pick files or a sample.`);
      break;
    case "progress":
      $("#progress").max = m.total;
      $("#progress").value = m.done;
      setMessage(`Checked ${m.done} of ${m.total}…`);
      break;
    case "receipt": {
      const r = m.row;
      const tr = document.createElement("tr");
      tr.dataset.verdict = r.verdict;
      tr.dataset.miner = r.miner;
      if (!r.signatureOk || r.verdict.startsWith("caught")) tr.className = "bad";
      const who = r.label ? `${r.label} ${r.miner.slice(0, 8)}` : r.miner.slice(0, 12);
      tr.append(
        cell(String(r.index)), cell(who), cell(r.task.slice(0, 12)),
        cell(r.signature, r.signatureOk ? "pass" : "fail"),
        cell(r.execution, r.execution.startsWith("match") ? "pass" : r.execution.startsWith("m") || r.execution.startsWith("refused") ? "fail" : "skip"),
        cell(r.verdict, r.verdict === "pass" ? "pass" : r.verdict === "unchecked" ? "skip" : "fail"),
      );
      $("#receipts tbody").append(tr);
      $("#receipts").hidden = false;
      break;
    }
    case "fraud": {
      const d = document.createElement("div");
      d.className = "proof";
      d.dataset.holds = String(m.check.holds);
      const h = document.createElement("div");
      h.innerHTML = `<b></b> <span></span>`;
      h.querySelector("b").textContent = `${m.made ? "Fraud proof made" : "Fraud proof"} (${m.name}):`;
      h.querySelector("span").textContent = m.check.holds ? "holds: re-execution gives another commitment than the miner signed (checked like mycel fraud verify)." : `does not hold: ${m.check.reason} (${m.check.code})`;
      h.querySelector("span").className = m.check.holds ? "fail" : "pass";
      const a = document.createElement("a");
      a.textContent = "download";
      a.download = "fraud-proof.json";
      a.href = URL.createObjectURL(new Blob([JSON.stringify(m.proof, null, 2)], { type: "application/json" }));
      h.append(" ", a);
      d.append(h);
      $("#fraud").append(d);
      break;
    }
    case "error":
      setMessage(`Error${m.code ? ` [${m.code}]` : ""}: ${m.message}`, true);
      document.body.dataset.error = m.code || "error";
      break;
    case "done": {
      const s = m.stats;
      if (s) {
        $("#summary").append(
          stat("receipts", s.receipts), stat("bad signatures", s.signatureFailed, s.signatureFailed ? "fail" : ""),
          stat("re-executed", s.sampled), stat("match", s.match, "pass"),
          stat("mismatch", s.mismatch, s.mismatch ? "fail" : ""), stat("unchecked", s.unchecked),
          stat("fraud proofs held", s.proofsHeld), stat("time", `${(m.ms / 1000).toFixed(2)} s`),
        );
      }
      if (!m.errors) setMessage(`Done in ${(m.ms / 1000).toFixed(2)} s (${((performance.now() - started) / 1000).toFixed(2)} s wall).`);
      document.body.dataset.done = String(Number(document.body.dataset.done || 0) + 1);
      break;
    }
  }
};
worker.onerror = (e) => setMessage(`The worker failed: ${e.message}`, true);

async function run(files) {
  reset();
  delete document.body.dataset.error;
  started = performance.now();
  setMessage(`Checking ${files.length} file(s)…`);
  const rate = Math.min(1, Math.max(0, Number($("#rate").value) || 0));
  worker.postMessage({ files, rate }, files.map((f) => f.bytes));
}

async function fromInputs(list) {
  return Promise.all(Array.from(list, async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
}

async function fetchFile(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return { name: path.split("/").pop(), bytes: await r.arrayBuffer() };
}

$("#files").addEventListener("change", async (e) => run(await fromInputs(e.target.files)));
const drop = $("#drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", async (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  run(await fromInputs(e.dataTransfer.files));
});
document.querySelectorAll("button[data-sample]").forEach((b) => b.addEventListener("click", async () => {
  try {
    if (b.dataset.sample === "sim") {
      const index = await (await fetch("samples/sim/index.json")).json();
      run(await Promise.all(index.files.map((f) => fetchFile(`samples/sim/${f}`))));
    } else {
      run([await fetchFile(b.dataset.sample)]);
    }
  } catch (e) {
    setMessage(`Cannot load the sample: ${e.message}`, true);
  }
}));

// ?sample=... runs a bundled sample on load (used by the headless-browser test); ?file=URL
// loads any file served beside the page.
const params = new URLSearchParams(location.search);
const auto = params.getAll("file");
if (params.get("rate")) $("#rate").value = params.get("rate");
if (auto.length) {
  const go = () => Promise.all(auto.map(fetchFile)).then(run, (e) => setMessage(`Cannot load: ${e.message}`, true));
  if (document.body.dataset.ready) go(); else worker.addEventListener("message", function once(e) {
    if (e.data.type === "ready") { worker.removeEventListener("message", once); go(); }
  });
}
if (params.get("sample")) {
  worker.addEventListener("message", function once(e) {
    if (e.data.type === "ready") {
      worker.removeEventListener("message", once);
      document.querySelector(`button[data-sample="${params.get("sample")}"]`)?.click();
    }
  });
}
