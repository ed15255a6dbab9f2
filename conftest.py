"""Workspace-wide pytest hooks.

Backend tests carry ``@pytest.mark.backend("redis")`` (etc.). Locally an unreachable backend skips
with one line; when ``ASTROCYTE_REQUIRED_BACKENDS`` lists it (``.ci/run`` sets it for the engines
that run on our machines), such a skip becomes a failure so CI can never go green by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest


def _required_backends() -> set[str]:
    raw = os.environ.get("ASTROCYTE_REQUIRED_BACKENDS", "")
    return {name.strip() for name in raw.split(",") if name.strip()}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not report.skipped:
        return report
    required = _required_backends()
    for marker in item.iter_markers("backend"):
        name = str(marker.args[0]) if marker.args else ""
        if name in required:
            report.outcome = "failed"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            report.longrepr = (
                f"backend '{name}' is required here (ASTROCYTE_REQUIRED_BACKENDS) but skipped: {reason}"
            )
            break
    return report
