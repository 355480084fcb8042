"""Simulcast and SVC with mediasoup-client v3 (npm) in headless Chromium: the sender page
produces its 720p fake camera as three VP8 (or H264) encodings, or as one VP9 stream with
three spatial layers (K-SVC), the receiver page consumes it, and the server moves the consumer
across the layers with ``set_preferred_layers``. Each switch must show in the receiver's
decoder (frame width), fire ``layerschange``, and never freeze the video; the preferred
temporal layer sets the decoded frame rate. ``simulcast-piped``: the receiver is on another
worker, reached through ``pipe_to_router``, which carries all three streams. ``svc-av1``: AV1
L3T3_KEY, whose layers the SFU reads from the dependency descriptor (which Chromium offers
behind a field trial)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.chromium_mediasoup_client import LAYER_WIDTHS
from tests.interop.netns import run_in_namespace


@pytest.mark.parametrize(
    "layering", ["simulcast", "simulcast-h264", "simulcast-piped", "svc", "svc-av1"]
)
def test_preferred_layers_switch_what_a_chromium_receiver_decodes(
    loopback_namespace: str, layering: str
) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_mediasoup_client", "--layers", layering
    )
    kind = "svc" if layering.startswith("svc") else "simulcast"
    assert result["producerType"] == kind
    assert result["consumerType"] == kind
    assert len(result["producerStats"]) == (3 if kind == "simulcast" else 1)
    assert all(stats["packetCount"] > 0 for stats in result["producerStats"]), result
    # Bitrates by layer, mediasoup's way: "spatial.temporal", each including what it needs.
    for index, stats in enumerate(result["producerStats"]):
        layers = stats["bitrateByLayer"]
        assert stats["bitrate"] > 0, stats
        top = max(layers, key=lambda key: tuple(int(part) for part in key.split(".")))
        assert layers[top] == max(layers.values()), layers
        if layering != "simulcast-h264":
            # VP8/VP9 packets name their layers: the base layer alone carries less.
            assert 0 < layers[f"{index}.0"] < layers[top], layers
    for step in result["steps"]:
        spatial = step["spatialLayer"]
        assert step["seconds"] < 10, step
        assert step["currentLayers"]["spatialLayer"] == spatial, step
        assert [event["spatialLayer"] for event in step["layerEvents"] if event][-1] == spatial
    assert [step["spatialLayer"] for step in result["steps"]] == [0, 1, 2, 0]
    # The receiving transport's send-side estimate (kbps, from Chromium's transport-cc
    # feedback) comes within seconds of consuming, piped producer included: every video copy
    # carries the transport-wide number, as mediasoup's (unnumbered piped copies left the
    # estimate to appear some 6 s in).
    estimated_at = [at for at, estimate, _ in result["topLayerTrace"] if estimate > 0]
    assert estimated_at, result["topLayerTrace"]
    assert estimated_at[0] < 3, result["topLayerTrace"]
    assert result["video"]["frameWidth"] == LAYER_WIDTHS[0]
    timeline = {
        key: result[key] for key in ("firstFrameSeconds", "freezeBegan", "longestFreeze", "steps")
    }
    assert result["longestFreeze"] < 1.0, timeline
    video = result["video"]
    assert video["framesDropped"] < 0.05 * video["framesDecoded"], video
    # Temporal layers (Chromium sends three, L1T3 or L3T3_KEY): the base layer alone is a
    # quarter of the frame rate, decoded without errors, and all of them come back. H264
    # packets carry no layer ids the SFU could read, so there every frame goes on.
    rates = result["frameRates"]
    if layering == "simulcast-h264":
        assert rates["base"] > 0.8 * rates["all"], rates
    else:
        assert 0.15 * rates["all"] < rates["base"] < 0.4 * rates["all"], rates
    assert rates["restored"] > 0.8 * rates["all"], rates
    assert rates["framesDropped"] <= 2, rates


def test_a_bottleneck_to_the_receiver_moves_its_consumer_down_and_back_up(
    loopback_namespace: str,
) -> None:
    """The receiver's path (a relay) becomes a 500 kbps bottleneck once the sender's top
    stream no longer fits in it: our estimate from its transport-cc feedback drops, and the
    consumer moves to layers that fit (a lower stream, or the top one's base temporal layers);
    the path opens again: trials of the next layer go through, and the consumer is back on
    the top stream."""
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_mediasoup_client", "--bandwidth", timeout=200
    )
    assert result["downSeconds"] < 15, result["timeline"]
    at_bottleneck = result["atBottleneck"]
    # What we sent the receiver over the 10 s at the bottleneck fits it (a fifth more for
    # keyframes and trials of higher layers).
    assert result["bitrateAtBottleneck"] <= 1.2 * result["bottleneck"], at_bottleneck
    estimates = sorted(sample["estimate"] for sample in at_bottleneck if sample["estimate"])
    assert estimates[len(estimates) // 2] < 600_000, at_bottleneck
    # Trials refused at the bottleneck spaced the next ones out (up to 40 s apart).
    assert result["upSeconds"] < 70, result["timeline"]
    # The transport's rtpPacketLossSent (mediasoup's field) comes from the receiver's
    # transport-cc feedback: measured, and about nothing lost (the relay queues, it drops
    # nothing here).
    before = [share for share in result["lossSentBeforeNarrowing"] if share is not None]
    assert before, result["lossSentBeforeNarrowing"]
    assert max(before) < 0.05, result["lossSentBeforeNarrowing"]
    assert result["relayDropped"] > 0 or result["maxLossSent"] < 0.05, result["timeline"]
