"""grow_and_retry's loop with scripted callees: runs on every system (Linux CI too)."""

from __future__ import annotations

import ctypes
import sys
from ctypes.wintypes import DWORD

import pytest

from svcctl.winapi import buffers


def win_error(code: int) -> OSError:
    """An OSError carrying ``winerror`` as the errchecks raise it (OSError has it only on Windows)."""
    if sys.platform == "win32":
        return ctypes.WinError(code)
    exc = OSError(code, f"winerror {code}")
    exc.winerror = code  # type: ignore[attr-defined]
    return exc


class Callee:
    """Needs ``sizes[i]`` units on call i (the last size repeats); records the sizes offered."""

    def __init__(self, *sizes: int, code: int = 122) -> None:
        self.sizes = list(sizes)
        self.code = code
        self.offered: list[int] = []

    def __call__(self, buf: ctypes.Array[ctypes.c_char], size: int, needed: DWORD) -> object:
        self.offered.append(size)
        want = self.sizes[min(len(self.offered) - 1, len(self.sizes) - 1)]
        if size < want:
            needed.value = want
            raise win_error(self.code)
        buf.value = b"ok"
        return 1


def test_success_first_time_makes_one_call() -> None:
    callee = Callee(10)
    buf = buffers.grow_and_retry(callee, 64)
    assert callee.offered == [64] and buf.value == b"ok"


@pytest.mark.parametrize("code", [122, 234])
def test_grows_to_the_reported_size(code: int) -> None:
    callee = Callee(5000, code=code)
    buffers.grow_and_retry(callee, 100)
    assert callee.offered == [100, 5000]


def test_a_size_that_grows_meanwhile_is_chased() -> None:
    callee = Callee(300, 700, 700)  # a service was created between the calls
    buffers.grow_and_retry(callee, 100)
    assert callee.offered == [100, 300, 700]


def test_under_reporting_callee_still_converges_by_doubling() -> None:
    callee = Callee(1000)
    callee_report = Callee.__call__

    def lying(buf: ctypes.Array[ctypes.c_char], size: int, needed: DWORD) -> object:
        try:
            return callee_report(callee, buf, size, needed)
        finally:
            needed.value = 1  # claims 1 byte is enough

    buffers.grow_and_retry(lying, 100)
    assert callee.offered == [100, 200, 400, 800, 1600]


def test_slack_and_unit_size_the_buffer_in_characters() -> None:
    lengths: list[int] = []

    def name_call(buf: ctypes.Array[ctypes.c_char], size: int, needed: DWORD) -> object:
        lengths.append(len(buf))
        if size < 11:  # 10 characters plus the NUL that the reported length leaves out
            needed.value = 10
            raise win_error(122)
        return 1

    buffers.grow_and_retry(name_call, 2, unit=2, slack=1)
    assert lengths == [4, 22]


def test_gives_up_after_max_tries() -> None:
    offered: list[int] = []

    def greedy(buf: ctypes.Array[ctypes.c_char], size: int, needed: DWORD) -> object:
        offered.append(size)
        needed.value = size * 3  # never satisfied: always wants more than it got
        raise win_error(122)

    with pytest.raises(OSError) as exc:
        buffers.grow_and_retry(greedy, 1)
    assert buffers.winerror_of(exc.value) == 122
    assert offered == [3**i for i in range(buffers.MAX_TRIES)]


def test_other_errors_pass_through_at_once() -> None:
    calls = []

    def denied(buf: ctypes.Array[ctypes.c_char], size: int, needed: DWORD) -> object:
        calls.append(size)
        raise win_error(5)

    with pytest.raises(OSError):
        buffers.grow_and_retry(denied)
    assert calls == [1024]


def test_partial_results_are_consumed_and_the_call_repeated() -> None:
    """Windows' EnumServicesStatusExW: 234 with some entries and a moved resume handle."""
    pages = [[b"a", b"b"], [b"c"], []]  # the last call succeeds with what remains
    taken: list[bytes] = []
    state = {"page": 0}

    def enum(buf: ctypes.Array[ctypes.c_char], size: int, needed: DWORD) -> object:
        page = pages[state["page"]]
        buf.value = b"".join(page)
        state["page"] += 1
        if state["page"] < len(pages):
            needed.value = size
            raise win_error(234)
        return 1

    def take(buf: ctypes.Array[ctypes.c_char]) -> bool:
        got = [bytes([c]) for c in buf.value]
        taken.extend(got)
        return bool(got)

    take(buffers.grow_and_retry(enum, 16, partial=take))
    assert taken == [b"a", b"b", b"c"] and state["page"] == 3


def test_partial_without_entries_grows_instead() -> None:
    """Wine 8's EnumServicesStatusExW: 234 with no entries and the resume handle ignored."""
    callee = Callee(4096, code=234)
    buffers.grow_and_retry(callee, 16, partial=lambda buf: False)
    assert callee.offered == [16, 4096]


def test_winerror_of_plain_oserror_is_none() -> None:
    assert buffers.winerror_of(OSError(2, "no such file")) in (None, 2)  # Windows maps errno 2 to 2
