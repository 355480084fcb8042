"""A DataChannel of a Chromium page (mediasoup-client 3.24) piped from one worker's router to
another's and consumed there by the same page and by Python
(tests/interop/chromium_data_pipe.py): every message of a burst of 1 B to 256 KiB intact and
in order, nothing dropped on any hop, the close cascade through the pipe."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_a_datachannel_piped_between_workers_reaches_chromium(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_data_pipe", timeout=150
    )
    # The page's send transport on one worker, its receive transport on the other.
    assert result["onSendingWorker"] == [False, True]
    assert result["pipedId"]
    assert [m for messages in result["texts"].values() for m in messages] == [
        "hello through the pipe"
    ]
    burst = result["burst"]
    assert burst == {**burst, "received": 120, "intact": 120, "firstBad": None}
    # The Python consumer on the far worker: the chat message (PPID 51) and the burst.
    assert result["botHeard"] == {"count": 121, "first": [22, 51]}
    stats = result["stats"]
    assert stats["producer"]["messagesReceived"] == 121
    assert stats["pipeConsumer"]["messagesSent"] == 121
    assert stats["pipeProducer"]["messagesReceived"] == 121
    assert stats["consumer"]["messagesSent"] == 121
    for entry in (stats["pipeConsumer"], stats["consumer"]):
        assert set(entry["droppedMessages"].values()) == {0}
    assert stats["pipe"]["sctpState"] == "connected"
    assert set(stats["pipe"]["sctpDroppedMessages"]["outgoing"].values()) == {0}
    assert result["closed"] == ["bot", "page"]
    assert result["pipeProducerClosed"]
