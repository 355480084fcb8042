"""Opus on DirectTransports for tests: the router's codec and a producer's RTP parameters."""

from __future__ import annotations

from typing import Any

OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}


def opus_rtp_parameters(ssrc: int) -> Any:
    """A one-stream opus producer's parameters (payload type 100)."""
    return {
        "codecs": [
            {"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000, "channels": 2}
        ],
        "encodings": [{"ssrc": ssrc}],
    }
