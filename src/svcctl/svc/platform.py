"""Which dispatcher this process speaks: the Windows SCM's or the portable SCM's channel.

The one place the service side picks its backend, so that ``import svcctl.svc`` never loads
:mod:`.win32` (and with it ctypes.windll) on other systems: the Windows module is imported
only when it is chosen, and only on Windows.
"""

from __future__ import annotations

import os
import sys

from .channel import ENV_CHANNEL
from .dispatcher import Dispatcher

#: Force a dispatcher: ``win32`` or ``portable`` (default: by platform, see select_dispatcher).
ENV_DISPATCHER = "SVCCTL_DISPATCHER"


def default_dispatcher_name() -> str:
    """``win32`` on Windows unless the portable SCM started this process (it names a channel)."""
    name = os.environ.get(ENV_DISPATCHER)
    if name:
        return name
    if sys.platform == "win32" and not os.environ.get(ENV_CHANNEL):
        return "win32"
    return "portable"


def select_dispatcher(name: str | None = None) -> type[Dispatcher]:
    """The Dispatcher class to run this process's service table with.

    ``name`` (or ``%SVCCTL_DISPATCHER%``) forces one; asking for ``win32`` elsewhere than on
    Windows raises ScmError 50 (ERROR_NOT_SUPPORTED) rather than failing inside ctypes.
    """
    chosen = name or default_dispatcher_name()
    if chosen == "portable":
        return Dispatcher
    from ..errors import ERROR_INVALID_PARAMETER, ERROR_NOT_SUPPORTED, ScmError

    if chosen != "win32":
        raise ScmError(ERROR_INVALID_PARAMETER, f"unknown dispatcher {chosen!r} (win32, portable)")
    if sys.platform == "win32":  # the only import of .win32 (mypy checks it with --platform win32)
        from .win32 import Win32Dispatcher

        return Win32Dispatcher
    raise ScmError(ERROR_NOT_SUPPORTED, "the win32 dispatcher runs only on Windows")
