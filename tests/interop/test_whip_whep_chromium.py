"""WHEP in headless Chromium with no client library (tests/interop/whep_chromium.py): the page
POSTs its recvonly offer, applies the answer, trickles its candidates, and decodes ffmpeg's
VP8 and opus from the room, whose payload types are not the ones Chromium offers; its
DELETE ends the session and leaves nothing behind; a room with nothing to play is a 404."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_a_chromium_page_plays_a_room_over_whep(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(loopback_namespace, "tests.interop.whep_chromium")
    answer = result["posted"]["answer"]
    # The answer speaks the offer's payload types (Chromium's VP8 96 and opus 111), not the
    # room router's (101, 100).
    assert "a=rtpmap:96 VP8/90000" in answer
    assert "a=rtpmap:111 opus/48000/2" in answer
    assert result["sessions"] == [["whep", 2]]
    inbound = result["inbound"]
    assert inbound["connection"] == "connected"
    video, audio = inbound["video"], inbound["audio"]
    assert video["codec"] == "video/VP8"
    assert video["framesDecoded"] >= 60
    assert video["keyFramesDecoded"] >= 1
    assert (video["frameWidth"], video["frameHeight"]) == (320, 240)
    assert audio["codec"] == "audio/opus"
    assert audio["packetsReceived"] >= 100
    stopped = result["stopped"]
    assert stopped["deleted"] == 200
    assert stopped["patches"]
    assert set(stopped["patches"]) == {204}
    status, reason = result["refused"]
    assert status == 404
    assert reason.endswith("nothing to play")
    assert result["sessionsLeft"] == 0
    assert result["transportsLeft"] == 0
