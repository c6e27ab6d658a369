"""The seed's walk: installed (1077), RUNNING, PAUSED, RUNNING, STOPPED, deleted — on each backend.

``test_service_written_with_svcctl_svc_full_walk`` is issue 7's acceptance flow: it runs against
the memory and portable backends on Linux and, inside Windows Python under Wine, against Wine's
real SCM with python.exe itself as the image (``tools/wine/test``).
"""

from __future__ import annotations

from svcctl.types import Accept, State
from tests.conftest import eventually
from tests.contract.conftest import gone


def test_seed_walk(mgr, name, svchost, hostlog):
    with mgr.create_service(name, svchost(), display_name=name) as svc:
        st = svc.query()
        assert (st.state, st.win32_exit_code, st.pid) == (State.STOPPED, 1077, 0)  # B77
        svc.start("alpha", "beta")
        assert svc.wait(State.RUNNING, 10).state == State.RUNNING
        assert hostlog.wait_for(event="start")["argv"] == [name, "alpha", "beta"]  # B49
        st = svc.query()
        assert st.controls_accepted & Accept.STOP and st.pid > 0
        svc.pause()
        assert svc.wait(State.PAUSED, 10).state == State.PAUSED
        svc.continue_()
        assert svc.wait(State.RUNNING, 10).state == State.RUNNING
        svc.stop()
        st = svc.wait(State.STOPPED, 10)
        assert (st.state, st.win32_exit_code, st.pid, st.controls_accepted) == (State.STOPPED, 0, 0, 0)
        svc.delete()
    eventually(lambda: gone(mgr, name), 10, f"{name} to be deleted")


def test_service_written_with_svcctl_svc_full_walk(mgr, name, svchost, hostlog):
    """Create a svcctl.svc service, start it with arguments, pause, continue, send a user control,
    stop it with a service-specific exit code, read the code back (B84), delete it."""
    with mgr.create_service(name, svchost("--behave", "exit-code", "--code", "42")) as svc:
        svc.start("alpha", "two words")
        assert svc.wait(State.RUNNING, 10).state is State.RUNNING
        assert hostlog.wait_for(event="start")["argv"] == [name, "alpha", "two words"]  # B49
        svc.pause()
        assert svc.wait(State.PAUSED, 10).state is State.PAUSED
        hostlog.wait_for(event="pause")
        svc.continue_()
        assert svc.wait(State.RUNNING, 10).state is State.RUNNING
        hostlog.wait_for(event="continue")
        assert svc.control(200).state is State.RUNNING
        hostlog.wait_for(event="control", code=200)
        svc.stop()
        st = svc.wait(State.STOPPED, 10)
        assert (st.state, st.win32_exit_code, st.service_exit_code, st.pid) == (State.STOPPED, 1066, 42, 0)
        hostlog.wait_for(event="stop")
        svc.delete()
    eventually(lambda: gone(mgr, name), 10, f"{name} to be deleted")
