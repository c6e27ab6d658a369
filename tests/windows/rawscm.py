"""Helpers of the Windows tests that drive the SCM through the raw ctypes layer (Windows only).

The service images log JSON lines; these read them, and create, start, control and wait on
services with the raw advapi32 calls, so each test file does not carry its own copy.
"""

from __future__ import annotations

import json
from ctypes import byref
from ctypes.wintypes import LPCWSTR
from pathlib import Path
from typing import Any

from svcctl.winapi import advapi32 as a

from .conftest import SERVICE_ALL_ACCESS, eventually

OWN_PROCESS, SHARE_PROCESS, DEMAND_START, ERROR_NORMAL = 0x10, 0x20, 3, 1


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def events(path: Path, kind: str, **match: object) -> list[dict[str, Any]]:
    """The image's records of ``kind`` whose fields equal ``match``."""
    return [e for e in read_log(path) if e["event"] == kind and all(e.get(k) == v for k, v in match.items())]


def create(scm: int, name: str, binpath: str, cleanup: list[str], service_type: int = OWN_PROCESS,
           display: str | None = None) -> int:
    """CreateServiceW (demand start, normal error control), removed after the test."""
    cleanup.append(name)
    return int(
        a.CreateServiceW(
            scm, name, display, SERVICE_ALL_ACCESS, service_type, DEMAND_START, ERROR_NORMAL,
            binpath, None, None, None, None, None,
        )
    )  # fmt: skip


def start(h: int, *args: str) -> None:
    argv = (LPCWSTR * len(args))(*args)
    a.StartServiceW(h, len(args), argv if args else None)


def control(h: int, code: int) -> a.SERVICE_STATUS:
    status = a.SERVICE_STATUS()
    a.ControlService(h, code, byref(status))
    return status


def wait_state(h: int, state: int, timeout: float = 10.0) -> a.SERVICE_STATUS_PROCESS:
    def reached() -> a.SERVICE_STATUS_PROCESS | None:
        status = a.query_status(h)
        return status if status.dwCurrentState == state else None

    return eventually(reached, timeout, f"state {state}")
