"""Fixtures of the contract suite's svc_extra image: gates, its ImagePath, and cleanup."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Manager, Service
from svcctl.types import ServiceAccess, State
from tests.conftest import HostLog, eventually
from tests.contract import svc_extra

ALL_GATES = ("main", "start", "pause", "continue", "stop", "crash")
#: Never started by the tests that use it; Win32 image paths are stored verbatim.
BINPATH = "/nonexistent/we_dont_care.exe"


def winerror(exc: pytest.ExceptionInfo[ScmError]) -> int:
    return exc.value.winerror


def unique_name(prefix: str = "t") -> str:
    return prefix + uuid.uuid4().hex[:12]


@pytest.fixture
def make(mgr: Manager) -> Iterator[Callable[..., Service]]:
    """Create services through ``mgr`` and stop and delete them all afterwards."""
    made: list[str] = []

    def create(svc_name: str, binpath: str = BINPATH, **kw: Any) -> Service:
        made.append(svc_name)  # before the call: a create that wrongly succeeds is cleaned too
        return mgr.create_service(svc_name, binpath, **kw)

    yield create
    for n in made:
        try:
            with mgr.open_service(n, access=ServiceAccess.ALL_ACCESS) as s:
                if s.query().state != State.STOPPED:
                    s.stop()
                    s.wait(State.STOPPED, 10)
                s.delete()
        except ScmError:
            pass


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
