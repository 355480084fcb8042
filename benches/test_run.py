"""The benchmark driver end to end, in its quick mode: mediasoup_py alone, every scenario,
a couple of seconds each, plus one fan-out over WebRTC transports (the load tool runs ICE,
DTLS and SRTP against them), results written where the test says; and a small WebRTC fan-out
through real Janus (Debian's package, which .ci/setup.sh installs).
Run: .venv/bin/pytest benches/test_run.py
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from rich.console import Console

from benches.io_bench import REPOSITORY, build_loadgen
from benches.run import (
    AUDIO_PPS,
    QUICK_POINTS,
    Implementation,
    Point,
    choose_points,
    implementations,
    main,
    make_webrtc_client,
    parse_points,
    run_plan,
)

JANUS_PEER = REPOSITORY / "benches" / "peers" / "janus_peer.py"


def test_offered_load_counts_every_copy_the_sfu_sends() -> None:
    assert Point("fanout", 10, 5000).offered_forward_pps == 50_000
    # Four participants each send video and audio to the three others.
    assert Point("conference", 4, 500).offered_forward_pps == 4 * 3 * (500 + AUDIO_PPS)
    assert Point("audio-room", 25, AUDIO_PPS).offered_forward_pps == 25 * 24 * AUDIO_PPS


def test_points_parse_from_the_command_line() -> None:
    assert parse_points("fanout:10x5000,audio-room:25") == [
        Point("fanout", 10, 5000),
        Point("audio-room", 25, AUDIO_PPS),
    ]


def test_modes_choose_the_points() -> None:
    given = [Point("fanout", 10, 5000)]
    assert choose_points(given, ["plain", "webrtc"], quick=False) == [
        Point("fanout", 10, 5000, "plain"),
        Point("fanout", 10, 5000, "webrtc"),
    ]
    assert {point.mode for point in choose_points(None, [], quick=False)} == {"plain"}
    assert {point.mode for point in choose_points(None, ["webrtc"], quick=False)} == {"webrtc"}
    # --quick runs one WebRTC point unless --mode says otherwise.
    assert choose_points(None, [], quick=True) == QUICK_POINTS
    assert [p.mode for p in choose_points(None, ["webrtc"], quick=True)] == ["webrtc"]


def test_quick_run_forwards_everything_and_writes_its_results(tmp_path: Path) -> None:
    assert main(["--quick", "--output-dir", str(tmp_path)]) == 0
    [report_path] = tmp_path.glob("*.json")
    report = json.loads(report_path.read_text())
    summary = [(row["point"], row["mode"]) for row in report["summary"]]
    assert summary == [(p.label, p.mode) for p in QUICK_POINTS]
    for row in report["summary"]:
        assert row["implementation"] == "mediasoup_py"
        assert row["delivery_percent"] >= 99, row
        assert row["latency_p50_us"] is not None, row
    [webrtc] = [row for row in report["summary"] if row["mode"] == "webrtc"]
    # Every forwarded packet was SRTP under the keys DTLS gave: none failed to unprotect.
    assert (webrtc["srtp_auth_failures"], webrtc["srtp_rejected"]) == (0, 0), webrtc
    assert webrtc["connect_seconds"] is not None, webrtc
    assert report["peers_measured"] == []
    # The machine's ceiling, before and after the points.
    assert len(report["udp_ceiling"]) == 2
    assert report["udp_ceiling"][0]["sendmmsg_gso"]["datagrams_per_cpu_second"] > 0
    assert "No peers measured" in report_path.with_suffix(".md").read_text()
    assert len(list(tmp_path.glob("*.png"))) == 3


def test_the_bare_forwarder_runs_beside_mediasoup_py(tmp_path: Path) -> None:
    arguments = ["--peers", "bare", "--points", "fanout:10x1000", "--seconds", "3"]
    assert main([*arguments, "--repeats", "1", "--output-dir", str(tmp_path)]) == 0
    [report_path] = tmp_path.glob("*.json")
    report = json.loads(report_path.read_text())
    rows = {row["implementation"]: row for row in report["summary"]}
    assert set(rows) == {"mediasoup_py", "bare"}
    for row in rows.values():
        assert row["delivery_percent"] >= 99, row
    [ratio] = report["ratios"]
    assert ratio["peer"] == "bare"


def test_a_peer_that_fails_is_reported_and_left_out_of_its_point() -> None:
    build_loadgen()
    [ours] = implementations([], None)
    # A peer that exits at once, never ready.
    broken = Implementation("broken", ["false"], REPOSITORY, {}, ("fanout",))
    point = Point("fanout", 2, 500)
    plan = [(point, 0, ours), (point, 0, broken), (point, 1, broken)]
    results, failures = run_plan(plan, 2.0, None, Console())
    assert [result.implementation for result in results] == ["mediasoup_py"]
    # Its second repeat at the point was not tried.
    [failure] = failures
    assert (failure["point"], failure["implementation"]) == ("fanout 2x500", "broken")
    assert "not ready" in failure["error"]


def test_janus_forwards_a_webrtc_fanout_over_peer_connections(tmp_path: Path) -> None:
    """Janus's VideoRoom: a publisher and 5 subscribers, each a PeerConnection the load tool
    connects (ICE with Janus's libnice checking back, DTLS with Janus as the server, SRTP
    AEAD_AES_128_GCM); the subscribers are made once the publisher is up."""
    build_loadgen()
    [_, janus] = implementations(["janus"], None)
    point = Point("fanout", 5, 100, "webrtc")
    results, failures = run_plan([(point, 0, janus)], 2.0, make_webrtc_client(tmp_path), Console())
    assert failures == []
    [result] = results
    load = result.loadgen
    assert load["webrtc_transports"] == 6
    assert load["sent_measured"] > 0
    # Every packet reached every subscriber, and every one verified under DTLS's keys.
    assert load["received_measured"] == 5 * load["sent_measured"], load
    assert (load["srtp_auth_failures"], load["srtp_rejected"], load["lost"]) == (0, 0, 0), load
    assert load["cpu_seconds"] is not None
    # Janus's memory is taken once its subscribers exist, not after its first ready line.
    assert result.rss_after_setup_bytes


@pytest.fixture(scope="module")
def janus_peer() -> ModuleType:
    """benches/peers/janus_peer.py, a script, as a module."""
    spec = importlib.util.spec_from_file_location("janus_peer", JANUS_PEER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_janus_transports_are_taken_from_its_sdp_on_loopback_only(janus_peer: ModuleType) -> None:
    sdp = "\r\n".join(
        [
            "v=0",
            "a=fingerprint:sha-256 AB:CD",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "a=ice-ufrag:janus",
            "a=ice-pwd:januspassword",
            "a=candidate:1 1 udp 2015363327 127.0.0.1 30000 typ host",
        ]
    )
    assert janus_peer.janus_transport(sdp) == {
        "port": 30000,
        "usernameFragment": "janus",
        "password": "januspassword",
        "fingerprint": {"algorithm": "sha-256", "value": "AB:CD"},
    }
    beyond = sdp + "\r\na=candidate:2 1 udp 2015363327 10.0.0.1 30001 typ host"
    with pytest.raises(RuntimeError, match=r"not one on 127\.0\.0\.1"):
        janus_peer.janus_transport(beyond)


def test_the_sdp_written_for_janus_carries_the_load_tools_credentials(
    janus_peer: ModuleType,
) -> None:
    client = janus_peer.Client("sha-256:AB:CD")
    offer = client.publisher_offer("video")
    for line in [
        f"a=ice-ufrag:{client.username_fragment}",
        f"a=ice-pwd:{client.password}",
        "a=fingerprint:sha-256 AB:CD",
        "a=setup:active",
        "a=rtcp-mux",
        "a=group:BUNDLE 0",
        "a=rtpmap:96 VP8/90000",
        "a=ssrc:1000 cname:loadgen",
    ]:
        assert line in offer.splitlines(), line
    janus_offer = "\r\n".join(
        ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:a0", "a=rtpmap:111 opus/48000/2"]
    )
    answer = client.subscriber_answer(janus_offer).splitlines()
    assert "m=audio 9 UDP/TLS/RTP/SAVPF 111" in answer
    assert {"a=mid:a0", "a=recvonly", "a=setup:active", "a=group:BUNDLE a0"} <= set(answer)
