"""The DataChannel benchmark end to end, in its quick mode (its figures come from running it
as docs/benchmarks.md says): the load tool connects ICE, DTLS and an SCTP association to each
of mediasoup_py's 11 WebRtcTransports, and at a light rate every 1 KiB message reaches all 10
DataConsumers, in order, with the results written where the test says.
Run: .venv/bin/pytest benches/test_datachannel_bench.py
"""

from __future__ import annotations

import json
from pathlib import Path

from benches.datachannel_bench import QUICK_RATES, main


def test_quick_run_delivers_every_message_to_every_consumer(tmp_path: Path) -> None:
    assert main(["--quick", "--output-dir", str(tmp_path)]) == 0
    [report_path] = tmp_path.glob("datachannels-*.json")
    report = json.loads(report_path.read_text())
    assert report["peers_measured"] == []
    [run] = report["runs"]
    load = run["load"]
    assert run["rate"] == QUICK_RATES[0]
    assert load["receivers"] == 10
    assert load["sent_measured"] > 0
    assert load["received_measured"] == 10 * load["sent_measured"], load
    assert load["reordered"] == 0
    assert load["refused"] == 0
    assert load["latency_us"]["samples"] == load["received_measured"]
    assert (
        "mediasoup was not measured" in (tmp_path / report_path.with_suffix(".md").name).read_text()
    )
