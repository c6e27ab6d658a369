"""Unit tests of the pieces the daemon is built from: framing, records, errors, sc formats."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from svcctl import wire
from svcctl.cli.scformat import query_block
from svcctl.errors import MESSAGES, ScmError, ServiceDoesNotExist
from svcctl.scm.record import ServiceRecord, from_values, pack_failure_actions, to_values, unpack_failure_actions
from svcctl.svc import Service, debug
from svcctl.types import Accept, Action, ActionType, FailureActions, ServiceType, State, Status


def test_every_spec_code_has_windows_text():
    for code in (2, 5, 87, 1051, 1053, 1056, 1060, 1062, 1066, 1067, 1072, 1073, 1077, 1115, 1639, 1722):
        assert MESSAGES[code].endswith(".")
    e = ScmError(1060)
    assert isinstance(e, ServiceDoesNotExist) and isinstance(e, OSError) and e.winerror == 1060


@given(st.lists(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=20), max_size=4), max_size=5))
def test_decoder_reassembles_any_split(messages):
    data = b"".join(wire.encode(m) for m in messages)
    for cut in (1, 3, 7):
        dec = wire.Decoder()
        out = []
        for i in range(0, len(data), cut):
            out += dec.feed(data[i : i + cut])
        assert out == messages


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), _JSON, max_size=5))
def test_frames_hold_exactly_what_json_dumps_writes(message):
    """The encoder made once (wire._make_dumps) writes byte for byte what json.dumps does."""
    frame = wire.encode(message)
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    assert frame == struct.pack(">I", len(body)) + body


def test_decoder_refuses_oversized_frames_before_reading_them():
    with pytest.raises(wire.FrameError) as e:
        wire.Decoder(limit=100).feed(struct.pack(">I", 101))
    assert e.value.winerror == 8


def test_b121_failure_actions_binary_layout():
    fa = FailureActions(86400, None, None, (Action(ActionType.RESTART, 60000), Action(ActionType.RUN_COMMAND, 1000)))
    blob = pack_failure_actions(fa)
    assert struct.unpack("<5I", blob[:20]) == (86400, 0, 0, 2, 20)
    assert struct.unpack("<4I", blob[20:]) == (1, 60000, 3, 1000)
    assert unpack_failure_actions(blob, None, None) == fa


def test_b15_b31_record_round_trips_through_registry_values():
    rec = ServiceRecord("Svc")
    rec.service_type = ServiceType.WIN32_SHARE_PROCESS
    rec.image_path, rec.display_name, rec.group, rec.tag = "/bin/x", "X", "G", 3
    rec.depend_on_service, rec.depend_on_group = ("a", "b"), ("grp",)
    rec.description, rec.delayed_auto_start = "d", True
    values = {k: v for k, v in to_values(rec).items() if v is not None}
    assert values["DependOnService"] == (7, ("a", "b")) and values["DependOnGroup"] == (7, ("grp",))
    back = from_values("Svc", values)
    assert back.config() == rec.config() and back.dependencies == ("a", "b", "+grp")
    assert (back.description, back.delayed_auto_start) == ("d", True)


def test_query_block_matches_sc_layout():
    st_ = Status(0x10, State.RUNNING, Accept.STOP | Accept.PAUSE_CONTINUE | Accept.SHUTDOWN)
    assert query_block("wmzwebpy", st_) == (
        "\n"
        "SERVICE_NAME: wmzwebpy\n"
        "        TYPE               : 10  WIN32_OWN_PROCESS\n"
        "        STATE              : 4  RUNNING\n"
        "                                (STOPPABLE, PAUSABLE, ACCEPTS_SHUTDOWN)\n"
        "        WIN32_EXIT_CODE    : 0  (0x0)\n"
        "        SERVICE_EXIT_CODE  : 0  (0x0)\n"
        "        CHECKPOINT         : 0x0\n"
        "        WAIT_HINT          : 0x0\n"
        "\n"
    )


class Counter(Service):
    name = "counter"

    def run(self):
        self.stopping.wait()
        return 3


def test_debug_runner_turns_ctrl_c_into_stop():
    out = io.StringIO()
    running = threading.Event()

    class Probe(Counter):
        def start(self, args):
            running.set()

    def interrupt():
        running.wait(10)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    assert debug(Probe, out=out) == 3
    lines = [line.split()[1] for line in out.getvalue().splitlines()]
    assert lines == ["START_PENDING", "RUNNING", "STOP_PENDING", "STOPPED"]
