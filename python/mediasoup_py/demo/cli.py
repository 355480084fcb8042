"""The ``mediasoup-py`` command installed with the package: ``mediasoup-py demo [options]``
runs the video-conference demo (as ``python -m mediasoup_py.demo``), ``mediasoup-py bot
[options]`` its bot (as ``python -m mediasoup_py.demo.bot``) and ``mediasoup-py token
[options]`` prints a join token for it; ``--help`` after any lists its options."""

from __future__ import annotations

import importlib
import sys

__all__ = ["main"]

# Each command's module, imported when it runs: the bot's dependencies (pymediasoup, aiortc)
# are the [demo] extra, which the demo itself does not need.
COMMANDS = {
    "demo": "mediasoup_py.demo.__main__",
    "bot": "mediasoup_py.demo.bot",
    "token": "mediasoup_py.demo.token",
}
USAGE = "usage: mediasoup-py {demo,bot,token} [options]   (mediasoup-py demo --help for the demo's)"


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments or arguments[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        command = importlib.import_module(COMMANDS[arguments[0]])
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] == "mediasoup_py":
            raise
        print(
            f"mediasoup-py {arguments[0]} needs {error.name}: pip install 'mediasoup_py[demo]'",
            file=sys.stderr,
        )
        return 2
    status: int = command.main(arguments[1:])
    return status
