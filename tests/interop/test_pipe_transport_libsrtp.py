"""A PipeTransport with SRTP, fed by libsrtp (pylibsrtp) playing the other end of the pipe:
its packets decrypt, and packets from any other address are dropped."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import pylibsrtp

import mediasoup_py
from tests.packets import rtp_packet


async def pipe_from_libsrtp() -> dict[str, object]:
    worker = await mediasoup_py.create_worker(rtc_min_port=46000, rtc_max_port=46099)
    other_end = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        router = await worker.create_router()
        pipe = await router.create_pipe_transport(
            listen_info={"protocol": "udp", "ip": "127.0.0.1"}, enable_srtp=True
        )
        ours = pipe.srtp_parameters
        assert ours is not None
        assert ours["cryptoSuite"] == "AEAD_AES_256_GCM"
        assert len(base64.b64decode(ours["keyBase64"])) == 44
        other_end.bind(("127.0.0.1", 0))
        intruder.bind(("127.0.0.1", 0))
        key = os.urandom(44)
        await pipe.connect(
            ip="127.0.0.1",
            port=other_end.getsockname()[1],
            srtp_parameters={
                "cryptoSuite": "AEAD_AES_256_GCM",
                "keyBase64": base64.b64encode(key).decode(),
            },
        )
        libsrtp = pylibsrtp.Session(
            pylibsrtp.Policy(
                key=key,
                ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
            )
        )
        destination = ("127.0.0.1", pipe.tuple["localPort"])
        for sequence in range(200):
            plain = rtp_packet(sequence_number=sequence, payload=bytes(900))
            protected = libsrtp.protect(plain)
            other_end.sendto(protected, destination)
            if sequence % 10 == 0:
                intruder.sendto(protected, destination)
            if sequence % 50 == 0:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        [stats] = await pipe.get_stats()
        return stats
    finally:
        other_end.close()
        intruder.close()
        worker.close()


def test_libsrtp_packets_cross_the_pipe_and_intruders_are_dropped() -> None:
    stats = asyncio.run(pipe_from_libsrtp())
    assert stats["type"] == "pipe-transport"
    assert stats["rtpPacketsReceived"] == 200
    dropped = stats["droppedDatagrams"]
    assert dropped["srtp"] == 0  # type: ignore[index]
    assert dropped["mediaNotReady"] == 20  # type: ignore[index]
