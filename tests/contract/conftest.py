"""Fixtures of the contract suite's svc_extra image: gates, its ImagePath, and cleanup."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Service
from svcctl.types import State
from tests.conftest import HostLog, eventually
from tests.contract import svc_extra

ALL_GATES = ("main", "start", "pause", "continue", "stop", "crash")


@pytest.fixture
def gates(tmp_path: Path) -> svc_extra.Gates:
    return svc_extra.Gates(tmp_path / "gate")


@pytest.fixture
def extra(hostlog: HostLog, gates: svc_extra.Gates) -> Callable[..., str]:
    """ImagePath of the svc_extra image: extra("--hold", "start"), extra("--behave", "crash")."""

    def binpath(*args: str) -> str:
        return svc_extra.binpath(hostlog.path, gates.prefix, *args)

    return binpath


@pytest.fixture
def cleanup(gates: svc_extra.Gates) -> Iterator[Callable[[Service], Service]]:
    """Register services to stop (every gate opened) and delete at the end of the test."""
    services: list[Service] = []

    def add(svc: Service) -> Service:
        services.append(svc)
        return svc

    yield add
    gates.open(*ALL_GATES)
    for svc in services:
        retire(svc)


def retire(svc: Service) -> None:
    """Stop (if need be), delete and close a service a test made."""
    try:
        if svc.query().state is not State.STOPPED:
            eventually(lambda: svc.query().state is not State.START_PENDING, 10, "start to settle")
            try:
                svc.stop()
            except ScmError:
                pass
            eventually(lambda: svc.query().state is State.STOPPED, 15, "service to stop")
        try:
            svc.delete()
        except ScmError as exc:
            if exc.winerror != 1072:
                raise
    finally:
        svc.close()
