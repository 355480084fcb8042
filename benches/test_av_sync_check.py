"""Smoke test of benches/av_sync_check.py: one short round, mediasoup_py and the direct
recording (no mediasoup peer), writes its report; the figures come from running the module
(docs/benchmarks.md)."""

from __future__ import annotations

import json
from pathlib import Path

from benches.av_sync_check import main


def test_one_round_of_the_recording_check_writes_its_report(tmp_path: Path) -> None:
    assert main(["--repeats", "1", "--seconds", "4", "--output-dir", str(tmp_path)]) == 0
    [report_file] = tmp_path.glob("av-sync-*.json")
    report = json.loads(report_file.read_text())
    cells = {(entry["sfu"], entry["recipe"]): entry["summary"] for entry in report["results"]}
    assert set(cells) == {
        ("mediasoup_py", "sender-reports"),
        ("mediasoup_py", "rtcp-mux"),
        ("direct", "sender-reports"),
    }
    for summary in cells.values():
        assert summary["runs"] == 1
        assert summary["marksFound"] >= 1
    assert (tmp_path / report_file.name.replace(".json", ".md")).exists()
