"""mediasoup-client v3 (npm) in headless Chromium, unchanged, against mediasoup_py: one page
produces the fake camera and microphone, another consumes both and decodes them; and a page
decodes what ffmpeg streams into PlainTransports; and a sender without transport-cc follows
the REMB estimates we send it."""

from __future__ import annotations

import itertools
from typing import Any

from tests.interop.netns import run_in_namespace


def test_a_chromium_page_decodes_what_another_produces(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_mediasoup_client", "--video-codec", "video/VP8"
    )
    assert result["video"]["framesDecoded"] >= 60, result
    assert result["video"]["frameWidth"] > 0
    assert result["audio"]["packetsReceived"] >= 100
    # Chromium offers transport-cc and FIR, and the producer keeps them.
    assert "ccm fir" in result["producerFeedback"]["video"]
    assert "transport-cc" in result["producerFeedback"]["video"]
    assert (
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
        in result["producerExtensions"]["video"]
    )
    assert result["consumers"]["video"]["packetCount"] > 0
    # Our transport-cc feedback drives Chromium's bandwidth estimate well past its start
    # bitrate (about 300 kbps), which it only leaves when feedback acknowledges its probes.
    assert max(result["senderAvailableOutgoingBitrate"]) > 1_000_000, result
    # Chromium's receiver reports echo our sender reports: round-trip time and score.
    for kind in ("video", "audio"):
        assert 0 < result["consumers"][kind]["roundTripTime"] < 100, result["consumers"]
        assert result["consumers"][kind]["score"] == 10


def test_a_chromium_page_decodes_what_ffmpeg_sends_through_a_plain_transport(
    loopback_namespace: str,
) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_mediasoup_client", "--ffmpeg-source"
    )
    assert result["video"]["framesDecoded"] >= 60, result
    assert (result["video"]["frameWidth"], result["video"]["frameHeight"]) == (640, 360)
    assert result["audio"]["packetsReceived"] >= 100, result


def test_a_sender_without_transport_cc_follows_our_remb(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_mediasoup_client", "--remb"
    )
    assert result["video"]["framesDecoded"] >= 60, result
    assert "transport-cc" not in result["producerFeedback"]["video"]
    assert "goog-remb" in result["producerFeedback"]["video"]
    # Chromium's estimate is what our REMBs say: it climbs from its start (~300 kbps) as
    # ours does with a path that keeps up (about 8% a second).
    bitrates = result["senderAvailableOutgoingBitrate"]
    assert all(b >= a for a, b in itertools.pairwise(bitrates)), bitrates
    assert bitrates[-1] > 1.25 * bitrates[0], bitrates


def test_set_max_incoming_bitrate_caps_what_a_chromium_sender_sends(
    loopback_namespace: str,
) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace,
        "tests.interop.chromium_mediasoup_client",
        "--max-incoming-bitrate",
        "300000",
    )
    assert result["video"]["framesDecoded"] >= 60, result
    # Chromium takes our REMB as its ceiling although transport-cc drives its estimate.
    assert "transport-cc" in result["producerFeedback"]["video"]
    assert max(result["senderAvailableOutgoingBitrate"]) <= 300_000, result
    assert sum(result["producerBitrates"].values()) <= 330_000, result["producerBitrates"]
