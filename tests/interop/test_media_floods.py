"""Floods on the media ports, with real sockets on 127.0.0.1: each attack runs at
ATTACK_PPS for ATTACK_SECONDS from the Rust flood generator (``mediasoup-flood``) while honest
media crosses the same router, and must not disturb it.

The victims, in the worker under attack:
- a paced SRTP flow from ``mediasoup-loadgen`` into a PlainTransport (comedia), forwarded by a
  consumer on a second PlainTransport to the load generator's sink, which counts every RTP
  packet that arrives: its loss is sent minus received, and must stay under 0.1% of what it
  sent during the attack;
- for the attacks on a WebRtcTransport's ICE port, an aiortc client (pymediasoup) sending opus
  on that very transport, whose packets a DirectTransport consumer numbers: every gap in the
  sequence numbers that cross the router during the attack is a lost packet.

The floods come from SOURCES sockets on as many loopback addresses, or, where an off-path
attacker would forge the honest peer's address (to reach SRTP authentication, the replay
check, the RTCP parser, an established DTLS session), from a raw socket with that source
address (the suite runs as root). Each test also checks that the worker counted what it
dropped, that nothing but STUN error responses no larger than the request went back to the
attacking sockets (no amplification; not measurable when the source is forged), that the
process did not grow with the packets, and that the worker still creates transports
afterwards. The rates and the victims' delivery are printed (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioice.ice
import pytest
from aioice import stun
from aiortc.mediastreams import AudioStreamTrack

import mediasoup_py
from benches.io_bench import LOADGEN, REPOSITORY, build_loadgen
from mediasoup_py.transport import Transport
from tests.interop.pymediasoup_peer import Peer

FLOOD = REPOSITORY / "target" / "release" / "mediasoup-flood"
# Asked of the generator; what it measures must be at least ATTACK_PPS_FLOOR (the issue's
# bar), on this 2-core machine while the worker and the victims run.
ATTACK_PPS = 52_000
ATTACK_PPS_FLOOR = 50_000
ATTACK_SECONDS = 10.0
HONEST_PPS = 1000
LOSS_BUDGET = 0.001
SOURCES = 256
SLOWLORIS_CONNECTIONS = 500
PROFILE = "AES_CM_128_HMAC_SHA1_80"
KEY_LEN = 30
PRODUCER_SSRC = 0x1000_0000  # the load generator's first stream
LOOPBACK_UDP: dict[str, Any] = {"protocol": "udp", "ip": "127.0.0.1"}
MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
# The worker thread's nice value during an attack (the suite runs as root).
WORKER_NICE = -10
GENERATOR_NICE = -5
# Peak RSS the process may gain during one attack: anything kept per flood packet (500,000 of
# them) would add tens of MB.
MAX_RSS_GROWTH_KB = 16 * 1024


@pytest.fixture(scope="module", autouse=True)
def binaries() -> None:
    build_loadgen()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def run_json(command: list[str], timeout: float) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    output, errors = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode == 0, errors.decode()
    result: dict[str, Any] = json.loads(output)
    return result


def flood_command(mode: str, target: tuple[str, int], **options: Any) -> list[str]:
    command = [str(FLOOD), "--mode", mode, "--target", f"{target[0]}:{target[1]}"]
    command += ["--pps", str(ATTACK_PPS), "--seconds", str(ATTACK_SECONDS)]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return command


@dataclass
class PlainVictim:
    """loadgen -> SRTP PlainTransport (comedia) -> producer -> consumer on a PlainTransport ->
    the load generator's sink."""

    ingress: mediasoup_py.PlainTransport
    egress: mediasoup_py.PlainTransport
    consumer: mediasoup_py.Consumer
    key: bytes
    sink_port: int

    @classmethod
    async def create(cls, router: mediasoup_py.Router) -> PlainVictim:
        ingress = await router.create_plain_transport(
            listen_info=LOOPBACK_UDP,  # type: ignore[arg-type]
            comedia=True,
            enable_srtp=True,
            srtp_crypto_suite=PROFILE,
        )
        key = os.urandom(KEY_LEN)
        await ingress.connect(
            srtp_parameters={"cryptoSuite": PROFILE, "keyBase64": base64.b64encode(key).decode()}
        )
        producer = await ingress.produce(
            kind="video",
            rtp_parameters={  # type: ignore[typeddict-item]
                "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
                "encodings": [{"ssrc": PRODUCER_SSRC}],
            },
        )
        sink_port = free_udp_port()
        egress = await router.create_plain_transport(listen_info=LOOPBACK_UDP, comedia=False)  # type: ignore[arg-type]
        await egress.connect(ip="127.0.0.1", port=sink_port)
        consumer = await egress.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        return cls(ingress, egress, consumer, key, sink_port)

    @property
    def ingress_port(self) -> int:
        port: int = self.ingress.tuple["localPort"]
        return port

    def command(self, target_port: int, seconds: float, sink: bool) -> list[str]:
        command = [str(LOADGEN), "--targets", f"127.0.0.1:{target_port}"]
        command += ["--pps", str(HONEST_PPS), "--seconds", str(seconds), "--payload", "1000"]
        command += ["--srtp", f"{PROFILE}:{self.key.hex()}", "--shape", "video"]
        if sink:
            command += ["--sink", f"127.0.0.1:{self.sink_port}"]
        return command

    async def honest_address(self) -> tuple[str, int]:
        """The honest sender's address, once comedia learned it."""
        for _ in range(100):
            learned = self.ingress.tuple
            if "remotePort" in learned:
                return learned["remoteIp"], learned["remotePort"]
            await asyncio.sleep(0.02)
        raise AssertionError("the honest sender never reached the PlainTransport")

    async def captured_packet(self) -> bytes:
        """The honest sender's first SRTP packet, captured on the wire: the load generator's
        streams start alike (SSRC, sequence 0, same key), so the honest run later sends a
        packet of the same SRTP index first (its payload differs only in the send time it
        carries): resent, this one is a replay."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as capture:
            capture.bind(("127.0.0.1", 0))
            capture.settimeout(5)
            port = capture.getsockname()[1]
            await run_json(self.command(port, 0.05, sink=False), timeout=10)
            packet, _ = capture.recvfrom(2048)
            return packet


@dataclass
class WebRtcVictim:
    """An aiortc client (pymediasoup) producing opus on a WebRtcTransport; a DirectTransport
    consumer numbers what the router forwards."""

    peer: Peer
    transport: mediasoup_py.WebRtcTransport
    arrivals: list[tuple[float, int]] = field(default_factory=list)

    @classmethod
    async def join(cls, router: mediasoup_py.Router) -> WebRtcVictim:
        created: list[Any] = []
        router.observer.on("newtransport", created.append)
        track = AudioStreamTrack()
        peer = await Peer.join(router, [track])
        [producer] = await peer.produce([track])
        [transport] = [t for t in created if isinstance(t, mediasoup_py.WebRtcTransport)]
        victim = cls(peer, transport)
        direct = await router.create_direct_transport()
        consumer = await direct.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        loop = asyncio.get_running_loop()
        consumer.on(
            "rtp",
            lambda packet: victim.arrivals.append(
                (loop.time(), struct.unpack("!H", packet[2:4])[0])
            ),
        )
        for _ in range(200):
            if len(victim.arrivals) >= 10:
                return victim
            await asyncio.sleep(0.05)
        raise AssertionError("no opus from aiortc reached the consumer")

    @property
    def port(self) -> int:
        port: int = self.transport.ice_candidates[0]["port"]
        return port

    def delivery(self, start: float, end: float) -> tuple[int, int]:
        """(received, expected) packets among those numbered between the first and the last
        to arrive in [start, end]: a gap is a loss."""
        extended, highest = [], None
        for _, sequence in sorted(self.arrivals):
            if highest is None:
                value = sequence
            else:
                value = highest + ((sequence - highest + 32768) % 65536) - 32768
            highest = value if highest is None else max(highest, value)
            extended.append(value)
        window = {
            value
            for (arrived, _), value in zip(sorted(self.arrivals), extended, strict=True)
            if start <= arrived <= end
        }
        assert window, "nothing arrived during the attack"
        return len(window), max(window) - min(window) + 1

    async def close(self) -> None:
        await self.peer.close()


def drop_total(stats: dict[str, Any]) -> int:
    return sum(stats["droppedDatagrams"].values())


async def transport_stats(transport: Transport) -> dict[str, Any]:
    [stats] = await transport.get_stats()
    return dict(stats)


@dataclass
class Attack:
    """What one attack measured."""

    flood: dict[str, Any]
    honest: dict[str, Any]
    started: float
    ended: float
    rss_growth_kb: int
    # Where honest packets went missing: how many the worker decrypted and forwarded.
    honest_reached_worker: int
    honest_forwarded: int
    worker_cpu_percent: float
    # Of the attack's duration, the share the worker thread spent waiting on a run queue:
    # runnable, but the host gave the core to others (a loaded machine, not the flood).
    worker_waiting_percent: float

    @property
    def flood_pps(self) -> float:
        return float(self.flood["sent"]) / float(self.flood["seconds"])

    @property
    def honest_lost(self) -> int:
        return int(self.honest["sent"] - self.honest["received"])

    def honest_budget(self) -> float:
        """Loss allowed: 0.1% of what the honest sender sent while the attack ran."""
        return LOSS_BUDGET * HONEST_PPS * float(self.flood["seconds"])

    def report(self, name: str, **extra: Any) -> None:
        if self.flood["mode"] == "tcp-slowloris":
            attack = f"{self.flood['sent']} connections held for {self.flood['seconds']} s"
        else:
            attack = (
                f"{self.flood['sent']} packets in {self.flood['seconds']} s = "
                f"{self.flood_pps:.0f} pps from {self.flood['sources']} sources"
            )
        print(
            f"\n[{name}] flood {attack} "
            f"(send errors {self.flood['send_errors']}); replies {self.flood['replies']} "
            f"({self.flood['reply_bytes']} B for {self.flood['bytes_sent']} B sent, largest "
            f"{self.flood['largest_reply']} B, stun errors {self.flood['stun_error_replies']}, "
            f"other {self.flood['other_replies']}); honest plain flow sent "
            f"{self.honest['sent']} received {self.honest['received']} lost {self.honest_lost} "
            f"(the worker got {self.honest_reached_worker}, forwarded {self.honest_forwarded}); "
            f"peak RSS +{self.rss_growth_kb} kB; worker thread CPU {self.worker_cpu_percent}% "
            f"(waiting for a core {self.worker_waiting_percent}%); "
            + "; ".join(f"{key} {value}" for key, value in extra.items())
        )

    def assert_honest_flow_undisturbed(self) -> None:
        assert self.honest["send_errors"] == 0, self.honest
        assert self.honest_lost <= self.honest_budget(), (self.honest, self.flood)
        assert self.rss_growth_kb <= MAX_RSS_GROWTH_KB, self.rss_growth_kb


async def attack(
    worker: mediasoup_py.Worker,
    plain: PlainVictim,
    flood: list[str] | None = None,
    *,
    spoof_honest_sender: bool = False,
) -> Attack:
    """Starts the honest plain flow, then the flood (``--spoof-source`` the honest sender's
    address if asked), and returns when both ended."""
    loop = asyncio.get_running_loop()
    honest = asyncio.ensure_future(
        run_json(plain.command(plain.ingress_port, ATTACK_SECONDS + 1.0, sink=True), 60)
    )
    honest_address = await plain.honest_address()
    assert flood is not None
    if spoof_honest_sender:
        flood = [*flood, "--spoof-source", f"{honest_address[0]}:{honest_address[1]}"]
    usage_before = await worker.get_resource_usage()
    scheduling_before = worker_thread_scheduling()
    # The flood generator, the honest senders and this test run on the worker's own two
    # cores, where an attacker and the peers never are; on a loaded host the scheduler then
    # left the worker thread off a core for longer than its socket's queue (about 100 ms of
    # flood) lasts, and the kernel dropped what arrived, honest packets with it (1 of 526 at
    # a 32% wait). Ahead of them in the run queue (as an SFU host runs its media threads),
    # the worker shows what it does with the datagrams it gets: serve the honest peers.
    for thread in scheduling_before:
        os.setpriority(os.PRIO_PROCESS, thread, WORKER_NICE)
    started = loop.time()
    # The generator too, behind the worker: on a loaded host it fell short of the rate asked.
    flood_result = await run_json(["nice", "-n", str(GENERATOR_NICE), *flood], ATTACK_SECONDS + 15)
    ended = loop.time()
    scheduling_after = worker_thread_scheduling()
    usage_after = await worker.get_resource_usage()
    honest_result = await honest
    rss_after = (await worker.get_resource_usage())["ru_maxrss"]
    cpu_ms = sum(usage_after[key] - usage_before[key] for key in ("ru_utime", "ru_stime"))
    ingress = await transport_stats(plain.ingress)
    consumer = (await plain.consumer.get_stats())[0]
    return Attack(
        flood_result,
        honest_result,
        started,
        ended,
        rss_after - usage_before["ru_maxrss"],
        honest_reached_worker=ingress["rtpPacketsReceived"],
        honest_forwarded=consumer["packetCount"],
        worker_cpu_percent=round(100 * cpu_ms / ((ended - started) * 1000), 1),
        worker_waiting_percent=waiting_percent(
            scheduling_before, scheduling_after, ended - started
        ),
    )


def worker_thread_scheduling() -> dict[int, tuple[int, int]]:
    """Nanoseconds on a core and waiting on a run queue (/proc schedstat) of each of this
    process's mediasoup_py worker threads, by thread id."""
    found = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            if not (task / "comm").read_text().startswith("mediasoup_py-wo"):
                continue
            running, waiting, _ = (task / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        found[int(task.name)] = (int(running), int(waiting))
    return found


def waiting_percent(
    before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]], seconds: float
) -> float:
    """The share of ``seconds`` that the worker thread that ran most meanwhile (the one
    under attack) spent waiting on a run queue."""
    deltas = [
        (after[tid][0] - before[tid][0], after[tid][1] - before[tid][1])
        for tid in after
        if tid in before
    ]
    if not deltas:
        return 0.0
    _, waited = max(deltas)
    return round(100 * waited / (seconds * 1e9), 1)


def kernel_drops(port: int) -> int:
    """Datagrams the kernel dropped for this namespace's UDP socket on ``port`` because its
    receive queue was full (/proc/net/udp's last column): the worker did not read them."""
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            return int(fields[-1])
    return 0


async def worker_still_serves(router: mediasoup_py.Router) -> None:
    """A new transport can be created and reports stats: the worker thread is alive."""
    transport = await router.create_webrtc_transport(listen_infos=[LOOPBACK_UDP])  # type: ignore[list-item]
    stats = await transport_stats(transport)
    assert stats["iceState"] == "new"
    transport.close()


@dataclass
class Scene:
    worker: mediasoup_py.Worker
    router: mediasoup_py.Router
    plain: PlainVictim
    webrtc: WebRtcVictim | None

    @classmethod
    async def create(cls, with_webrtc: bool) -> Scene:
        worker = await mediasoup_py.create_worker(rtc_min_port=48600, rtc_max_port=48799)
        router = await worker.create_router(media_codecs=MEDIA_CODECS)  # type: ignore[arg-type]
        plain = await PlainVictim.create(router)
        webrtc = await WebRtcVictim.join(router) if with_webrtc else None
        return cls(worker, router, plain, webrtc)

    async def close(self) -> None:
        if self.webrtc is not None:
            await self.webrtc.close()
        self.worker.close()


async def webrtc_port_flood(mode: str, spoof_client: bool = False) -> dict[str, Any]:
    """Floods the aiortc client's WebRtcTransport from SOURCES addresses, or with
    ``spoof_client`` from the client's own (validated) address."""
    scene = await Scene.create(with_webrtc=True)
    try:
        victim = scene.webrtc
        assert victim is not None
        before = await transport_stats(victim.transport)
        kernel_drops_before = kernel_drops(victim.port)
        options: dict[str, Any] = {"sources": SOURCES}
        if mode == "stun-bad-credentials":
            options["ice_ufrag"] = victim.transport.ice_parameters["usernameFragment"]
        if spoof_client:
            client = before["iceSelectedTuple"]
            options["spoof_source"] = f"{client['remoteIp']}:{client['remotePort']}"
        result = await attack(
            scene.worker,
            scene.plain,
            flood_command(mode, ("127.0.0.1", victim.port), **options),
        )
        await asyncio.sleep(0.3)
        after = await transport_stats(victim.transport)
        received, expected = victim.delivery(result.started, result.ended)
        await worker_still_serves(scene.router)
        return {
            "attack": result,
            "before": before,
            "after": after,
            "webrtc_received": received,
            "webrtc_expected": expected,
            "kernel_drops": kernel_drops(victim.port) - kernel_drops_before,
        }
    finally:
        await scene.close()


def check_webrtc_port_flood(name: str, outcome: dict[str, Any]) -> Attack:
    result: Attack = outcome["attack"]
    before, after = outcome["before"], outcome["after"]
    dropped = {
        reason: after["droppedDatagrams"][reason] - before["droppedDatagrams"][reason]
        for reason in before["droppedDatagrams"]
    }
    received, expected = outcome["webrtc_received"], outcome["webrtc_expected"]
    result.report(
        name,
        aiortc_delivery=f"{received}/{expected}",
        dropped_by_worker=dropped,
        datagrams_received=after["datagramsReceived"] - before["datagramsReceived"],
        kernel_dropped=outcome["kernel_drops"],
    )
    assert result.flood_pps >= ATTACK_PPS_FLOOR, result.flood
    result.assert_honest_flow_undisturbed()
    # Lost where: the kernel drops what arrives while the socket's receive queue is full,
    # which happens when the worker thread, needing about a fifth of a core for this flood,
    # waits for a core the host gives to others.
    assert expected - received <= LOSS_BUDGET * expected, (
        f"aiortc delivery {received}/{expected}; the kernel dropped "
        f"{outcome['kernel_drops']} datagrams on the socket; the worker thread waited for a "
        f"core {result.worker_waiting_percent}% of the attack (load average {os.getloadavg()})"
    )
    # The honest client's ICE and DTLS did not move.
    assert after["iceState"] == before["iceState"] == "completed"
    assert after["iceSelectedTuple"] == before["iceSelectedTuple"]
    assert after["dtlsState"] == "connected"
    outcome["dropped"] = dropped
    return result


def test_random_datagrams_on_the_ice_port() -> None:
    outcome = asyncio.run(webrtc_port_flood("random"))
    result = check_webrtc_port_flood("random datagrams", outcome)
    # Every flood datagram was read, dropped and counted (by what it looked like).
    assert sum(outcome["dropped"].values()) >= 0.99 * result.flood["sent"], outcome["dropped"]
    # Random bytes are never a valid STUN request (FINGERPRINT), so nothing is answered.
    assert result.flood["replies"] == 0, result.flood


def test_stun_with_bad_credentials_from_many_ports() -> None:
    outcome = asyncio.run(webrtc_port_flood("stun-bad-credentials"))
    result = check_webrtc_port_flood("STUN bad credentials", outcome)
    flood = result.flood
    # Each request got at most a 401 error response, never larger than the request.
    assert flood["other_replies"] == 0, flood
    assert flood["largest_reply"] <= flood["smallest_request"], flood
    assert flood["reply_bytes"] <= flood["bytes_sent"], flood
    assert outcome["dropped"]["stun"] >= 0.99 * flood["sent"], outcome["dropped"]


def test_dtls_client_hellos_from_many_addresses() -> None:
    outcome = asyncio.run(webrtc_port_flood("dtls-client-hello"))
    result = check_webrtc_port_flood("DTLS ClientHellos", outcome)
    # No handshake is started with a tuple that never passed an ICE check.
    assert result.flood["replies"] == 0, result.flood
    assert outcome["dropped"]["dtls"] >= 0.99 * result.flood["sent"], outcome["dropped"]


def test_dtls_client_hellos_from_the_clients_own_address() -> None:
    """The off-path attacker who knows the client's address: the hellos pass ICE's tuple
    check and reach the established DTLS session, which must neither restart nor answer."""
    outcome = asyncio.run(webrtc_port_flood("dtls-client-hello", spoof_client=True))
    result = check_webrtc_port_flood("DTLS ClientHellos (spoofed client)", outcome)
    before, after = outcome["before"], outcome["after"]
    # They all reached the transport (from the validated tuple, so into DTLS)...
    received = after["datagramsReceived"] - before["datagramsReceived"]
    assert received >= 0.99 * result.flood["sent"], received
    # ...where OpenSSL discards a ClientHello on an established association silently (so no
    # drop counter sees it): what went to the client was its RTCP and consent answers.
    sent_to_client = after["datagramsSent"] - before["datagramsSent"]
    print(f"[DTLS ClientHellos (spoofed client)] sent to the client meanwhile: {sent_to_client}")
    assert sent_to_client <= 10 * ATTACK_SECONDS, sent_to_client


async def webrtc_server_flood(mode: str) -> dict[str, Any]:
    """Floods a WebRtcServer's shared UDP port (with a transport on it) from SOURCES
    addresses: nothing there belongs to a transport, so the server drops and counts it."""
    scene = await Scene.create(with_webrtc=False)
    try:
        server = await scene.worker.create_webrtc_server(
            listen_infos=[{**LOOPBACK_UDP, "portRange": {"min": 48790, "max": 48799}}]
        )
        transport = await scene.router.create_webrtc_transport(webrtc_server=server)
        (listening,) = server.listening
        options: dict[str, Any] = {"sources": SOURCES}
        if mode == "stun-bad-credentials":
            # The transport's own username fragment, with a wrong password: the server
            # routes by username, and the transport refuses the check.
            options["ice_ufrag"] = transport.ice_parameters["usernameFragment"]
        result = await attack(
            scene.worker,
            scene.plain,
            flood_command(mode, ("127.0.0.1", listening["port"]), **options),
        )
        await asyncio.sleep(0.3)
        dump = await server.dump()
        stats = await transport_stats(transport)
        await worker_still_serves(scene.router)
        return {"attack": result, "dump": dump, "transport": stats}
    finally:
        await scene.close()


def test_random_datagrams_on_a_webrtc_servers_port() -> None:
    outcome = asyncio.run(webrtc_server_flood("random"))
    result: Attack = outcome["attack"]
    unrouted = outcome["dump"]["unroutedDatagrams"]
    result.report("WebRtcServer random datagrams", unrouted=unrouted)
    assert result.flood_pps >= ATTACK_PPS_FLOOR, result.flood
    result.assert_honest_flow_undisturbed()
    # Nothing claimed them: each was dropped and counted, none answered.
    assert sum(unrouted.values()) >= 0.99 * result.flood["sent"], unrouted
    assert result.flood["replies"] == 0, result.flood


def test_stun_with_bad_credentials_on_a_webrtc_servers_port() -> None:
    outcome = asyncio.run(webrtc_server_flood("stun-bad-credentials"))
    result: Attack = outcome["attack"]
    flood = result.flood
    dropped = outcome["transport"]["droppedDatagrams"]
    unrouted = outcome["dump"]["unroutedDatagrams"]
    result.report(
        "WebRtcServer STUN bad credentials", dropped_by_transport=dropped, unrouted=unrouted
    )
    assert result.flood_pps >= ATTACK_PPS_FLOOR, flood
    result.assert_honest_flow_undisturbed()
    # Half carry a wrong username (no transport claims them: dropped unanswered by the
    # server), half the transport's with a bad integrity (refused there with a small 401).
    assert dropped["stun"] + unrouted["stun"] >= 0.99 * flood["sent"], (dropped, unrouted)
    assert flood["stun_error_replies"] <= dropped["stun"], flood
    assert flood["other_replies"] == 0, flood
    assert flood["largest_reply"] <= flood["smallest_request"], flood
    assert outcome["transport"]["iceState"] == "new"


async def plain_flood(mode: str) -> dict[str, Any]:
    scene = await Scene.create(with_webrtc=False)
    try:
        plain = scene.plain
        target = plain.ingress
        options: dict[str, Any] = {}
        if mode == "srtp-bad-tag":
            options["ssrc"] = PRODUCER_SSRC
        elif mode == "srtp-replay":
            options["packet"] = (await plain.captured_packet()).hex()
        elif mode == "rtcp-absurd-length":
            # From the consumer's endpoint (the sink), where the egress transport takes RTCP.
            target = plain.egress
            options["ssrc"] = plain.consumer.rtp_parameters["encodings"][0]["ssrc"]
        before = await transport_stats(target)
        consumer_before = (await plain.consumer.get_stats())[0]
        port = target.tuple["localPort"]
        flood = flood_command(mode, ("127.0.0.1", port), **options)
        if mode == "rtcp-absurd-length":
            flood += ["--spoof-source", f"127.0.0.1:{plain.sink_port}"]
        result = await attack(
            scene.worker, plain, flood, spoof_honest_sender=mode.startswith("srtp")
        )
        await asyncio.sleep(0.3)
        after = await transport_stats(target)
        consumer_after = (await plain.consumer.get_stats())[0]
        await worker_still_serves(scene.router)
        return {
            "attack": result,
            "before": before,
            "after": after,
            "consumer_before": consumer_before,
            "consumer_after": consumer_after,
        }
    finally:
        await scene.close()


def check_plain_flood(name: str, outcome: dict[str, Any]) -> Attack:
    result: Attack = outcome["attack"]
    before, after = outcome["before"], outcome["after"]
    dropped = {
        reason: after["droppedDatagrams"][reason] - before["droppedDatagrams"][reason]
        for reason in before["droppedDatagrams"]
    }
    result.report(
        name,
        dropped_by_worker=dropped,
        datagrams_received=after["datagramsReceived"] - before["datagramsReceived"],
        rtcp_received=after["rtcpPacketsReceived"] - before["rtcpPacketsReceived"],
        rtcp_malformed=after["rtcpPacketsMalformed"] - before["rtcpPacketsMalformed"],
    )
    assert result.flood_pps >= ATTACK_PPS_FLOOR, result.flood
    result.assert_honest_flow_undisturbed()
    outcome["dropped"] = dropped
    return result


def test_srtp_with_bad_tags_from_the_honest_senders_address() -> None:
    outcome = asyncio.run(plain_flood("srtp-bad-tag"))
    result = check_plain_flood("SRTP bad tags (spoofed source)", outcome)
    # Every forged packet reached SRTP authentication and failed it.
    assert outcome["dropped"]["srtp"] >= 0.99 * result.flood["sent"], outcome["dropped"]


def test_replayed_srtp_from_the_honest_senders_address() -> None:
    outcome = asyncio.run(plain_flood("srtp-replay"))
    result = check_plain_flood("replayed SRTP (spoofed source)", outcome)
    # A captured packet authenticates, but its index was seen: the replay check drops it.
    assert outcome["dropped"]["srtp"] >= 0.99 * result.flood["sent"], outcome["dropped"]


def test_rtcp_with_absurd_lengths_from_the_consumers_endpoint() -> None:
    outcome = asyncio.run(plain_flood("rtcp-absurd-length"))
    result = check_plain_flood("RTCP absurd lengths (spoofed source)", outcome)
    before, after = outcome["before"], outcome["after"]
    # Taken as RTCP from the connected endpoint, parsed, counted as malformed...
    received = after["rtcpPacketsReceived"] - before["rtcpPacketsReceived"]
    malformed = after["rtcpPacketsMalformed"] - before["rtcpPacketsMalformed"]
    assert received >= 0.99 * result.flood["sent"], received
    assert malformed >= 0.99 * result.flood["sent"], malformed
    # ...and found to ask for nothing (the only valid packets in them are empty reports).
    consumer_before, consumer_after = outcome["consumer_before"], outcome["consumer_after"]
    for counter in ("packetsRetransmitted", "nackCount", "nackPacketCount", "pliCount", "firCount"):
        assert consumer_after[counter] == consumer_before[counter], counter


async def stun_check_over_tcp(
    transport: mediasoup_py.WebRtcTransport, port: int
) -> stun.Message | None:
    """An honest ICE-TCP client's first check: connect, send one framed Binding request,
    read the framed answer (None if the connection closed first)."""
    ice = transport.ice_parameters
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    request.attributes["USERNAME"] = f"{ice['usernameFragment']}:honest"
    request.attributes["PRIORITY"] = 0x6E7F1EFF
    request.attributes["ICE-CONTROLLING"] = 0x1234
    request.attributes["USE-CANDIDATE"] = None
    request.add_message_integrity(ice["password"].encode())
    payload = bytes(request)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(struct.pack("!H", len(payload)) + payload)
        await writer.drain()
        header = await asyncio.wait_for(reader.readexactly(2), 5)
        body = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", header)[0]), 5)
        return stun.parse_message(body)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    finally:
        writer.close()


async def slowloris() -> dict[str, Any]:
    scene = await Scene.create(with_webrtc=False)
    try:
        transport = await scene.router.create_webrtc_transport(
            listen_infos=[{"protocol": "tcp", "ip": "127.0.0.1"}]
        )
        port = transport.ice_candidates[0]["port"]
        ice_states: list[str] = []
        transport.on("icestatechange", ice_states.append)
        command = [str(FLOOD), "--mode", "tcp-slowloris", "--target", f"127.0.0.1:{port}"]
        command += ["--seconds", str(ATTACK_SECONDS), "--sources", str(SLOWLORIS_CONNECTIONS)]

        async def honest_client_midway() -> stun.Message | None:
            await asyncio.sleep(ATTACK_SECONDS / 2)
            return await stun_check_over_tcp(transport, port)

        answer = asyncio.ensure_future(honest_client_midway())
        result = await attack(scene.worker, scene.plain, command)
        await worker_still_serves(scene.router)
        return {"attack": result, "answer": await answer, "ice_states": ice_states}
    finally:
        await scene.close()


def test_slowloris_tcp_connections_do_not_lock_out_an_honest_ice_tcp_client() -> None:
    outcome = asyncio.run(slowloris())
    result: Attack = outcome["attack"]
    answer = outcome["answer"]
    result.report(
        "TCP slowloris",
        connections=result.flood["sent"],
        refused=result.flood["refused"],
        closed_by_server=result.flood["closed_by_peer"],
        honest_check=answer and (answer.message_class.name, answer.error_code),
    )
    # A few connects may time out while the listener's backlog is full; nearly all get in.
    assert result.flood["sent"] + result.flood["refused"] == SLOWLORIS_CONNECTIONS, result.flood
    assert result.flood["sent"] >= 0.95 * SLOWLORIS_CONNECTIONS, result.flood
    # The server never answers a frame it has not received whole.
    assert result.flood["reply_bytes"] == 0, result.flood
    result.assert_honest_flow_undisturbed()
    assert answer is not None, "the honest ICE-TCP client's connection was closed"
    assert answer.message_class == stun.Class.RESPONSE, answer
    # Its check selected its connection; closing it afterwards disconnected ICE.
    assert outcome["ice_states"] == ["completed", "disconnected"], outcome["ice_states"]
