"""Rooms across hosts: two demo nodes, each on a host of its own (a network namespace with
its own address on a bridge), sharing a Redis on a third host, with a shared secret.
Participants (the demo's pymediasoup bot) join room ``r`` through different nodes' WebSockets
and decode each other's video and audio, cascaded once per producer over an SRTP
PipeTransport between the nodes; a killed node's peers are gone from the other's room within
10 s; a Redis restart keeps the room (no duplicate pipe, a newcomer still sees everyone);
a node with another secret is not trusted."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.cluster_hosts import REPOSITORY, ClusterOnHosts
from tests.interop.ffmpeg_peer import probe


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClusterOnHosts]:
    on_hosts = ClusterOnHosts(tmp_path)
    try:
        on_hosts.start_node("a")
        on_hosts.start_node("b")
        yield on_hosts
    finally:
        on_hosts.close()


def decoded(path: Path) -> dict[str, int]:
    """Frames ffmpeg decodes in a recording, by kind."""
    streams = asyncio.run(probe(path))
    return {stream["codec_type"]: int(stream.get("nb_read_frames", 0)) for stream in streams}


def peers(room: dict[str, Any]) -> list[list[str]]:
    found: list[list[str]] = room.get("peers", [])
    return found


def test_participants_on_two_nodes_decode_each_other(
    cluster: ClusterOnHosts, tmp_path: Path
) -> None:
    ann = cluster.bot("a", "ann", seconds=30, record=tmp_path / "ann.webm")
    bob = cluster.bot("b", "bob", seconds=30, record=tmp_path / "bob.webm")
    cluster.wait(
        lambda: len(cluster.room("a")["pipes"]) == 2 and len(cluster.room("b")["pipes"]) == 2,
        "each node to pipe in the other's two producers",
    )
    a, b = cluster.room("a"), cluster.room("b")
    assert peers(a) == [["ann", "Peer"], ["bob", "RemotePeer"]]
    assert peers(b) == [["ann", "RemotePeer"], ["bob", "Peer"]]
    # Each producer crossed once, from its node, over one pipe between the two nodes.
    assert sorted(pipe["from"] for pipe in a["pipes"]) == ["b", "b"]
    assert sorted(pipe["from"] for pipe in b["pipes"]) == ["a", "a"]
    assert a["link"]["incomingPipes"] == a["link"]["outgoingPipes"] == 1
    assert b["link"]["incomingPipes"] == b["link"]["outgoingPipes"] == 1
    for bot in (ann, bob):
        assert bot.wait(60) == 0
    for name in ("ann", "bob"):
        frames = decoded(tmp_path / f"{name}.webm")
        # Decoded by ffmpeg from what the bot (aiortc) received and recorded; few on a
        # loaded machine (aiortc encodes and decodes in Python threads, and its recorder
        # starts at the first decoded video frame), some always.
        assert frames.get("video", 0) >= 3, (name, frames)
        assert frames.get("audio", 0) >= 3, (name, frames)
    # Both left: nothing of the room stays, on the nodes or in Redis.
    cluster.wait(lambda: not cluster.room("a") and not cluster.room("b"), "the rooms to go")
    cluster.wait(
        lambda: cluster.redis_keys() == ["msp:node:a", "msp:node:b", "msp:nodes"],
        "only the nodes' registrations to stay in Redis",
    )


def test_a_killed_node_leaves_the_room_within_ten_seconds(cluster: ClusterOnHosts) -> None:
    cluster.bot("a", "ann", seconds=60)
    cluster.bot("b", "bob", seconds=60)
    cluster.wait(lambda: len(cluster.room("b")["pipes"]) == 2, "bob to receive ann")
    killed = time.monotonic()
    cluster.kill_node("a")
    gone_after = cluster.wait(
        lambda: peers(cluster.room("b")) == [["bob", "Peer"]],
        "ann to leave bob's room",
        timeout=15,
    )
    room = cluster.room("b")
    print(f"killed node's peer gone from the other node's room after {gone_after:.1f} s")
    assert gone_after < 10
    assert time.monotonic() - killed < 11
    # Her producers' copies and bob's consumers of them closed; the pipe to a closed.
    assert room["pipes"] == []
    assert room["consumers"] == 0
    assert room["link"] == {"remotePeers": [], "incomingPipes": 0, "outgoingPipes": 0}
    assert cluster.debug("b")["live"] == ["b"]
    cluster.wait(
        lambda: not [key for key in cluster.redis_keys() if "node:a" in key],
        "the dead node's keys to go",
    )


def test_a_redis_restart_keeps_the_room(cluster: ClusterOnHosts, tmp_path: Path) -> None:
    cluster.bot("a", "ann", seconds=60)
    cluster.bot("b", "bob", seconds=60)
    cluster.wait(
        lambda: len(cluster.room("a")["pipes"]) == len(cluster.room("b")["pipes"]) == 2,
        "both to be piped",
    )
    before = {node: cluster.room(node) for node in ("a", "b")}
    cluster.redis.restart()
    # Both nodes write their rooms again.
    cluster.wait(
        lambda: (
            "msp:room:r:peers" in cluster.redis_keys()
            and "msp:node:a" in cluster.redis_keys()
            and "msp:node:b" in cluster.redis_keys()
        ),
        "the nodes to register and file their peers again",
    )
    time.sleep(4)
    for node in ("a", "b"):
        after = cluster.room(node)
        # The same room: the same peers, the same pipes (none doubled).
        assert after["peers"] == before[node]["peers"]
        assert after["pipes"] == before[node]["pipes"]
        assert after["link"] == before[node]["link"]
        assert cluster.debug(node)["live"] == ["a", "b"]
    # A newcomer on b still meets ann on a, and decodes her.
    carol = cluster.bot("b", "carol", seconds=20, record=tmp_path / "carol.webm")
    cluster.wait(lambda: len(peers(cluster.room("a"))) == 3, "a to see carol")
    assert carol.wait(60) == 0
    frames = decoded(tmp_path / "carol.webm")
    assert frames.get("video", 0) >= 3, frames


def test_a_node_with_another_secret_cannot_join(cluster: ClusterOnHosts) -> None:
    cluster.start_node("c", secret="not-the-secret")
    cluster.bot("a", "ann", seconds=30)
    cluster.bot("c", "eve", seconds=30)
    cluster.wait(lambda: peers(cluster.room("c")) == [["eve", "Peer"]], "eve to join on c")
    cluster.wait(lambda: peers(cluster.room("a")) == [["ann", "Peer"]], "ann to join on a")
    time.sleep(4)
    # Neither side sees the other; nothing is piped; a does not count c as a node.
    assert peers(cluster.room("a")) == [["ann", "Peer"]]
    assert peers(cluster.room("c")) == [["eve", "Peer"]]
    assert cluster.room("a")["pipes"] == cluster.room("c")["pipes"] == []
    assert cluster.debug("a")["live"] == ["a", "b"]
    assert cluster.debug("c")["live"] == ["c"]


def test_hosts_reach_each_other_only_over_the_bridge(cluster: ClusterOnHosts) -> None:
    """The harness itself: each host has its own address and no default route; a host
    reaches another's node over the bridge."""
    host_a, _ = cluster.nodes["a"]
    host_b, _ = cluster.nodes["b"]
    assert host_a.address != host_b.address
    routes = host_a.run(["ip", "route"], capture_output=True, text=True).stdout
    assert "default" not in routes
    reached = host_a.run(
        ["curl", "-s", "--max-time", "5", f"http://{host_b.address}:8080/debug/rooms"],
        capture_output=True,
        text=True,
    )
    assert '"live": ["a", "b"]' in reached.stdout


def test_churn_over_two_nodes_leaves_nothing_behind(cluster: ClusterOnHosts) -> None:
    """1,000 participants join (each with a producer that the other node's watcher
    consumes through a pipe) and leave half a second later, or once both watchers were
    offered their producer, through one node or the other, 20 at a time."""
    host_a, _ = cluster.nodes["a"]
    host_b, _ = cluster.nodes["b"]
    nodes = f"http://{host_a.address}:8080,http://{host_b.address}:8080"
    churner = host_a.popen(
        [sys.executable, "-m", "tests.interop.cluster_churn", "--nodes", nodes],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert churner.stdin is not None
        assert churner.stdout is not None
        during = json.loads(churner.stdout.readline())
        assert during["failureCount"] == 0, during["failures"]
        # Each watcher was offered every churner's producer, the other node's piped over
        # (each churner stays until both watchers were offered its producer).
        assert min(during["consumersOffered"]) >= during["cycles"], during["consumersOffered"]
        for node in during["nodes"].values():
            room = node["rooms"]["r"]
            assert [name for name, _ in room["peers"]] == ["watcher-0", "watcher-1"]
            assert room["pipes"] == []
            assert room["consumers"] == 0
            assert room["link"]["incomingPipes"] == room["link"]["outgoingPipes"] == 0
        only_watchers_filed = [
            "msp:node:a",
            "msp:node:a:rooms",
            "msp:node:b",
            "msp:node:b:rooms",
            "msp:nodes",
            "msp:room:r:peers",
        ]
        # The last removals reach Redis when their nodes get to them (seconds under load).
        cluster.wait(
            lambda: cluster.redis_keys() == only_watchers_filed,
            "only the watchers to stay filed in Redis",
        )
        churner.stdin.write("go on\n")
        churner.stdin.flush()
        after = json.loads(churner.stdout.readline())
        assert all(node["rooms"] == {} for node in after["nodes"].values())
        cluster.wait(
            lambda: cluster.redis_keys() == ["msp:node:a", "msp:node:b", "msp:nodes"],
            "only the nodes' registrations to stay in Redis",
        )
        assert churner.wait(30) == 0
        print(f"churn: {during['cycles']} cycles in {during['seconds']:.1f} s")
    finally:
        if churner.poll() is None:
            churner.kill()
            churner.wait()


def test_chromium_tabs_on_two_nodes_see_each_other_and_switch_layers(
    cluster: ClusterOnHosts,
) -> None:
    """mediasoup-client in Chromium on each node's host, through each node's own demo page:
    each decodes the other's video (top simulcast layer, 1280x720) and hears it; the tab on
    b picks the low layer of a's simulcast producer, piped from a, and gets 320 wide."""
    tabs = []
    for node, name, extra in (("a", "ann", []), ("b", "bob", ["--pick-low"])):
        host, _ = cluster.nodes[node]
        tabs.append(
            host.popen(
                [
                    sys.executable,
                    "-m",
                    "tests.interop.cluster_tab",
                    "--url",
                    f"http://{host.address}:8080/",
                    "--name",
                    name,
                    *extra,
                ],
                cwd=REPOSITORY,
                env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    try:
        ann, bob = tabs
        assert ann.stdout is not None
        assert bob.stdout is not None
        ann_sees = json.loads(ann.stdout.readline())["top"]
        bob_sees = json.loads(bob.stdout.readline())["top"]
        for viewer, other in ((ann_sees, "bob"), (bob_sees, "ann")):
            assert viewer["name"] == other
            assert (viewer["width"], viewer["height"]) == (1280, 720)
            assert viewer["framesDecoded"] >= 30
            assert viewer["audioSamplesDecoded"] > 0
        bob_low = json.loads(bob.stdout.readline())["low"]
        assert bob_low["width"] == 320
        # One video and one audio producer crossed each way (the page's room: "demo").
        assert len(cluster.room("a", "demo")["pipes"]) == 2
        assert len(cluster.room("b", "demo")["pipes"]) == 2
    finally:
        for tab in tabs:
            if tab.stdin is not None:
                tab.stdin.close()
        for tab in tabs:
            try:
                tab.wait(30)
            except subprocess.TimeoutExpired:
                tab.kill()
                tab.wait()
