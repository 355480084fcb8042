"""Prints, after a benchmark run, the ratio of our median to the peer's median for each group
measured in the same run (ratio <= 1.0 means mediasoup_py is at least as fast)."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    by_group: dict[str, dict[str, float]] = {}
    for bench in session.benchmarks:
        if not bench.stats:
            continue
        implementation = bench.params.get("implementation") if bench.params else None
        per_packet = bench.stats.median / bench.extra_info.get("packets_per_round", 1)
        by_group.setdefault(bench.group or bench.name, {})[str(implementation)] = per_packet
    lines = []
    for group, medians in sorted(by_group.items()):
        ours = medians.get("mediasoup_py")
        peers = {name: value for name, value in medians.items() if name != "mediasoup_py"}
        for peer, theirs in peers.items():
            if ours is not None:
                lines.append(
                    f"{group:<32} ours {ours * 1e9:8.0f} ns/pkt  {peer} {theirs * 1e9:8.0f} ns/pkt"
                    f"  ratio {ours / theirs:5.2f}"
                )
    if lines:
        terminalreporter.write_sep("=", "mediasoup_py vs peer, same run (median per packet)")
        for line in lines:
            terminalreporter.write_line(line)
