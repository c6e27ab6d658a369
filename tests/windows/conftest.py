"""The Windows tier: runs inside Windows CPython, under Wine on Linux CI (tools/wine/test).

On other systems only the platform-neutral tests here are collected (the buffer helper's).
Run it under Wine with ``tools/wine/test``; it keeps to this folder's conftest
(``--confcutdir``), so the Linux tiers' fixtures are never imported into Windows Python.
Waiting is a condition with a deadline (:func:`eventually`), never a bare sleep.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from ctypes import byref

import pytest

from svcctl.mgr import Manager
from tests.conftest import eventually

if sys.platform != "win32":
    collect_ignore_glob = ["test_raw_*.py"]

#: Every service a test creates starts with this, so leftovers of a killed run can be found.
PREFIX = "svcctl_t_"


@pytest.fixture
def mgr() -> Iterator[Manager]:
    """The manager of Wine's (or Windows') real SCM, through the win32 backend."""
    m = Manager.connect(backend="win32")
    try:
        yield m
    finally:
        m.disconnect()


@pytest.fixture
def name() -> str:
    return PREFIX + uuid.uuid4().hex[:10]


if sys.platform == "win32":
    from svcctl.winapi import advapi32 as a

    SC_MANAGER_ALL_ACCESS = 0xF003F
    SERVICE_ALL_ACCESS = 0xF01FF

    def _remove(scm: int, service: str) -> None:
        """Stop (if needed) and delete ``service``; quietly, it is cleanup."""
        try:
            h = a.OpenServiceW(scm, service, SERVICE_ALL_ACCESS)
        except OSError:
            return
        try:
            if a.query_status(h).dwCurrentState != 1:
                try:
                    a.ControlService(h, 1, byref(a.SERVICE_STATUS()))
                    eventually(lambda: a.query_status(h).dwCurrentState == 1, 10, f"{service} to stop")
                except (OSError, AssertionError):
                    pass
            try:
                a.DeleteService(h)
            except OSError:
                pass
        finally:
            a.CloseServiceHandle(h)

    @pytest.fixture(scope="session")
    def scm() -> Iterator[int]:
        """An SCM handle with all access; also removes leftovers of earlier, killed runs."""
        from svcctl.winapi import buffers

        h = a.OpenSCManagerW(None, None, SC_MANAGER_ALL_ACCESS)
        for service, _, _ in buffers.enum_services(h, 0x30, 3):
            if service.startswith(PREFIX):
                _remove(h, service)
        yield h
        a.CloseServiceHandle(h)

    @pytest.fixture
    def cleanup(scm: int) -> Iterator[list[str]]:
        """Append service names: they are stopped and deleted after the test."""
        names: list[str] = []
        yield names
        for service in names:
            _remove(scm, service)
