"""The benchmark driver end to end, in its quick mode: mediasoup_py alone, every scenario,
a couple of seconds each, results written where the test says.
Run: .venv/bin/pytest benches/test_run.py
"""

from __future__ import annotations

import json
from pathlib import Path

from benches.run import AUDIO_PPS, QUICK_POINTS, Point, main, parse_points


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


def test_quick_run_forwards_everything_and_writes_its_results(tmp_path: Path) -> None:
    assert main(["--quick", "--output-dir", str(tmp_path)]) == 0
    [report_path] = tmp_path.glob("*.json")
    report = json.loads(report_path.read_text())
    assert [row["point"] for row in report["summary"]] == [p.label for p in QUICK_POINTS]
    for row in report["summary"]:
        assert row["implementation"] == "mediasoup_py"
        assert row["delivery_percent"] >= 99, row
        assert row["latency_p50_us"] is not None, row
    assert report["peers_measured"] == []
    assert "No peers measured" in report_path.with_suffix(".md").read_text()
    assert len(list(tmp_path.glob("*.png"))) == 3
