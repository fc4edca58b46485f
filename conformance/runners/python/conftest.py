"""Prints the runner's closing lines (one per vector file, `N passed, N failed`) after pytest's
own summary."""

from __future__ import annotations

from typing import Any

REPORTS: dict[str, tuple[int, list[int]]] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for area, (passed, failed) in REPORTS.items():
        terminalreporter.write_line(f"{area}.json: {passed} passed, {len(failed)} failed")
        if failed:
            terminalreporter.write_line(
                f"  failing tcIds in {area}.json: {', '.join(map(str, failed))}"
            )
