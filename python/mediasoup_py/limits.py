"""The bounds of what clients can make a server hold: rooms per server, peers per room, objects
per peer, and what one signaling connection may send and leave unread.

Every limit has a safe default; :class:`~mediasoup_py.server.Server`,
:class:`~mediasoup_py.room.Room` and the signaling layer (:mod:`mediasoup_py.signaling`) take a
:class:`Limits`. A request past one is refused with
:class:`~mediasoup_py.errors.LimitExceededError` naming it; nothing is created.

Also here: the checks of what clients name things (ids, display names) and :func:`quote`, how
logs show a client's string (``%r``-quoted and cut, so a newline cannot forge a log line).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from mediasoup_py import errors

__all__ = ["Limits", "check_app_data", "check_count", "check_display_name", "check_id", "quote"]

# How much of a client's string a log line shows.
QUOTED_LENGTH = 80


@dataclass(frozen=True)
class Limits:
    """Limits with safe defaults; change some with ``Limits(transports_per_peer=8)`` or
    :meth:`replace`. Counts are per object; sizes in bytes; times in seconds."""

    # Rooms a Server holds at once (each is a router on a worker).
    rooms_per_server: int = 100
    # Peers in one room (joined or not, broadcasters included).
    peers_per_room: int = 200
    # Transports one peer may hold (mediasoup-demo's client makes 2; a broadcaster 2-4).
    transports_per_peer: int = 4
    producers_per_peer: int = 16
    # Consumers one peer holds: the room's (one per producer of every other peer) included.
    consumers_per_peer: int = 600
    data_producers_per_peer: int = 16
    data_consumers_per_peer: int = 600
    # Peers listed in a join response, and announced (``newPeer``) to each peer before it
    # consumes from them: past this, peers are announced to a peer only when it gets a
    # consumer of theirs, so a join costs O(this), not O(peers), in a large room.
    announced_peers: int = 100
    # Bytes of a peer's ``appData`` (repeated in every ``newConsumer`` of its producers).
    app_data_bytes: int = 4096
    id_length: int = 64
    display_name_length: int = 128
    # Signaling connections: at once, from one address, and requests being answered on one.
    connections: int = 1000
    connections_per_address: int = 64
    pending_requests_per_connection: int = 32
    # One message's size and JSON nesting depth (mediasoup's messages nest 8 deep).
    message_bytes: int = 128 * 1024
    json_depth: int = 32
    # Messages and bytes queued for a client that does not read them: past either, it is
    # closed (1008) rather than buffered.
    send_queue_messages: int = 1024
    send_queue_bytes: int = 4 * 1024 * 1024
    # How long a client may take to answer a request (``newConsumer``) before the consumer
    # is dropped.
    client_request_timeout: float = 10.0
    # An HTTP connection without a complete request head for this long is closed (a
    # slowloris, or an idle keep-alive connection).
    http_idle_timeout: float = 10.0
    # A room with no peers for this long closes (``None``: never by itself).
    empty_room_grace: float | None = 30.0

    def replace(self, **changes: Any) -> Limits:
        """A copy with ``changes`` (unknown names raise ``MediasoupTypeError``)."""
        names = {field.name for field in dataclasses.fields(self)}
        for name in changes:
            if name not in names:
                raise errors.MediasoupTypeError(f"limits: no limit {name!r}", name)
        return dataclasses.replace(self, **changes)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.name == "empty_room_grace":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise errors.MediasoupTypeError(f"{field.name}: must be a number >= 0", field.name)


def check_count(limit: str, count: int, maximum: int) -> None:
    """Raises :class:`~mediasoup_py.errors.LimitExceededError` if one more (``count`` are
    there) would pass ``maximum``."""
    if count >= maximum:
        raise errors.LimitExceededError(limit, maximum)


def check_id(value: object, field: str, limits: Limits) -> str:
    """An id a client chose (a peer's, a broadcaster's): 1 to ``id_length`` printable
    characters, none of them ``:`` (reserved: the room's broadcasters are ``broadcaster:<id>``)
    nor whitespace."""
    if not isinstance(value, str) or not value:
        raise errors.MediasoupTypeError(f"{field}: must be a non-empty string", field)
    if len(value) > limits.id_length:
        raise errors.LimitExceededError(
            "id_length", limits.id_length, f"{field}: at most {limits.id_length} characters"
        )
    if not value.isprintable() or ":" in value or any(char.isspace() for char in value):
        raise errors.MediasoupTypeError(
            f"{field}: printable characters only, no spaces nor ':'", field
        )
    return value


def check_display_name(value: object, field: str, limits: Limits) -> str:
    """A display name: a string of at most ``display_name_length`` printable characters."""
    if not isinstance(value, str):
        raise errors.MediasoupTypeError(f"{field}: must be a string", field)
    if len(value) > limits.display_name_length:
        raise errors.LimitExceededError(
            "display_name_length",
            limits.display_name_length,
            f"{field}: at most {limits.display_name_length} characters",
        )
    if not value.isprintable():
        raise errors.MediasoupTypeError(f"{field}: printable characters only", field)
    return value


def check_app_data(value: object, field: str, limits: Limits) -> dict[str, Any]:
    """An ``appData`` object whose JSON is at most ``app_data_bytes``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.MediasoupTypeError(f"{field}: must be an object", field)
    try:
        size = len(json.dumps(value))
    except (TypeError, ValueError, RecursionError) as error:
        raise errors.MediasoupTypeError(f"{field}: must be JSON", field) from error
    if size > limits.app_data_bytes:
        maximum = limits.app_data_bytes
        raise errors.LimitExceededError(
            "app_data_bytes", maximum, f"{field}: at most {maximum} bytes"
        )
    return value


def quote(value: object) -> str:
    """How a log line shows a string a client sent: ``repr``, cut to a bounded length."""
    text = repr(value)
    if len(text) > QUOTED_LENGTH:
        return f"{text[:QUOTED_LENGTH]}...({len(text)} chars)"
    return text
