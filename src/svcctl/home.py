"""Where a portable SCM keeps its state: ``$SVCCTL_HOME``, else a per-user state directory.

The daemon and every client resolve the same place through :func:`resolve_home`, so setting
one variable points everything at one private SCM (the demo and the tests rely on that).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "SVCCTL_HOME"
SOCKET_NAME = "scm.sock"
DATABASE_NAME = "services.db"
LOCK_NAME = "daemon.lock"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser().absolute()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().absolute()
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "svcctl"


def socket_path(home: Path) -> Path:
    return home / SOCKET_NAME
