"""Rooms across machines: mediasoup_py processes (nodes) that share one Redis serve the same
rooms together. Redis holds the node registry (heartbeats, expiry), the room directory
(which node holds which peers and producers of each room) and carries the nodes' messages
(pub/sub); the media goes node to node over PipeTransports, each producer once to each node
that has consumers of it, and fans out there.

- :mod:`~mediasoup_py.cluster.keys`: every Redis name;
- :mod:`~mediasoup_py.cluster.signing`: signed records (an optional shared secret);
- :mod:`~mediasoup_py.cluster.registry`: the node registry;
- :mod:`~mediasoup_py.cluster.directory`: the room directory;
- :mod:`~mediasoup_py.cluster.bus`: room messages and requests between nodes;
- :mod:`~mediasoup_py.cluster.cascade`: which pipes feed which copies of a producer.

The ``redis`` package (the ``cluster`` extra) is needed only by a node that uses Redis.
"""

from mediasoup_py.cluster.cascade import REMOTE, CascadePlanner, Hop
from mediasoup_py.cluster.keys import Keys
from mediasoup_py.cluster.signing import SignatureError, Signer

__all__ = ["REMOTE", "CascadePlanner", "Hop", "Keys", "SignatureError", "Signer"]
