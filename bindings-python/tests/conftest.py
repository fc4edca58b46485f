"""Shared fixtures: the repository's files, the `mycel` CLI for cross-host checks, and a
guard that the tests run against the installed wheel (not the source tree)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

import mycel

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "protocol" / "tests" / "vectors"
EXAMPLES = ROOT / "spec" / "examples"


def pytest_configure(config: pytest.Config) -> None:
    src = (ROOT / "bindings-python" / "python").resolve()
    if Path(mycel.__file__).resolve().is_relative_to(src):
        raise pytest.UsageError(
            f"mycel is imported from the source tree ({mycel.__file__}); install the wheel"
        )


def _cli_path() -> Path | None:
    env = os.environ.get("MYCEL_CLI")
    if env:
        return Path(env)
    for profile in ("release", "debug"):
        p = ROOT / "target" / profile / "mycel"
        if p.exists():
            return p
    return None


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess[bytes]]:
    """Runs the `mycel` CLI: cli(*args, input=bytes, check=True). MYCEL_CLI names the binary
    (scripts/test sets it, and then a missing binary is a failure); without it the tests look
    in target/ and skip when it was never built."""
    path = _cli_path()
    if path is None or not path.exists():
        if os.environ.get("MYCEL_CLI"):
            pytest.fail(f"MYCEL_CLI={path} does not exist")
        pytest.skip("the mycel CLI is not built (cargo build --release -p mycel-cli)")

    def run(*args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run([str(path), *args], input=input, capture_output=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"mycel {' '.join(args)} exited {proc.returncode}: {proc.stderr.decode()}"
            )
        return proc

    return run


@pytest.fixture(scope="session")
def examples() -> dict[str, Any]:
    """spec/examples/examples.json."""
    with open(EXAMPLES / "examples.json") as f:
        data: dict[str, Any] = json.load(f)
    return data
