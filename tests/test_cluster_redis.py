"""The cluster's Redis side against a real redis-server started here: the node registry
(heartbeats, expiry, a Redis restart, a node with another secret), the room directory, and
the message bus (room messages, requests between nodes, signatures, reconnection)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis

from mediasoup_py.cluster.bus import Bus, ClusterRequestError
from mediasoup_py.cluster.directory import PeerEntry, ProducerEntry, RoomDirectory
from mediasoup_py.cluster.keys import Keys
from mediasoup_py.cluster.node import ClusterNode
from mediasoup_py.cluster.registry import NodeInfo, NodeRegistry
from mediasoup_py.cluster.signing import SignatureError, Signer
from tests.redis_server import RedisServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(_free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_with_redis(server: RedisServer, scenario: Callable[[Redis], Awaitable[None]]) -> None:
    """Runs ``scenario`` with a client of ``server`` (bounded in time)."""

    async def main() -> None:
        client = Redis.from_url(server.url)
        try:
            await asyncio.wait_for(scenario(client), timeout=30)
        finally:
            await client.aclose()

    asyncio.run(main())


KEYS = Keys("test")


def _registry(redis: Redis, node_id: str, secret: str | None = "s3cret") -> NodeRegistry:
    return NodeRegistry(
        redis,
        KEYS,
        Signer(secret),
        NodeInfo(node_id, "10.0.0.1"),
        heartbeat_interval=0.5,
        ttl=2.0,
        confirm=1.0,
    )


async def _until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# Signed records.


@given(st.dictionaries(st.text(), st.integers() | st.text() | st.booleans()))
def test_a_sealed_record_opens_to_what_was_sealed(payload: dict[str, Any]) -> None:
    signer = Signer("secret")
    assert signer.open(signer.seal(payload)) == payload


def test_records_of_another_secret_or_tampered_or_unsigned_are_refused() -> None:
    ours, theirs = Signer("ours"), Signer("theirs")
    record = theirs.seal({"nodeId": "x"})
    with pytest.raises(SignatureError, match="signature"):
        ours.open(record)
    with pytest.raises(SignatureError, match="signature"):
        ours.open(Signer(None).seal({"nodeId": "x"}))
    tampered = ours.seal({"nodeId": "x"}).replace('\\"x\\"', '\\"y\\"')
    with pytest.raises(SignatureError, match="signature"):
        ours.open(tampered)
    for garbage in (b"", b"[]", b'{"body": 1}', b"\xff", b"[" * 100_000):
        with pytest.raises(SignatureError):
            ours.open(garbage)


def test_an_old_message_is_refused_as_a_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer("secret")
    record = signer.seal_message({"type": "peerjoined"})
    assert signer.open_message(record)["type"] == "peerjoined"
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(SignatureError, match="too old"):
        signer.open_message(record)


@given(st.text(min_size=1))
def test_room_ids_stay_inside_their_own_names(room_id: str) -> None:
    channel = KEYS.room_channel(room_id)
    assert KEYS.room_of_channel(channel) == room_id
    for name in (KEYS.room_peers(room_id), KEYS.room_producers(room_id), channel):
        assert name.startswith("test:room:")
        assert name.count(":") == channel.count(":") + (name != channel)


# The node registry.


def test_nodes_see_each_other_and_a_killed_node_goes_within_its_deadline(
    redis_server: RedisServer,
) -> None:
    async def scenario(redis: Redis) -> None:
        # Each node has its own connection, as separate processes would.
        other = Redis.from_url(redis_server.url)
        alpha, beta = _registry(redis, "alpha"), _registry(other, "beta")
        downs: list[tuple[str, bool]] = []
        alpha.on("nodedown", lambda node_id, reaper: downs.append((node_id, reaper)))
        await alpha.start()
        await beta.start()
        await _until(lambda: set(alpha.live) == {"alpha", "beta"} == set(beta.live))
        assert alpha.live["beta"].pipe_address == "10.0.0.1"
        # Killed: it stops beating without deregistering.
        assert beta._task is not None
        beta._task.cancel()
        killed = time.monotonic()
        await _until(lambda: downs, timeout=10)
        elapsed = time.monotonic() - killed
        # ttl + confirm + a beat (2 + 1 + 0.5 s), with room for a loaded machine.
        assert elapsed < 6, elapsed
        assert downs == [("beta", True)]
        assert set(alpha.live) == {"alpha"}
        assert await redis.smembers(KEYS.nodes) == {b"alpha"}
        await alpha.stop()
        await other.aclose()

    run_with_redis(redis_server, scenario)


def test_a_redis_restart_does_not_take_nodes_down(redis_server: RedisServer) -> None:
    async def scenario(redis: Redis) -> None:
        # Each node has its own connection, as separate processes would.
        other = Redis.from_url(redis_server.url)
        alpha, beta = _registry(redis, "alpha"), _registry(other, "beta")
        events: list[str] = []
        for registry in (alpha, beta):
            registry.on("nodedown", lambda node_id, reaper: events.append(f"down {node_id}"))
            registry.on("resync", lambda: events.append("resync"))
        await alpha.start()
        await beta.start()
        await _until(lambda: len(alpha.live) == len(beta.live) == 2)
        events.clear()
        await asyncio.to_thread(redis_server.restart)
        # Both re-register (and are told to write their state again); nobody goes down.
        await _until(lambda: events.count("resync") == 2)
        await asyncio.sleep(2.5)
        assert events == ["resync", "resync"]
        assert set(alpha.live) == set(beta.live) == {"alpha", "beta"}
        assert await redis.smembers(KEYS.nodes) == {b"alpha", b"beta"}
        await alpha.stop()
        await beta.stop()
        await other.aclose()

    run_with_redis(redis_server, scenario)


def test_a_node_registered_since_the_last_sweep_is_looked_up_not_refused(
    redis_server: RedisServer,
) -> None:
    """A node that just started asks the others for pipes at once: they look it up
    rather than refuse it until their next beat (the cluster test's participants missed
    each other's media that way on a loaded machine)."""

    async def scenario(redis: Redis) -> None:
        slow = {"heartbeat_interval": 30.0, "ttl": 60.0}
        alpha = await ClusterNode.start(
            redis_server.url, pipe_ip="127.0.0.1", node_id="alpha", secret="s", **slow
        )
        beta = await ClusterNode.start(
            redis_server.url, pipe_ip="127.0.0.1", node_id="beta", secret="s", **slow
        )
        intruder = await ClusterNode.start(
            redis_server.url, pipe_ip="127.0.0.1", node_id="intruder", secret="t", **slow
        )
        assert set(alpha.registry.live) == {"alpha"}
        # Past the registration check: alpha holds no such room.
        with pytest.raises(ClusterRequestError, match="does not hold that room"):
            await beta.bus.request("alpha", "pipeopen", {"roomId": "r"})
        assert set(alpha.registry.live) == {"alpha", "beta"}
        assert not await alpha.registry.trusts("intruder")
        assert not await alpha.registry.trusts("nobody")
        for node in (intruder, beta, alpha):
            await node.stop()

    run_with_redis(redis_server, scenario)


def test_a_node_with_another_secret_is_not_trusted(redis_server: RedisServer) -> None:
    async def scenario(redis: Redis) -> None:
        alpha = _registry(redis, "alpha", secret="right")
        intruder = _registry(redis, "intruder", secret="wrong")
        await alpha.start()
        await intruder.start()
        await asyncio.sleep(1)
        assert set(alpha.live) == {"alpha"}
        assert set(intruder.live) == {"intruder"}
        await alpha.stop()
        await intruder.stop()

    run_with_redis(redis_server, scenario)


# The room directory.


def test_the_directory_files_peers_and_producers_and_reaps_a_gone_node(
    redis_server: RedisServer,
) -> None:
    async def scenario(redis: Redis) -> None:
        directory = RoomDirectory(redis, KEYS, Signer("s"))
        room = "room:with:colons"
        await directory.add_peer(room, PeerEntry("ann", "alpha", "Ann", {"name": "chromium"}))
        await directory.add_peer(room, PeerEntry("bob", "beta", "Bob"))
        producer = ProducerEntry("p1", "beta", "bob", "video", {"codecs": []}, {"source": "cam"})
        await directory.add_producer(room, producer)
        view = await directory.room(room)
        assert set(view.peers) == {"ann", "bob"}
        assert view.peers["ann"].device == {"name": "chromium"}
        assert view.producers == {"p1": producer}
        # An entry nobody signed with our secret is not read back.
        await redis.hset(KEYS.room_peers(room), "eve", Signer("other").seal({"peerId": "eve"}))
        assert "eve" not in (await directory.room(room)).peers
        await redis.hdel(KEYS.room_peers(room), "eve")
        assert await directory.reap("beta") == [room]
        view = await directory.room(room)
        assert set(view.peers) == {"ann"}
        assert not view.producers
        await directory.remove_peer(room, "ann", "alpha", node_leaves=True)
        assert await redis.keys(KEYS.everything) == []

    run_with_redis(redis_server, scenario)


# The bus.


async def _bus(redis: Redis, node_id: str, secret: str = "s") -> Bus:
    bus = Bus(redis, KEYS, Signer(secret), node_id)
    await bus.start()
    return bus


def test_room_messages_reach_the_nodes_of_the_room_only(redis_server: RedisServer) -> None:
    async def scenario(redis: Redis) -> None:
        alpha, beta, gamma = [await _bus(redis, name) for name in ("alpha", "beta", "gamma")]
        heard: dict[str, list[Any]] = {"alpha": [], "beta": [], "gamma": []}
        for name, bus in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
            bus.on(
                "room", lambda room_id, message, name=name: heard[name].append((room_id, message))
            )
        for bus in (alpha, beta):
            await bus.join_room("r:1")
        await alpha.publish_room("r:1", {"type": "peerjoined", "peerId": "ann"})
        await _until(lambda: heard["beta"])
        await asyncio.sleep(0.2)
        ((room_id, message),) = heard["beta"]
        assert room_id == "r:1"
        assert message["type"] == "peerjoined"
        assert message["from"] == "alpha"
        assert heard["alpha"] == []
        assert heard["gamma"] == []
        for bus in (alpha, beta, gamma):
            await bus.stop()

    run_with_redis(redis_server, scenario)


def test_requests_get_replies_errors_and_timeouts(redis_server: RedisServer) -> None:
    async def scenario(redis: Redis) -> None:
        alpha, beta = await _bus(redis, "alpha"), await _bus(redis, "beta")

        async def handler(sender: str, method: str, data: dict[str, Any]) -> dict[str, Any]:
            if method == "fail":
                raise ClusterRequestError("no such producer")
            return {"sender": sender, "echo": data["value"]}

        beta.set_request_handler(handler)
        assert await alpha.request("beta", "echo", {"value": 7}) == {"sender": "alpha", "echo": 7}
        with pytest.raises(ClusterRequestError, match="no such producer"):
            await alpha.request("beta", "fail", {})
        with pytest.raises(ClusterRequestError, match="does not listen"):
            await alpha.request("nobody", "echo", {"value": 1})
        for bus in (alpha, beta):
            await bus.stop()

    run_with_redis(redis_server, scenario)


def test_messages_signed_with_another_secret_are_dropped(redis_server: RedisServer) -> None:
    async def scenario(redis: Redis) -> None:
        alpha, intruder = await _bus(redis, "alpha"), await _bus(redis, "intruder", "wrong")
        heard: list[Any] = []
        alpha.on("room", lambda room_id, message: heard.append(message))
        await alpha.join_room("r")
        await intruder.publish_room("r", {"type": "peerjoined", "peerId": "eve"})
        with pytest.raises(ClusterRequestError, match="did not answer"):
            await intruder.request("alpha", "pipe", {}, timeout=0.5)
        assert heard == []
        assert alpha.refused == 2
        for bus in (alpha, intruder):
            await bus.stop()

    run_with_redis(redis_server, scenario)


def test_the_bus_subscribes_again_after_a_redis_restart(redis_server: RedisServer) -> None:
    async def scenario(redis: Redis) -> None:
        alpha, beta = await _bus(redis, "alpha"), await _bus(redis, "beta")
        reconnected: list[str] = []
        beta.on("reconnect", lambda: reconnected.append("beta"))
        heard: list[Any] = []
        beta.on("room", lambda room_id, message: heard.append(message))
        await beta.join_room("r")
        await asyncio.to_thread(redis_server.restart)
        await _until(lambda: reconnected)
        await _until(lambda: _published(alpha) and heard, timeout=5)
        assert heard[0]["type"] == "hello"
        for bus in (alpha, beta):
            await bus.stop()

    run_with_redis(redis_server, scenario)


def _published(bus: Bus) -> bool:
    """Publishes one hello (retried by the caller's loop until heard)."""
    task = asyncio.ensure_future(bus.publish_room("r", {"type": "hello"}))
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    return True


def test_a_node_prunes_what_it_filed_and_no_longer_holds(redis_server: RedisServer) -> None:
    async def scenario(redis: Redis) -> None:
        directory = RoomDirectory(redis, KEYS, Signer("s"))
        for peer in ("kept", "stale"):
            await directory.add_peer("r1", PeerEntry(peer, "alpha"))
        await directory.add_peer("old", PeerEntry("gone", "alpha"))
        await directory.add_peer("r1", PeerEntry("other", "beta"))
        await directory.add_producer(
            "r1", ProducerEntry("p-stale", "alpha", "stale", "audio", {}, {})
        )
        await directory.prune_node("alpha", {"r1": {"kept"}})
        assert set((await directory.room("r1")).peers) == {"kept", "other"}
        assert (await directory.room("r1")).producers == {}
        assert (await directory.room("old")).peers == {}
        assert await redis.smembers(KEYS.node_rooms("alpha")) == {b"r1"}

    run_with_redis(redis_server, scenario)
