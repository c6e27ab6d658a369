"""The friendly verbs' one way to reach the SCM: connect, run, always disconnect.

A verb that cannot connect says why on its output and exits with the Win32 code (1722 when no
daemon answers), instead of each verb handling that itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from ..errors import ScmError
from ..mgr import Manager


def with_manager(out: TextIO, verb: Callable[[Manager], int]) -> int:
    try:
        mgr = Manager.connect()
    except ScmError as exc:
        out.write(f"svcctl: {exc}\n")
        return exc.winerror
    try:
        return verb(mgr)
    finally:
        mgr.disconnect()
