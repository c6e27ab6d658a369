"""Bad input (issue 2 item 8): every malformed request gets a clear Win32 error, the daemon keeps
serving other clients and the database stays whole."""

from __future__ import annotations

import json
import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svcctl import wire
from svcctl.errors import message
from svcctl.home import socket_path


def raw(daemon) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(socket_path(daemon.home)))
    return s


def exchange(sock: socket.socket, payload: bytes) -> dict | None:
    """Send bytes, read one reply frame (None if the daemon closed the connection)."""
    sock.sendall(payload)
    dec = wire.Decoder()
    while True:
        data = sock.recv(65536)
        if not data:
            return None
        msgs = dec.feed(data)
        if msgs:
            return msgs[0]


def frame(obj) -> bytes:
    body = json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body


@pytest.fixture
def keeper(daemon, name):
    """A service that must survive whatever the bad clients send."""
    with daemon.connect() as m:
        svc = m.create_service(name, "/bin/true", display_name="keeper " + name)
        yield name
        svc.delete()
        svc.close()


def assert_healthy(daemon, keeper):
    with daemon.connect() as m, m.open_service(keeper) as svc:
        assert svc.config().display_name == "keeper " + keeper


@pytest.mark.parametrize(
    ("payload", "code", "closes"),
    [
        (struct.pack(">I", 0xFFFFFFF0) + b"x", 8, True),  # oversized frame: refused before reading it
        (struct.pack(">I", 5) + b"{nope", 13, True),  # malformed JSON
        (frame([1, 2, 3]), 13, True),  # not an object
        (struct.pack(">I", 2) + b"\xff\xfe", 13, True),  # not UTF-8
        (frame({"id": 1, "op": "format_disk"}), 1, False),  # unknown operation
        (frame({"id": 1, "op": "open_scm", "access": 1, "colour": "red"}), 87, False),  # unknown field
        (frame({"id": 1, "op": "open_scm", "access": "all"}), 87, False),  # wrong type
        (frame({"id": 1, "op": "open_scm"}), 87, False),  # missing field
        (frame({"id": 1, "op": "status", "h": 12345}), 6, False),  # a handle never opened (B9)
        (frame({"id": 1, "op": "open_scm", "access": 2**70}), 87, False),  # number out of range
    ],
)
def test_bad_frames_get_error_replies(daemon, keeper, payload, code, closes):
    with raw(daemon) as s:
        reply = exchange(s, payload)
        assert reply is not None and reply["e"] == code and reply["text"] == message(code)
        if closes:
            assert s.recv(1) == b""
    assert_healthy(daemon, keeper)


@pytest.mark.parametrize("bad", ["a/b", "a\\b", "", "x" * 257])
def test_b4_bad_names_get_123(daemon, keeper, bad):
    with raw(daemon) as s:
        scm = exchange(s, frame({"id": 1, "op": "open_scm", "access": 0xF003F}))["r"]
        reply = exchange(
            s,
            frame({"id": 2, "op": "create", "scm": scm, "name": bad, "access": 0, "type": 16, "start": 3,
                   "error": 1, "binpath": "/bin/true"}),
        )
        assert reply["e"] == 123
    assert_healthy(daemon, keeper)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(min_size=1, max_size=300))
def test_random_bytes_never_hurt_the_daemon(daemon, keeper, junk):
    with raw(daemon) as s:
        s.sendall(junk)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):  # the daemon answers or closes; either way it must not hang or die
            pass
    assert_healthy(daemon, keeper)


def test_pipelined_requests_each_get_one_reply(daemon, keeper):
    """A batch in one write, answered partly inside the read (status, errors) and partly later by
    tasks (watch with a timeout, control): every request gets exactly one reply, even though the
    daemon writes replies together rather than one by one."""
    with raw(daemon) as s:
        scm = exchange(s, frame({"id": 1, "op": "open_scm", "access": 0xF003F}))["r"]
        h = exchange(s, frame({"id": 2, "op": "open", "scm": scm, "name": keeper, "access": 0xF01FF}))["r"]
        batch = []
        for i in range(10, 70, 4):
            batch += [
                frame({"id": i, "op": "status", "h": h}),
                frame({"id": i + 1, "op": "format_disk"}),
                frame({"id": i + 2, "op": "watch", "h": h, "seen": None, "timeout_ms": 20}),
                frame({"id": i + 3, "op": "control", "h": h, "code": 1}),
            ]
        s.sendall(b"".join(batch))
        dec, replies = wire.Decoder(), []
        while len(replies) < len(batch):
            data = s.recv(65536)
            assert data, "the daemon closed the connection"
            replies += dec.feed(data)
        ids = sorted(r["id"] for r in replies)
        assert ids == list(range(10, 70))
        by_id = {r["id"]: r for r in replies}
        assert all(by_id[i]["r"][1] == 1 for i in range(10, 70, 4))  # STOPPED
        assert all(by_id[i + 1]["e"] == 1 for i in range(10, 70, 4))  # ERROR_INVALID_FUNCTION
        assert all(by_id[i + 3]["e"] == 1062 for i in range(10, 70, 4))  # not started
    assert_healthy(daemon, keeper)
