"""A svcctl.svc Service run as ``"<venv>\\Scripts\\python.exe" -m <package>`` (test_venv_service.py).

The test copies this file as ``<package>/__main__.py`` into the virtual environment's
site-packages only, so the service imports at all only when the interpreter really runs inside
the venv. Process argv: ``<log>``. Start arguments: ``--exit=N`` (run() returns N, reported as
service-specific code N under 1066). Each line of ``<log>`` is a JSON event.
"""

from __future__ import annotations

import json
import os
import sys

import svcctl
from svcctl.svc import Accept, Service, run
from svcctl.svc.platform import select_dispatcher

LOG = sys.argv[1]


def log(event: str, **data: object) -> None:
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({"event": event, "pid": os.getpid(), **data}) + "\n")


class InVenv(Service):
    accepts = Accept.STOP

    def start(self, args: list[str]) -> None:
        self.exit_code = 0
        for arg in args:
            if arg.startswith("--exit="):
                self.exit_code = int(arg[7:])
        log("start", args=args, name=self.status.name if self.status else None)

    def run(self) -> int:
        self.stopping.wait()
        log("run-returns", code=self.exit_code)
        return self.exit_code


def main() -> int:
    log(
        "image",
        prefix=sys.prefix,
        base_prefix=sys.base_prefix,
        executable=sys.executable,
        base_executable=getattr(sys, "_base_executable", None),
        package=__spec__.parent if __spec__ else None,
        package_file=os.path.abspath(__file__),
        svcctl_file=os.path.abspath(svcctl.__file__),
        path=sys.path,
        ppid=os.getppid(),
        dispatcher=select_dispatcher().__name__,
        pyvenv_launcher=os.environ.get("__PYVENV_LAUNCHER__"),
    )
    run(InVenv)
    log("dispatcher-returned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
