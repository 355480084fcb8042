"""The ``mediasoup-py`` command installed with the package: ``mediasoup-py demo [options]``
runs the video-conference demo (as ``python -m mediasoup_py.demo``), ``mediasoup-py bot
[options]`` its bot (as ``python -m mediasoup_py.demo.bot``) and ``mediasoup-py token
[options]`` prints a join token for it; ``--help`` after any lists its options."""

from __future__ import annotations

import sys
from collections.abc import Callable

from mediasoup_py.demo import __main__ as demo
from mediasoup_py.demo import bot, token

__all__ = ["main"]

COMMANDS: dict[str, Callable[[list[str] | None], int]] = {
    "demo": demo.main,
    "bot": bot.main,
    "token": token.main,
}
USAGE = "usage: mediasoup-py {demo,bot,token} [options]   (mediasoup-py demo --help for the demo's)"


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments or arguments[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 2
    return COMMANDS[arguments[0]](arguments[1:])
