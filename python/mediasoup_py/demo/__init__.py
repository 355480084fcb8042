"""The video-conference demo: ``python -m mediasoup_py.demo`` starts an SFU and a web server in
one process; open the URL it logs in two browser tabs, pick the same room, and talk.

The page is plain HTML and JavaScript over mediasoup-client v3 (bundled from npm by the set-up
command); signaling is a WebSocket carrying :mod:`mediasoup_py.protocol` messages to a
:class:`~mediasoup_py.room.Room` per room name.
"""

from mediasoup_py.demo.server import DemoServer, DemoSettings

__all__ = ["DemoServer", "DemoSettings"]
