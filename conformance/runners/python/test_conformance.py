"""The Python runner of the mycel conformance suite: every vector file validated against its
JSON Schema, and every case answered by the installed ``mycel`` wheel through the example
adapter's ``handle`` (in-process), compared with the expected outcome.

    cd conformance/runners/python && python -m pytest -q

``MYCEL_CONFORMANCE_LONG=1`` also runs the cases flagged ``Long``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
from typing import Any

import jsonschema
import pytest

from conftest import REPORTS

ROOT = pathlib.Path(__file__).resolve().parents[3]
VECTORS = ROOT / "conformance" / "vectors"
SCHEMAS = ROOT / "conformance" / "schema"
AREAS = [
    "wire",
    "signatures",
    "receipts",
    "merkle",
    "commitments",
    "tasks",
    "kernels",
    "scoring",
    "emission",
    "sampling",
    "fraud",
]
LONG = os.environ.get("MYCEL_CONFORMANCE_LONG") == "1"


def load_adapter() -> Any:
    spec = importlib.util.spec_from_file_location(
        "python_adapter", ROOT / "conformance" / "adapters" / "python_adapter.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ADAPTER = load_adapter()


def judge(case: dict[str, Any], got: dict[str, Any]) -> str | None:
    """None when the answer is the expected one, else why not."""
    if got.get("tcId") != case["tcId"]:
        return f"answer for tcId {got.get('tcId')}"
    if got["result"] != case["result"]:
        return f"{got['result']} ({got.get('error')}) but the case is {case['result']} ({case.get('error')})"
    if case["result"] == "valid" and got["output"] != case["output"]:
        return f"output {json.dumps(got['output'])[:200]} differs from {json.dumps(case['output'])[:200]}"
    if case["result"] == "invalid" and got["error"] != case["error"]:
        return f"error {got['error']} differs from {case['error']}"
    return None


@pytest.mark.parametrize("area", AREAS)
def test_file_follows_its_schema(area: str) -> None:
    doc = json.loads((VECTORS / f"{area}.json").read_text())
    schema = json.loads((SCHEMAS / f"{area}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["schema"] == schema["$id"]
    assert doc["numberOfTests"] == sum(len(g["tests"]) for g in doc["testGroups"])


@pytest.mark.parametrize("area", AREAS)
def test_every_case(area: str) -> None:
    doc = json.loads((VECTORS / f"{area}.json").read_text())
    passed, failed, reasons = 0, [], []
    for g in doc["testGroups"]:
        for case in g["tests"]:
            if "Long" in case["flags"] and not LONG:
                continue
            req = {"area": area, "op": g["op"], "tcId": case["tcId"], "params": g["params"], "input": case["input"]}
            why = judge(case, ADAPTER.handle(req))
            if why is None:
                passed += 1
            else:
                failed.append(case["tcId"])
                reasons.append(f"tcId {case['tcId']} ({case['comment']}): {why}")
    REPORTS[area] = (passed, failed)
    assert not failed, "\n".join(reasons)
