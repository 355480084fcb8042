"""A small typed event emitter, the shape mediasoup's objects have (``on``, ``once``, ``off``,
``emit``) for events such as ``icestatechange`` or ``died``.

Handlers are plain callables run synchronously in the order they were added; an exception in
one is logged and does not stop the others or the emitter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["EventEmitter"]

Handler = Callable[..., Any]

_logger = logging.getLogger("mediasoup_py.events")


class EventEmitter:
    """Registers handlers by event name and calls them on ``emit``."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[Handler, bool]]] = {}

    def on(self, event: str, handler: Handler) -> Handler:
        """Calls ``handler`` on every ``event``; returns it, so it works as a decorator."""
        self._handlers.setdefault(event, []).append((handler, False))
        return handler

    def once(self, event: str, handler: Handler) -> Handler:
        """Calls ``handler`` on the next ``event`` only."""
        self._handlers.setdefault(event, []).append((handler, True))
        return handler

    def off(self, event: str, handler: Handler) -> None:
        """Removes ``handler`` from ``event`` (no error if it was not there)."""
        handlers = self._handlers.get(event, [])
        # Equality, not identity: each access to a bound method makes a new object.
        self._handlers[event] = [entry for entry in handlers if entry[0] != handler]

    def listener_count(self, event: str) -> int:
        """How many handlers ``event`` has."""
        return len(self._handlers.get(event, []))

    def emit(self, event: str, *args: Any) -> None:
        """Calls the handlers of ``event`` with ``args``."""
        handlers = self._handlers.get(event, [])
        if not handlers:
            return
        self._handlers[event] = [entry for entry in handlers if not entry[1]]
        for handler, _ in handlers:
            try:
                handler(*args)
            except Exception:
                _logger.exception("handler of %r raised", event)
