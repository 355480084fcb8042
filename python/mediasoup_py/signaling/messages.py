"""Decoding what a client sends, within bounds: its size and nesting are checked before
Python's JSON parser sees it (whose recursion a 10,000-level nesting would exhaust)."""

from __future__ import annotations

import json
import re
from itertools import accumulate

from mediasoup_py import errors
from mediasoup_py.limits import Limits

__all__ = ["decode"]

# A JSON string (with its escapes): what lies inside one is not structure.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _nesting(text: str) -> int:
    """How deep objects and lists nest in JSON text (0 for a scalar); unbalanced text gives
    some number, and the parser then rejects it."""
    structure = _BRACKETS.findall(_STRING.sub("", text))
    if not structure:
        return 0
    return max(accumulate(1 if bracket in "[{" else -1 for bracket in structure))


def decode(data: str | bytes, limits: Limits) -> object:
    """A client's JSON message: ``LimitExceededError`` if it is over ``message_bytes`` or
    nests deeper than ``json_depth``, ``MediasoupTypeError`` if it is not JSON."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size > limits.message_bytes:
        raise errors.LimitExceededError("message_bytes", limits.message_bytes)
    try:
        text = data if isinstance(data, str) else data.decode()
    except UnicodeDecodeError as error:
        raise errors.MediasoupTypeError("message: not UTF-8", "message") from error
    if _nesting(text) > limits.json_depth:
        raise errors.LimitExceededError("json_depth", limits.json_depth)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise errors.MediasoupTypeError("message: not JSON", "message") from error
