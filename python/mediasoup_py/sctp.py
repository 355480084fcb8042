"""The SCTP association of DataChannels (RFC 9260 over DTLS per RFC 8261, data channels per
RFC 8831, DCEP per RFC 8832), as the transports run it, driven from Python: sans-IO, fed SCTP
packets and the time (seconds since the object was made), it returns packets to send, a
deadline and events.

>>> association = SctpAssociation()                                  # doctest: +SKIP
>>> association.start("server")                                      # doctest: +SKIP
>>> association.handle_packet(init_from_peer, now=0.0)               # doctest: +SKIP
>>> association.poll_transmit(now=0.0)  # the INIT ACK                # doctest: +SKIP

Events are dicts with a ``type``: ``state`` (``state``: mediasoup's ``sctpState``),
``message`` (``stream_id``, ``ppid``, ``payload``), ``channel_opened`` (an in-band DCEP open,
already acknowledged: ``stream_id``, ``label``, ``protocol``, ``ordered`` and the limit),
``stream_closed`` and ``buffered_amount_low``.
"""

from __future__ import annotations

from mediasoup_py._core import SctpAssociation

__all__ = ["SctpAssociation"]
