"""Where a portable SCM keeps its state: ``$SVCCTL_HOME``, else a per-user state directory.

The daemon and every client resolve the same place through :func:`resolve_home`, so setting
one variable points everything at one private SCM (the demo and the tests rely on that).
"""

from __future__ import annotations

import os

ENV_HOME = "SVCCTL_HOME"
SOCKET_NAME = "scm.sock"
DATABASE_NAME = "services.db"
LOCK_NAME = "daemon.lock"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> str:
    """Absolute path of the state directory (a plain string: clients never need pathlib)."""
    if explicit:
        return os.path.abspath(os.path.expanduser(os.fspath(explicit)))
    env = os.environ.get(ENV_HOME)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "svcctl")


def socket_path(home: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(home), SOCKET_NAME)
