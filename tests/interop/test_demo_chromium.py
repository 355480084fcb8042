"""The demo end to end: two headless Chromium tabs open the demo's page, join the same room
with their fake cameras and microphones, and each shows the other's video (decoded, named,
not blank); when one leaves, the other's tile goes and the server forgets the room. And a tab
(mediasoup-client v3) and the demo's bot (pymediasoup) exchange media through the demo's
WebSocket signaling; and a Firefox page and a Chromium page call each other."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_two_tabs_see_each_other_in_the_demo(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(loopback_namespace, "tests.interop.demo_browsers")
    for viewer, other in (("alice", "bob"), ("bob", "alice")):
        remote = result["seen"][viewer]
        assert remote["name"] == other
        assert remote["framesDecoded"] >= 30, remote
        # The top simulcast layer of the 1280x720 fake camera.
        assert (remote["width"], remote["height"]) == (1280, 720), remote
        assert remote["spread"] > 5, "the picture is not blank"
        assert remote["audioSamplesDecoded"] > 48_000, "and the other is heard"
    assert result["status"] == {"rooms": 1, "peers": 2, "producers": 4, "consumers": 4}
    received, sent = result["traffic"]
    assert received > 100_000, "the status line's byte counts"
    assert sent > 100_000
    assert result["tiles"] == 2
    # The chat over DataChannels, both ways, each line with its sender's name.
    bot_says = 'bot alice said me: "ping"'
    assert sorted(result["chat"]["alice"]) == sorted(
        ["bob hello from bob", "me hello from alice", "me @bot ping", bot_says]
    )
    assert sorted(result["chat"]["bob"]) == sorted(
        ["alice hello from alice", "me hello from bob", bot_says]
    )
    # The layer picker in the page moves the decoder to the low layer.
    assert result["seen"]["aliceLow"]["width"] == 320
    assert result["tilesAfterLeave"] == 1
    assert result["tileRemovedAfter"] < 5
    # Bob left nothing behind: Alice alone, with her two transports.
    assert result["remainingPeers"] == [["alice", 2]]
    assert result["statusAfterLeave"]["rooms"] == 0
    assert result["screenshotBytes"] > 10_000


def test_a_tab_and_the_pymediasoup_bot_call_each_other(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.demo_browsers", "--bot"
    )
    assert result["peersAtBotJoin"] == ["alice"]
    # mediasoup-client in Chromium decodes the bot's aiortc video (its test pattern)...
    seen = result["seen"]["alice"]
    assert seen["name"] == "bot"
    assert seen["framesDecoded"] >= 30, seen
    assert (seen["width"], seen["height"]) == (640, 480)
    # ...and the bot (pymediasoup) decodes the tab's camera and records it to a file.
    assert result["botConsumers"] == ["audio", "video"]
    streams = {stream["codec_type"]: stream for stream in result["recording"]}
    assert set(streams) == {"video", "audio"}, result["recording"]
    video, audio = streams["video"], streams["audio"]
    assert video["codec_name"] == "vp8"
    assert int(video["nb_read_frames"]) >= 30, result["recording"]
    # The tab's camera at its size (the recorder sized the stream from the first frame).
    assert int(video["width"]) > 0, video
    assert audio["codec_name"] == "opus"
    assert int(audio["nb_read_frames"]) >= 50, result["recording"]
    # Its timestamps grow in every stream, and it decodes without an error.
    assert result["recordingTimestampComplaints"] == [], result
    assert result["recordingDecodeErrors"] == [], result
    assert "consumerScore" in result["botNotifications"]
    assert result["status"] == {"rooms": 1, "peers": 2, "producers": 4, "consumers": 4}


def test_a_firefox_page_and_a_chromium_page_call_each_other_in_the_demo(
    firefox_namespace: str,
) -> None:
    """Debian's Firefox ESR (mediasoup-client's Firefox handler, simulcast by RID) and
    Chromium in one demo room: each decodes the other's video and audio."""
    result: dict[str, Any] = run_in_namespace(
        firefox_namespace, "tests.interop.demo_browsers", "--firefox"
    )
    seen = result["seen"]
    assert "Firefox/" in seen["firefoxUserAgent"]
    firefox, chromium, later = seen["firefox"], seen["chromium"], seen["chromiumLater"]
    assert firefox["name"] == "chris"
    assert firefox["framesDecoded"] >= 30, firefox
    assert firefox["audioSamplesDecoded"] > 0, firefox
    assert firefox["spread"] > 5, firefox
    assert chromium["name"] == "fox"
    assert chromium["framesDecoded"] >= 30, chromium
    assert chromium["audioSamplesDecoded"] > 0, chromium
    # Firefox's fake camera shows one colour at a time, changing: the picture moves.
    assert later["framesDecoded"] > chromium["framesDecoded"]
    assert later["mean"] != chromium["mean"], (chromium, later)
    assert result["producers"] == {
        "chris": [["audio", "simple"], ["video", "simulcast"]],
        "fox": [["audio", "simple"], ["video", "simulcast"]],
    }
