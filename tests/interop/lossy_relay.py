"""A UDP relay on 127.0.0.1 between a client and the server that impairs one direction for
real: the client is given the relay's port as the server's candidate, the relay forwards each
datagram to the other side, drops a fraction of the SRTP/SRTCP going one way at random, and
can make that way a bottleneck (a link of ``rate_bps`` with a drop-tail queue)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Literal

# RFC 7983: first byte 128..191 is RTP or RTCP; STUN and DTLS pass untouched so the
# connection sets up as it would, and loss hits media and feedback only.
_MEDIA_FIRST_BYTES = range(128, 192)


@dataclass
class LossyRelay(asyncio.DatagramProtocol):
    """Forwards between one client and ``server``; ``loss`` is the drop probability of
    media going ``towards`` one of them, and ``rate_bps`` (when set) the capacity of that way,
    whose queue holds ``max_queue_s`` of packets."""

    server: tuple[str, int]
    loss: float
    towards: Literal["client", "server"] = "client"
    seed: int = 1
    rate_bps: float | None = None
    max_queue_s: float = 0.25
    # The client's network went away: nothing it sends reaches the server.
    client_cut_off: bool = False
    forwarded: int = 0
    dropped: int = 0
    _busy_until: float = 0.0
    _client: tuple[str, int] | None = None
    _transport: asyncio.DatagramTransport | None = None
    _random: random.Random = field(default_factory=random.Random)

    @classmethod
    async def start(
        cls,
        server: tuple[str, int],
        loss: float,
        towards: Literal["client", "server"] = "client",
        seed: int = 1,
    ) -> LossyRelay:
        relay = cls(server=server, loss=loss, towards=towards, seed=seed)
        relay._random.seed(seed)
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: relay, local_addr=("127.0.0.1", 0)
        )
        relay._transport = transport
        return relay

    @property
    def port(self) -> int:
        assert self._transport is not None
        port: int = self._transport.get_extra_info("sockname")[1]
        return port

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self._transport is not None
        from_server = addr == self.server
        if not from_server:
            self._client = addr
        destination = self._client if from_server else self.server
        if destination is None:
            return
        if self.client_cut_off and not from_server:
            self.dropped += 1
            return
        lossy_way = (self.towards == "client") == from_server
        media = bool(data) and data[0] in _MEDIA_FIRST_BYTES
        if lossy_way and media and self._random.random() < self.loss:
            self.dropped += 1
            return
        if lossy_way and self.rate_bps is not None:
            self._through_bottleneck(data, destination, self.rate_bps)
            return
        self._transport.sendto(data, destination)
        self.forwarded += 1

    def _through_bottleneck(self, data: bytes, destination: tuple[str, int], rate: float) -> None:
        """Queues the datagram behind the others on a link of ``rate`` bits per second; a
        full queue drops it."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        starts = max(now, self._busy_until)
        if starts - now > self.max_queue_s:
            self.dropped += 1
            return
        self._busy_until = starts + len(data) * 8 / rate
        loop.call_at(self._busy_until, self._deliver, data, destination)

    def _deliver(self, data: bytes, destination: tuple[str, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, destination)
            self.forwarded += 1

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
