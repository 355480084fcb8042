"""The join-cost benchmark's tool, briefly (10 peers, capped and not): it runs and its figures
are sane. The figures themselves come from ``python -m benches.join_cost``."""

from __future__ import annotations

import asyncio

from benches.join_cost import UNCAPPED, measure


def test_join_cost_measures_ten_joins() -> None:
    capped = asyncio.run(measure(10, 100))
    uncapped = asyncio.run(measure(10, UNCAPPED))
    for row in (capped, uncapped):
        assert row["peers"] == 10
        assert 0 < row["meanJoinMs"] < 1000
    # Below the cap both announce every join: the same bytes.
    assert capped["totalBytes"] == uncapped["totalBytes"] > 0
