"""The demo's chat in a room over two workers (tests/interop/chromium_spanning_chat.py): two
Chromium tabs on different workers chat through the data pipes the room opens, the chat bot
on the home worker hears the tab on the other worker and answers both, and the pipes close
when that tab leaves."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_the_demo_chat_spans_two_workers(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_spanning_chat", timeout=110
    )
    workers = result["workers"]
    assert len(workers["alice"]) == len(workers["bob"]) == 1
    assert workers["alice"] != workers["bob"]
    far = result["far"]
    near = "bob" if far == "alice" else "alice"
    bot_says = f'bot {far} said me: "ping"'
    assert sorted(result["chat"][near]) == sorted(
        [f"me hello from {near}", f"{far} hello from {far}", bot_says]
    )
    assert sorted(result["chat"][far]) == sorted(
        [f"{near} hello from {near}", f"me hello from {far}", "me @bot ping", bot_says]
    )
    # Data producers piped between the workers, once each: each tab's chat to the other's
    # worker, the bot's channel to the far worker and the far tab's bot channel home.
    pipes = result["dataPipes"]
    assert len(pipes) == 4
    assert all(pipe["dataConsumers"] == 1 for pipe in pipes)
