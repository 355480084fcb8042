"""The SDP answer a client library (mediasoup-client, pymediasoup) derives from a
WebRtcTransport's parameters, for tests that drive raw RTCPeerConnections (aiortc, Chromium)
without a signaling library: every offered audio/video section is answered recvonly with
opus or VP8, bundled on the transport's one candidate."""

from __future__ import annotations

import re

from mediasoup_py.webrtc_transport import WebRtcTransport

CODECS = {"audio": "opus/48000/2", "video": "VP8/90000"}


def offer_fingerprint(offer: str) -> str:
    """The sha-256 fingerprint of the offerer's certificate."""
    found = re.search(r"^a=fingerprint:sha-256 (\S+)", offer, re.M)
    assert found, offer
    return found.group(1)


def answer_sdp(offer: str, transport: WebRtcTransport, setup: str) -> str:
    """An answer accepting each audio/video section of ``offer``; ``setup`` is our DTLS
    setup attribute (``passive``: the offerer is the DTLS client)."""
    ice = transport.ice_parameters
    candidate = transport.ice_candidates[0]
    fingerprint = next(
        f["value"] for f in transport.dtls_parameters["fingerprints"] if f["algorithm"] == "sha-256"
    )
    tcp = candidate["protocol"] == "tcp"
    transport_protocol = "TCP/TLS/RTP/SAVPF" if tcp else "UDP/TLS/RTP/SAVPF"
    sections = re.split(r"\r?\n(?=m=)", offer.strip())[1:]
    mids: list[str] = []
    media: list[str] = []
    for section in sections:
        kind = section.split(" ", 1)[0][2:]
        mid = re.search(r"^a=mid:(\S+)", section, re.M)
        codec = re.search(rf"^a=rtpmap:(\d+) {re.escape(CODECS[kind])}", section, re.M | re.I)
        assert mid, section
        assert codec, section
        mids.append(mid.group(1))
        tcp_type = " tcptype passive" if tcp else ""
        media += [
            f"m={kind} {candidate['port']} {transport_protocol} {codec.group(1)}",
            f"c=IN IP4 {candidate['address']}",
            f"a=mid:{mid.group(1)}",
            "a=recvonly",
            "a=rtcp-mux",
            f"a=ice-ufrag:{ice['usernameFragment']}",
            f"a=ice-pwd:{ice['password']}",
            f"a=fingerprint:sha-256 {fingerprint}",
            f"a=setup:{setup}",
            f"a=rtpmap:{codec.group(1)} {CODECS[kind]}",
            f"a=candidate:{candidate['foundation']} 1 {candidate['protocol']} "
            f"{candidate['priority']} {candidate['address']} {candidate['port']} typ host"
            f"{tcp_type}",
            "a=end-of-candidates",
        ]
    lines = [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=ice-lite",
        f"a=group:BUNDLE {' '.join(mids)}",
        *media,
    ]
    return "\r\n".join(lines) + "\r\n"
