"""getStats under real loss: a namespace whose kernel drops 5% of UDP datagrams at random
(an nftables rule, ``numgen random``: the network, not a relay of ours), pymediasoup/aiortc
peers producing and consuming VP8 and opus through it (tests/interop/stats_under_loss.py),
and mediasoup's stats fields moving together: the losses aiortc repairs by NACK and RTX show
as NACKs, retransmissions and repairs on both sides, opus (no NACK) shows its losses, RTX
SSRCs are reported, the round trip is known from the receiver's reports, and the bitrates
match what was sent."""

from __future__ import annotations

import subprocess
from typing import Any

from tests.interop.netns import run_in_namespace

LOSS_PERCENT = 5

LOSSY_UDP = f"""
table inet lossy {{
  chain input {{
    type filter hook input priority 0; policy accept;
    meta l4proto udp numgen random mod 100 < {LOSS_PERCENT} drop
  }}
}}
"""


def test_stats_follow_real_loss_repairs_and_bitrates(loopback_namespace: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", loopback_namespace, "nft", "-f", "-"],
        input=LOSSY_UDP,
        text=True,
        check=True,
    )
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.stats_under_loss", timeout=120
    )
    producers, consumers = result["producers"], result["consumers"]
    (video_in,) = producers["video"]
    (audio_in,) = producers["audio"]
    video_out, video_source = consumers["video"]
    audio_out, audio_source = consumers["audio"]
    # A consumer's stats end with its producer stream's, as mediasoup's do.
    assert (video_source["type"], video_source["ssrc"]) == ("inbound-rtp", video_in["ssrc"])
    assert (audio_source["type"], audio_source["ssrc"]) == ("inbound-rtp", audio_in["ssrc"])

    # The sender's video: our NACKs, its RTX answers, each repairing a loss.
    assert video_in["type"] == "inbound-rtp"
    assert video_in["rtxSsrc"] not in (None, video_in["ssrc"])
    assert video_in["nackCount"] > 0
    assert video_in["nackPacketCount"] >= video_in["nackCount"]
    assert 0 < video_in["packetsRepaired"] <= video_in["packetsRetransmitted"]
    assert video_in["packetsRepaired"] <= video_in["nackPacketCount"]
    # What NACK did not repair stays lost: a few percent at most.
    assert 0 <= video_in["packetsLost"] <= video_in["packetCount"] * 0.1
    assert video_in["jitter"] >= 0
    assert 0 <= video_in["fractionLost"] <= 255
    # Opus has no NACK: its losses stay, near the rule's share.
    assert audio_in["nackCount"] == audio_in["packetsRetransmitted"] == 0
    expected = audio_in["packetCount"] + audio_in["packetsLost"]
    assert 0.005 * expected <= audio_in["packetsLost"] <= 0.15 * expected, audio_in
    assert "rtxSsrc" not in audio_in

    # The receiver's side: its NACKs, our resends on the RTX stream, its reports.
    assert video_out["type"] == "outbound-rtp"
    assert video_out["rtxSsrc"] not in (None, video_out["ssrc"])
    assert video_out["nackCount"] > 0
    assert 0 < video_out["packetsRepaired"] <= video_out["packetsRetransmitted"]
    assert video_out["packetsRetransmitted"] <= video_out["nackPacketCount"]
    # The receiver's reports answered our sender reports over loopback: well under 100 ms.
    for stream in (video_out, audio_out):
        assert 0 < stream["roundTripTime"] < 100, stream
        assert stream["jitter"] >= 0
    # The receiver's report on opus counts what the kernel dropped on the way to it.
    assert audio_out["packetsLost"] > 0
    assert audio_out["fractionLost"] <= 255
    assert audio_out["score"] <= 10

    # Bitrates: each copy's near its producer's, and the transports' RTP totals near the sum.
    for sent, source in ((video_out, video_in), (audio_out, audio_in)):
        assert source["bitrate"] > 0
        assert 0.5 * source["bitrate"] <= sent["bitrate"] <= 2 * source["bitrate"], (sent, source)
    produced = video_in["bitrate"] + audio_in["bitrate"]
    (send_transport,) = result["sendTransport"]
    (recv_transport,) = result["recvTransport"]
    assert 0.5 * produced <= send_transport["rtpRecvBitrate"] <= 2 * produced
    assert send_transport["recvBitrate"] >= send_transport["rtpRecvBitrate"]
    assert send_transport["rtxBytesReceived"] > 0
    assert 0.5 * produced <= recv_transport["rtpSendBitrate"] <= 2 * produced
    assert recv_transport["sendBitrate"] >= recv_transport["rtpSendBitrate"]
    assert recv_transport["rtxBytesSent"] > 0
    assert recv_transport["rtpBytesSent"] >= video_out["byteCount"] + audio_out["byteCount"]
