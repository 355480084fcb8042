"""DataChannels with mediasoup-client 3.24 in Chromium (tests/interop/chromium_datachannels.py):
a chat both ways, a relay bot on a DirectTransport, 600 ordered messages of 1 B to 256 KiB
intact and in order, an oversized message refused with the channel still working, stats,
and the close cascade."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_chromium_pages_chat_and_burst_through_datachannels(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_datachannels", timeout=150
    )
    ann, ben = result["texts"]["ann"], result["texts"]["ben"]
    # The chat both ways, the empty message too (PPID 56).
    assert [m for messages in ann.values() for m in messages] == ["hello ann", ""]
    ben_chat = next(messages for key, messages in ben.items() if key.startswith("chat:"))
    assert ben_chat == ["hello ben", "are you there, bot?", "still here"]
    # The server chose the streams the pages opened.
    assert result["consumed"]["ann"]["streamId"] == 0
    assert result["botConsumer"]["streamId"] == 1
    # The bot (DirectTransport) heard the chat and its echo reached the other page.
    assert result["botHeardTexts"] == ["are you there, bot?", "still here"]
    bot = next(messages for key, messages in ben.items() if key.startswith("bot:"))
    assert bot == ["echo: are you there, bot?", "echo: still here"]
    # Every message of the burst, intact and in order; nothing dropped for a full buffer.
    burst = result["burst"]
    assert burst == {**burst, "received": 600, "intact": 600, "firstBad": None}
    assert result["botHeardBinary"] == 600
    assert result["sendBufferFull"] == []
    assert "max-message-size" in result["oversize"]
    # Stats, mediasoup's way: what Ann's chat received is what its consumers sent.
    producers = result["stats"]["producers"]
    ann_chat = next(stats for key, stats in producers.items() if stats["messagesReceived"] > 600)
    assert ann_chat["messagesReceived"] == 603
    sent = [stats["messagesSent"] for stats in result["stats"]["consumers"]]
    assert 603 in sent
    assert result["sctpStates"] == ["connected"]
    assert result["sctpParameters"] == {
        "port": 5000,
        "OS": 1024,
        "MIS": 1024,
        "maxMessageSize": 262144,
    }
    # Closing Ann's chat closed its consumers: Ben's and the bot's heard dataproducerclose.
    assert sorted(result["closedEvents"]) == ["bot_in", "chat"]
