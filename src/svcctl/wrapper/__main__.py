"""``python -m svcctl.wrapper``: the wrapper as a service process of its own.

Under the portable SCM the daemon hosts wrapper images itself and never starts this; it runs
when another SCM starts the image, or when the in-process SCM of the tests runs it as a thread.
Settings are read through the manager API (the registry calls), as srvany reads its own.
"""

from __future__ import annotations

import asyncio
import socket
import sys


def _read_parameters(name: str) -> tuple[dict[str, tuple[int, object]], dict[str, tuple[int, object]]]:
    from ..mgr import Manager

    with Manager.connect() as mgr:
        tree = mgr.reg_get(f"Services\\{name}\\Parameters")
    return tree.get("", {}), tree.get("AppExit", {})


def main(argv: list[str] | None = None) -> int:
    from ..errors import ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
    from ..svc import channel
    from ..svc.platform import default_dispatcher_name

    if sys.platform == "win32" and default_dispatcher_name() == "win32":
        from .winservice import main as windows_main  # the Windows SCM started this image

        return windows_main()
    from .host import WrapperHost
    from .posix import PosixProcessLayer

    raw = channel.open_channel()
    if raw is None:
        print("svcctl.wrapper: not started by a service control manager; "
              "use `svcctl debug NAME` to run a wrapped program in the foreground", file=sys.stderr)
        return ERROR_FAILED_SERVICE_CONTROLLER_CONNECT & 0xFF
    sock = socket.socket(fileno=raw.detach())
    layer = PosixProcessLayer(use_cgroups=False)
    async def serve() -> int:
        return await WrapperHost(_read_parameters, layer).serve_socket(sock)

    try:
        return asyncio.run(serve())
    finally:
        layer.close()


if __name__ == "__main__":
    sys.exit(main())
