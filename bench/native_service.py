"""The smallest native Python service: the process every start benchmark launches.

    binpath = f"{sys.executable} bench/native_service.py"

It does nothing but what the framework does for it: connect, report START_PENDING, RUNNING,
wait for STOP, report STOPPED.
"""

from svcctl.svc import Service, run


class BenchService(Service):
    pass


if __name__ == "__main__":
    run(BenchService)
