"""Simulcast with mediasoup-client v3 (npm) in headless Chromium: the sender page produces
its 720p fake camera as three VP8 encodings, the receiver page consumes them, and the server
moves the consumer across the layers with ``set_preferred_layers``. Each switch must show in
the receiver's decoder (frame width), fire ``layerschange``, and never freeze the video."""

from __future__ import annotations

from typing import Any

from tests.interop.chromium_mediasoup_client import SIMULCAST_WIDTHS
from tests.interop.netns import run_in_namespace


def test_preferred_layers_switch_what_a_chromium_receiver_decodes(
    loopback_namespace: str,
) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_mediasoup_client", "--simulcast"
    )
    assert result["producerType"] == "simulcast"
    assert result["consumerType"] == "simulcast"
    assert len(result["producerStats"]) == 3
    assert all(stats["packetCount"] > 0 for stats in result["producerStats"]), result
    for step in result["steps"]:
        spatial = step["spatialLayer"]
        assert step["seconds"] < 10, step
        assert step["currentLayers"]["spatialLayer"] == spatial, step
        assert [event["spatialLayer"] for event in step["layerEvents"] if event][-1] == spatial
    assert [step["spatialLayer"] for step in result["steps"]] == [0, 1, 2, 0]
    assert result["video"]["frameWidth"] == SIMULCAST_WIDTHS[0]
    assert result["longestFreeze"] < 1.0, result
    video = result["video"]
    assert video["framesDropped"] < 0.05 * video["framesDecoded"], video
