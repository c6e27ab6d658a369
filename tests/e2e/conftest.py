"""Fixtures of the end-to-end tier: the svcctl command run in-process against the session daemon."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from svcctl.cli.main import main


@pytest.fixture
def cli(daemon, monkeypatch) -> Callable[..., tuple[int, str]]:
    """``cli("status", name)`` -> (exit code as main returns it, what it printed)."""
    monkeypatch.setenv("SVCCTL_HOME", str(daemon.home))
    monkeypatch.delenv("SVCCTL_BACKEND", raising=False)

    def run(*args: str) -> tuple[int, str]:
        out = io.StringIO()
        return main(list(args), out=out), out.getvalue()

    return run
