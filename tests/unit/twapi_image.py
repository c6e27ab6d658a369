"""A TWAPI-style service (seed 003): one callback, answers with update_service_status."""

from __future__ import annotations

import sys

from svcctl.svc.twapi import run_as_service, update_service_status


def main(argv: list[str]) -> None:
    log = argv[0]

    def handler(event: str, name: str, seq: int, code: int, *extra: object) -> int:
        if event in ("start", "pause", "continue", "stop"):
            with open(log, "a") as f:
                f.write(" ".join([event, *map(str, extra)]) + "\n")
        answer = {"start": "running", "pause": "paused", "continue": "running", "stop": "stopped"}.get(event)
        if answer == "stopped":
            update_service_status(name, seq, "stopped", servicecode=7)
        elif answer:
            update_service_status(name, seq, answer)
        return 0

    run_as_service([("tw", handler)], controls=["stop", "pause_continue"])


if __name__ == "__main__":
    main(sys.argv[1:])
