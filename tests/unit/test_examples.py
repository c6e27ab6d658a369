"""The examples work as documented, on the in-process SCM."""

from __future__ import annotations

import sys
from pathlib import Path

from svcctl.types import State

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "native_service.py"


def test_native_service_example(memory_scm, name):
    from svcctl.mgr import Manager

    with Manager.connect(backend=memory_scm.connect()) as mgr:
        svc = mgr.create_service(name, f"{sys.executable} {EXAMPLE}")
        try:
            svc.start()
            assert svc.wait(State.RUNNING, 10).state == State.RUNNING
            assert svc.control(200).state == State.RUNNING  # user-defined: reset the counter
            svc.pause()
            assert svc.wait(State.PAUSED, 10).state == State.PAUSED
            svc.continue_()
            assert svc.wait(State.RUNNING, 10).state == State.RUNNING
            svc.stop()
            st = svc.wait(State.STOPPED, 10)
            assert (st.state, st.win32_exit_code) == (State.STOPPED, 0)
        finally:
            svc.delete()
            svc.close()
