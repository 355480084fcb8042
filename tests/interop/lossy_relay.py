"""A UDP relay on 127.0.0.1 between a client and the server that loses packets for real: the
client is given the relay's port as the server's candidate, the relay forwards each datagram
to the other side, and drops a fraction of the SRTP/SRTCP going one way at random."""

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
    media going ``towards`` one of them."""

    server: tuple[str, int]
    loss: float
    towards: Literal["client", "server"] = "client"
    seed: int = 1
    forwarded: int = 0
    dropped: int = 0
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
        lossy_way = (self.towards == "client") == from_server
        media = bool(data) and data[0] in _MEDIA_FIRST_BYTES
        if lossy_way and media and self._random.random() < self.loss:
            self.dropped += 1
            return
        self._transport.sendto(data, destination)
        self.forwarded += 1

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
