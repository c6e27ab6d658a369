"""native_service.py's twin that records which modules a RUNNING native service has loaded.

    binpath = f"{sys.executable} bench/module_probe_service.py OUTFILE"

Same imports as bench/native_service.py (``os`` and ``sys`` are loaded at interpreter start-up). Once the
framework has reported RUNNING and calls ``run``, it writes ``sorted(sys.modules)`` to OUTFILE,
then waits for STOP like native_service.py. bench_foundation.py compares the list with what
baseline (a) of bare_spawner.py loads, so that baseline stays "the same Python process".
"""

import os
import sys

from svcctl.svc import Service, run


class ModuleProbe(Service):
    def run(self) -> int | None:
        tmp = sys.argv[1] + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(sorted(sys.modules)) + "\n")
        os.replace(tmp, sys.argv[1])
        return super().run()


if __name__ == "__main__":
    run(ModuleProbe)
