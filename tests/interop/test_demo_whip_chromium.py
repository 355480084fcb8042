"""WHIP into a demo room that a Chromium tab watches (tests/interop/demo_whip_chromium.py):
the aiortc publisher becomes a participant whose video the tab decodes, and its DELETE
takes its tile away."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_a_whip_publisher_is_seen_by_a_chromium_tab_in_the_demo(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.demo_whip_chromium"
    )
    remote = result["remote"]
    assert remote["framesDecoded"] >= 30
    assert (remote["width"], remote["height"]) == (640, 480)
    assert remote["name"] == "WHIP publisher"
    # The tab sends its camera and microphone too.
    assert result["status"]["producers"] == 4
    assert result["deleted"] == 200
    assert result["statusAfter"]["peers"] == 1
