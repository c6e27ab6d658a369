"""The ``win32`` backend: the real service control manager through advapi32 (ctypes, no pywin32).

Loaded only by :func:`svcctl.mgr.backend.open_backend` for backend ``"win32"``. The work is in
:mod:`.win32_backend` (operations and handles), :mod:`.win32_config2` (QueryServiceConfig2W /
ChangeServiceConfig2W levels) and :mod:`.win32_registry` (``winreg``: Parameters and boot
order), which import the raw layer :mod:`svcctl.winapi` and so load only on Windows. Elsewhere
this module still imports, and the backend refuses with ERROR_NOT_SUPPORTED (50).
"""

from __future__ import annotations

import sys

__all__ = ["Win32Backend"]

if sys.platform == "win32":
    from .win32_backend import Win32Backend
else:
    from ..errors import ERROR_NOT_SUPPORTED, ScmError
    from .backend import Backend

    class Win32Backend(Backend):
        """Stands in for the Windows backend on other systems: opening it fails with 50."""

        def __init__(self, system: str | None = None) -> None:
            raise ScmError(ERROR_NOT_SUPPORTED, f"the win32 backend needs Windows (this is {sys.platform})")
