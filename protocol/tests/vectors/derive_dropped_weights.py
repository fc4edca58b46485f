#!/usr/bin/env python3
"""Derives yuma_dropped_weights.jsonl from the chain vectors in yuma_examples.jsonl.

DERIVED, not produced by the chain's code. YUMA.md S5: the chain loads weights "for stored rows
i < n and entries j < n", so a stored weight entry on a uid >= n (the chain holds such entries
after a subnet is trimmed) is dropped before any step reads the weights. Adding such entries to
a chain vector's input therefore leaves every output of the chain vector unchanged; the only
new output is `dropped_weights`, the list of what was dropped (row, uid, weight) in row order
and stored order within a row (spec/emission.md sections 2, 3 S5 and 8).

Entries are inserted at varied positions (front, middle, end) of every row, so that rows which
were ascending stop being ascending: an implementation whose merge scans (P4) or masks saw the
dropped entries would change outputs. Run from this folder:

    python3 derive_dropped_weights.py > yuma_dropped_weights.jsonl
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTE = ("derived from chain vector line {line} of yuma_examples.jsonl by YUMA.md S5 (weight entries "
        "on uids >= n are dropped when the chain loads the weights): inputs gain entries on uids >= n, "
        "outputs are the chain's, plus dropped_weights")


def main() -> None:
    out = []
    for line_no, line in enumerate((HERE / "yuma_examples.jsonl").read_text().splitlines(), 1):
        if not line.strip():
            continue
        v = json.loads(line)
        inp, exp = v["input"], v["expected"]
        n = inp["n"]
        if n == 0:
            continue
        dropped = []
        rows = []
        for i, row in enumerate(inp["weights"]):
            row = [list(e) for e in row]
            # One or two entries per row on uids n .. n+4 (at most 65535), positions varied.
            extra = [(min(n + (i % 5), 65535), (1000 * (i + 1) + line_no) % 65536)]
            if i % 2 == 0 and n + 7 <= 65535:
                extra.append((n + 7, 65535))
            for k, (uid, w) in enumerate(extra):
                pos = (i + k * 2) % (len(row) + 1)
                row.insert(pos, [uid, w])
            rows.append(row)
            dropped.extend({"row": i, "uid": u, "weight": w} for u, w in row if u >= n)
        inp = dict(inp, weights=rows)
        exp = dict(exp, dropped_weights=dropped)
        out.append({"derived": NOTE.format(line=line_no), "input": inp, "expected": exp})
    for v in out:
        sys.stdout.write(json.dumps(v, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
