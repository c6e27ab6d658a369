"""srvany's successor: run any program as a service (``svcctl install NAME -- python webmain.py``).

The service's image is the wrapper, ``"<python>" -m svcctl.wrapper``; what it runs and how is
read from ``Services\\<name>\\Parameters`` (srvany's and NSSM's value names, :mod:`.settings`).
The portable SCM recognises that image and hosts the wrapper on its own event loop
(:mod:`svcctl.scm.hosting`), so a wrapped program costs one process, its own; under another SCM
(Windows) the same image runs as an ordinary service process. Library core: stdlib only.
"""

from __future__ import annotations

import os
import sys

#: The module a wrapper image runs.
MODULE = "svcctl.wrapper"


def wrapper_image_path(python: str | None = None) -> str:
    """The ImagePath of a wrapped service: this interpreter running the wrapper module."""
    from ..cmdline import join

    return join([python or sys.executable, "-m", MODULE])


def is_wrapper_command(argv: list[str]) -> bool:
    """Whether a split ImagePath is the wrapper (any Python interpreter, ``-m svcctl.wrapper``)."""
    if len(argv) < 3 or argv[1] != "-m" or argv[2] != MODULE:
        return False
    base = os.path.basename(argv[0]).lower().removesuffix(".exe")
    return base.startswith("python") or base.startswith("pypy")
