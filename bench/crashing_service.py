"""A native Python service that crashes as soon as it is RUNNING: the crash loop of bench_recovery.py.

    binpath = f"{sys.executable} bench/crashing_service.py [LOG]"

The framework reports START_PENDING and RUNNING; then ``run`` ends the process with
``os._exit(3)``, without reporting STOPPED. The SCM therefore sees a crash (1067) and takes the
service's failure action. With LOG, each run first appends ``<time.time()> <pid>`` to that file
(O_APPEND, one write), so the runs can be counted independently of the SCM's event log.
"""

from __future__ import annotations

import os
import sys
import time

from svcctl.svc import Service, run


class CrashingService(Service):
    def run(self) -> int | None:
        if len(sys.argv) > 1:
            fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(fd, f"{time.time():.6f} {os.getpid()}\n".encode())
            os.close(fd)
        os._exit(3)


if __name__ == "__main__":
    run(CrashingService)
