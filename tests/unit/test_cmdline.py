"""Command-line splitting and quoting, POSIX and CommandLineToArgvW (the Windows SCM's rules)."""

from __future__ import annotations

import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from svcctl.cmdline import expand_vars, join, split, split_windows

ARGS = st.lists(st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
                        max_size=12), min_size=1, max_size=6)


def test_windows_rules_of_backslashes_and_quotes():
    assert split_windows('"C:\\Program Files\\x.exe" -k netsvcs') == ["C:\\Program Files\\x.exe", "-k", "netsvcs"]
    assert split_windows('a\\\\"b c"') == ["a\\b c"]  # 2n backslashes before a quote: n, and the quote toggles
    assert split_windows('a\\"b') == ['a"b']  # 2n+1: n and a literal quote
    assert split_windows("C:\\dir\\ x") == ["C:\\dir\\", "x"]  # other backslashes are literal
    assert split_windows('"a""b" c') == ['a"b', "c"]
    assert split_windows('"" x') == ["", "x"]


@settings(max_examples=300)
@given(ARGS)
def test_windows_join_then_split_round_trips(argv):
    assert split_windows(join(argv, windows=True)) == argv


@settings(max_examples=300)
@given(ARGS)
def test_posix_join_then_split_round_trips(argv):
    assert split(join(argv, windows=False), env={}, windows=False) == argv


def test_percent_variables_expand_like_reg_expand_sz():
    assert expand_vars("%HOME%/x %NOPE% 100%", {"HOME": "/h"}) == "/h/x %NOPE% 100%"


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from("ab /-=\t\n\r\x0b\x1c\xa0'\"\\"), max_size=30))
def test_posix_split_is_shlex_with_its_fallback(line):
    """The fast path for lines with nothing quoted must agree with shlex on every line."""
    try:
        expected = shlex.split(line)
    except ValueError:
        expected = line.split()
    assert split(line, env={}, windows=False) == expected
