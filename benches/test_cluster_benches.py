"""The rooms-over-workers and pipe-hop benchmarks, briefly (their figures come from running
them as docs/benchmarks.md says): a spread room places its subscribers on both workers and
delivers everything at a light load, and the pipe hop delivers over two namespace hosts.
Run: .venv/bin/pytest benches/test_cluster_benches.py
"""

from __future__ import annotations

import asyncio

from benches.io_bench import build_loadgen
from benches.pipe_hop_bench import measure as measure_hop
from benches.spread_bench import measure as measure_spread


def test_a_spread_room_splits_its_subscribers_and_delivers() -> None:
    build_loadgen()
    result = asyncio.run(measure_spread(2, 40, 50, 2))
    assert sorted(result["consumers_per_worker"].values()) == [20, 21]
    assert result["pipes"] == 1
    assert result["loss_percent"] <= 1


def test_the_pipe_hop_delivers_across_two_hosts() -> None:
    build_loadgen()
    result = measure_hop(500, 2, 1)
    for path in ("direct", "hop"):
        assert result["summary"][path]["delivered"] >= 0.99, result["runs"][path]
