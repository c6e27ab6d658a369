"""``svcctl``: entry point. Verbs load their module only when used, to keep start-up short."""

from __future__ import annotations

import sys

USAGE = """usage: svcctl <verb> [arguments]

  serve [--home DIR] ...   run the portable service control manager (daemon)
  demo                     walk a native Python service through the seed's states
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    verb, rest = args[0].lower(), args[1:]
    if verb == "serve":
        from ..scm.daemon import main as serve

        return serve(rest)
    if verb == "demo":
        from ..demo import main as demo

        return demo(rest)
    print(f"svcctl: unknown verb {args[0]!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 1639


if __name__ == "__main__":
    sys.exit(main())
