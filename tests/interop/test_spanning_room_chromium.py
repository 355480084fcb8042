"""One demo room over two workers (tests/interop/spanning_room.py): a Chromium tab
(mediasoup-client v3) and the demo's pymediasoup bot land on different workers and decode
each other through the pipes the room makes between them, each producer piped once;
closing a producer closes its piped copy; the death of the bot's worker leaves the tab in
the room with its media, and a new bot lands on the live worker and is seen."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_a_room_over_two_workers_with_chromium_and_pymediasoup(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.spanning_room", timeout=110
    )
    # Each on its own worker, each with its consumers there.
    workers = result["workers"]
    assert len(workers["alice"]) == len(workers["bot"]) == 1
    assert workers["alice"] != workers["bot"]
    assert result["routers"] == 2
    assert sorted(result["consumersByWorker"].values()) == [2, 2]
    # Each decodes the other (the tab: mediasoup-client in Chromium; the bot: aiortc).
    assert result["aliceSees"]["name"] == "bot"
    assert result["aliceSees"]["framesDecoded"] >= 30
    assert result["aliceSees"]["audioSamplesDecoded"] > 0
    assert result["botDecoded"]["video"] >= 30
    assert result["botDecoded"]["audio"] >= 50
    # Every producer crossed to the other worker once: two of each peer.
    assert result["pipes"] == [[False, True], [False, True], [True, False], [True, False]]
    assert result["pipedOnce"]
    # Closing the bot's video producer closed its copy on the tab's worker and its consumer.
    assert result["copyBeforeClose"] is True
    assert result["copyAfterClose"] is False
    assert result["pipesAfterClose"] == 3
    assert result["aliceVideoConsumers"] == 0
    # The bot's worker died: the tab stays with its transports; the room lives on one router
    # (its audio observer moved there), and the dead peer's consumers closed.
    after = result["afterDeath"]
    assert after == {
        "roomClosed": False,
        "aliceJoined": True,
        "aliceTransports": 2,
        "botTransports": 0,
        "routers": 1,
        "homeWorker": workers["alice"][0],
        "aliceConsumers": 0,
    }
    # A new bot lands on the live worker, and the tab decodes it.
    assert result["bot2Workers"] == workers["alice"]
    assert result["aliceSeesAgain"]["name"] == "bot2"
    assert result["aliceSeesAgain"]["framesDecoded"] >= 30
