"""Where the cluster's state lives in Redis: every key and channel name, in one place.

Client-chosen strings (room and peer ids) only ever appear percent-encoded inside a name, so
no id can reach another room's keys or a node's (``a:b`` is ``a%3Ab``), and every name starts
with the cluster's namespace, so several clusters can share one Redis database.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

__all__ = ["Keys"]


def _encode(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class Keys:
    """The names under one namespace (``msp`` unless told otherwise)."""

    namespace: str = "msp"

    @property
    def nodes(self) -> str:
        """Set of the ids of the registered nodes."""
        return f"{self.namespace}:nodes"

    def node(self, node_id: str) -> str:
        """A node's signed registration; it expires unless the node keeps beating."""
        return f"{self.namespace}:node:{_encode(node_id)}"

    def node_rooms(self, node_id: str) -> str:
        """Set of the rooms a node holds peers of (to clean up after it if it dies)."""
        return f"{self.namespace}:node:{_encode(node_id)}:rooms"

    def room_peers(self, room_id: str) -> str:
        """Hash peer id -> the signed entry of that peer (which node it is on, its name)."""
        return f"{self.namespace}:room:{_encode(room_id)}:peers"

    def room_producers(self, room_id: str) -> str:
        """Hash producer id -> the signed entry of that producer (its node, parameters)."""
        return f"{self.namespace}:room:{_encode(room_id)}:producers"

    def room_channel(self, room_id: str) -> str:
        """Pub/sub channel of a room's joins, leaves and producer changes."""
        return f"{self.namespace}:room:{_encode(room_id)}"

    def room_of_channel(self, channel: str) -> str | None:
        """The room id a room channel name is for (``None``: not a room channel)."""
        prefix = f"{self.namespace}:room:"
        if not channel.startswith(prefix) or ":" in channel[len(prefix) :]:
            return None
        return unquote(channel[len(prefix) :])

    def inbox(self, node_id: str) -> str:
        """Pub/sub channel of requests and replies addressed to one node."""
        return f"{self.namespace}:node:{_encode(node_id)}:inbox"

    @property
    def everything(self) -> str:
        """A pattern matching every key of this namespace (for tests and clean-up checks)."""
        return f"{self.namespace}:*"
