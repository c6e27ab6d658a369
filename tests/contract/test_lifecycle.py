"""The seed's walk: installed (1077), RUNNING, PAUSED, RUNNING, STOPPED, deleted — on each backend."""

from __future__ import annotations

import pytest

from svcctl.errors import ServiceDoesNotExist
from svcctl.types import Accept, State


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
    with pytest.raises(ServiceDoesNotExist):
        mgr.open_service(name)
