"""``svcctl serve``'s options: the plain command line read without argparse and argparse's
reading of the same line agree, flag for flag; anything else goes to argparse's answers."""

from __future__ import annotations

import pytest

from svcctl.scm import daemon

LINES = [
    [],
    ["--home", "/tmp/h", "--no-boot"],
    ["--home=/tmp/h", "--pipe-timeout", "1500", "--handler-timeout=700", "--wait-to-kill", "900"],
    ["--socket-group", "staff", "--ready-fd", "7", "--durable", "--reboot-command", "systemctl reboot"],
    ["--hung-start", "5000", "--delayed-start=60000", "--last-known-good", "--serialize-starts",
     "--serialize-controls"],
]
FIELDS = ["home", *(field for field, _, _ in daemon._OPTIONS.values() if field != "home")]


def fields(opts: daemon.Options) -> dict[str, object]:
    return {name: getattr(opts, name) for name in FIELDS}


@pytest.mark.parametrize("argv", LINES)
def test_the_quick_reading_is_argparses(argv: list[str]) -> None:
    assert fields(daemon.parse_args(argv)) == fields(daemon._parse_args_verbosely(argv))


def test_every_flag_is_read() -> None:
    seen = set()
    for argv in LINES:
        opts, default = fields(daemon.parse_args(argv)), fields(daemon.parse_args([]))
        seen |= {name for name in FIELDS if opts[name] != default[name]}
    assert seen == set(FIELDS)


@pytest.mark.parametrize("argv", [["--pipe-timeout", "soon"], ["--bogus"], ["--durable=yes"], ["--home"]])
def test_mistakes_get_argparses_answer(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        daemon.parse_args(argv)
    assert exc.value.code == 2
    assert "usage: svcctl serve" in capsys.readouterr().err
