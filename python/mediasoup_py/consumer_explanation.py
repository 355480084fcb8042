"""Why a consumer sends what it sends: ``consumer.explain()``.

Built from what the worker reports about the consumer (paused, producer paused, preferred
and current layers), about its producer's streams (each spatial layer's bitrate and score)
and about its transport (the bandwidth estimate it shares among its consumers). The first
reason that applies is given, as a code and a sentence:

- ``paused``: the consumer is paused; ``producer_paused``: its producer is.
- ``single_stream``: nothing to choose (one stream, no layers); ``producer_inactive``: the
  producer sends nothing now.
- ``preferred``: it is on its preferred layers.
- ``producer_layer_inactive``: the preferred spatial layer is not being sent by the producer;
  the consumer is on the highest one that is.
- ``bandwidth``: the preferred layer needs more than the transport's estimate leaves.
- ``keyframe_pending``: it waits for a keyframe of the layer it switches to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mediasoup_py import errors

if TYPE_CHECKING:
    from mediasoup_py.consumer import Consumer


def _active_layers(producer_entries: list[dict[str, Any]]) -> dict[int, int]:
    """Spatial layer -> bitrate (with the layers it depends on) of the producer's layers
    that are sending now."""
    active: dict[int, int] = {}
    for entry in producer_entries:
        if entry.get("score", 10) == 0:
            continue
        for key, bitrate in entry.get("bitrateByLayer", {}).items():
            spatial = int(key.split(".")[0])
            if bitrate > 0:
                active[spatial] = max(active.get(spatial, 0), bitrate)
    return active


async def explain_consumer(consumer: Consumer) -> dict[str, Any]:
    """The consumer's state and the reason for it, with ``reason`` (a code) and
    ``sentence``."""
    if consumer.closed:
        raise errors.InvalidStateError("consumer closed")
    stats = await consumer.get_stats()
    producer_entries = [entry for entry in stats if entry["type"] == "inbound-rtp"]
    available = None
    transport_stats = await consumer.transport.get_stats()
    if transport_stats:
        available = transport_stats[0].get("availableOutgoingBitrate")
    active = _active_layers(producer_entries)
    preferred = consumer.preferred_layers
    current = consumer.current_layers
    facts: dict[str, Any] = {
        "paused": consumer.paused,
        "producerPaused": consumer.producer_paused,
        "preferredLayers": preferred,
        "currentLayers": current,
        "producerActiveSpatialLayers": sorted(active),
        "availableOutgoingBitrate": available,
        "priority": consumer.priority,
    }
    reason, sentence = _reason(consumer, facts, active, available)
    return {**facts, "reason": reason, "sentence": sentence}


def _reason(
    consumer: Consumer,
    facts: dict[str, Any],
    active: dict[int, int],
    available: int | None,
) -> tuple[str, str]:
    if consumer.paused:
        return "paused", "It sends nothing: the consumer is paused."
    if consumer.producer_paused:
        return "producer_paused", "It sends nothing: its producer is paused."
    preferred = facts["preferredLayers"]
    current = facts["currentLayers"]
    if preferred is None:
        if not active and consumer.kind == "video":
            return "producer_inactive", "It sends nothing: the producer sends nothing now."
        return "single_stream", "It forwards the producer's only stream: there are no layers."
    wanted = preferred["spatialLayer"]
    if not active:
        return "producer_inactive", "It sends nothing: the producer sends nothing now."
    if current is not None and (current["spatialLayer"], current.get("temporalLayer")) == (
        wanted,
        preferred.get("temporalLayer"),
    ):
        return "preferred", f"It is on its preferred layers ({_layers(current)})."
    on = _layers(current) if current is not None else "no layer"
    if wanted not in active:
        best = max((s for s in active if s <= wanted), default=min(active))
        return (
            "producer_layer_inactive",
            f"It is on {on}: the producer is not sending spatial layer {wanted} now; the "
            f"highest it sends up to it is {best}.",
        )
    needed = active[wanted]
    if available is not None and needed > available:
        return (
            "bandwidth",
            f"It is on {on}: spatial layer {wanted} needs {needed // 1000} kbps and the "
            f"transport's estimate, shared by priority ({consumer.priority}) among its "
            f"consumers, is {available // 1000} kbps.",
        )
    return (
        "keyframe_pending",
        f"It is on {on}: it switches to spatial layer {wanted} at that layer's next "
        "keyframe (asked for).",
    )


def _layers(layers: dict[str, Any]) -> str:
    return f"spatial {layers['spatialLayer']}, temporal {layers.get('temporalLayer', 0)}"
