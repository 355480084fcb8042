"""The messages an application carries between its clients and a :class:`~mediasoup_py.room.Room`,
in the envelopes mediasoup-demo's signaling (protoo) uses, so a v3 client's messages pass
through unchanged:

- request: ``{"request": true, "id": 12, "method": "produce", "data": {...}}``
- response: ``{"response": true, "id": 12, "ok": true, "data": {...}}`` or
  ``{"response": true, "id": 12, "ok": false, "errorCode": 500, "errorReason": "..."}``
- notification: ``{"notification": true, "method": "consumerClosed", "data": {...}}``

Like mediasoup, mediasoup_py carries no signaling itself: the application moves these over its
WebSocket (or anything else). mediasoup-demo's server says which mediasoup it runs in a
``mediasoup-version`` notification as a client connects (:func:`version_notification`).
"""

from __future__ import annotations

import itertools
from typing import Any, NotRequired, TypedDict

from mediasoup_py import errors

__all__ = [
    "MEDIASOUP_VERSION",
    "Notification",
    "Request",
    "Response",
    "check_depth",
    "error_code",
    "error_response",
    "notification",
    "ok_response",
    "parse_notification",
    "parse_request",
    "parse_response",
    "request",
    "version_notification",
]

MEDIASOUP_VERSION = "3.27.1"
"""The mediasoup release whose protocol, data formats and semantics mediasoup_py follows (what
a mediasoup-demo client is told it talks to)."""


class Request(TypedDict):
    """A request: the peer answers it with a :class:`Response` of the same ``id``."""

    request: bool
    id: int
    method: str
    data: dict[str, Any]


class Response(TypedDict):
    """The answer to a request."""

    response: bool
    id: int
    ok: bool
    # An object, or a list (the stats requests answer the stats array itself).
    data: NotRequired[Any]
    errorCode: NotRequired[int]
    errorReason: NotRequired[str]


class Notification(TypedDict):
    """A message that wants no answer."""

    notification: bool
    method: str
    data: dict[str, Any]


_request_ids = itertools.count(1)


def request(method: str, data: dict[str, Any]) -> Request:
    """A new request with a fresh id (server -> client requests such as ``newConsumer``)."""
    return {"request": True, "id": next(_request_ids), "method": method, "data": data}


def ok_response(request_id: int, data: Any) -> Response:
    """A successful answer."""
    return {"response": True, "id": request_id, "ok": True, "data": data}


def error_code(error: Exception) -> int:
    """The HTTP-like code of an error: 400 bad input, 401 no valid token, 403 not allowed,
    409 not in a state to do it, 429 a limit reached, 500 anything else (a bug)."""
    if isinstance(error, errors.MediasoupTypeError | errors.UnsupportedError):
        return 400
    if isinstance(error, errors.AuthenticationError):
        return 401
    if isinstance(error, errors.PermissionDeniedError):
        return 403
    if isinstance(error, errors.InvalidStateError):
        return 409
    if isinstance(error, errors.LimitExceededError):
        return 429
    return 500


def error_response(request_id: int, error: Exception) -> Response:
    """A failed answer; typed errors keep their message (which names the field or limit)
    and their code (:func:`error_code`)."""
    code = error_code(error)
    return {
        "response": True,
        "id": request_id,
        "ok": False,
        "errorCode": code,
        "errorReason": str(error),
    }


def notification(method: str, data: dict[str, Any]) -> Notification:
    """A notification."""
    return {"notification": True, "method": method, "data": data}


def version_notification() -> Notification:
    """``mediasoup-version``, sent as a client connects: ``version`` is the mediasoup
    release whose protocol is spoken (:data:`MEDIASOUP_VERSION`, what mediasoup-demo's app
    shows), ``mediasoupPyVersion`` the server's own."""
    from mediasoup_py import __version__

    return notification(
        "mediasoup-version", {"version": MEDIASOUP_VERSION, "mediasoupPyVersion": __version__}
    )


def _check_object(message: object, field: str) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise errors.MediasoupTypeError(f"{field}: must be an object", field)
    return message


def _method_and_data(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    method = message.get("method")
    if not isinstance(method, str) or not method:
        raise errors.MediasoupTypeError("method: must be a non-empty string", "method")
    data = message.get("data", {})
    if data is None:
        data = {}
    return method, _check_object(data, "data")


def check_depth(message: object, max_depth: int) -> None:
    """Raises ``LimitExceededError`` (``json_depth``) if objects and lists nest deeper than
    ``max_depth`` in ``message`` (walked without recursion)."""
    stack: list[tuple[object, int]] = [(message, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            raise errors.LimitExceededError("json_depth", max_depth)
        stack.extend((child, depth + 1) for child in children)


def parse_request(message: object, *, max_depth: int | None = None) -> Request:
    """Checks a request envelope (extra fields are tolerated, as clients send them) and, if
    ``max_depth`` is given, how deep it nests."""
    checked = _check_object(message, "message")
    if max_depth is not None:
        check_depth(checked, max_depth)
    if checked.get("request") is not True:
        raise errors.MediasoupTypeError("request: must be true", "request")
    request_id = checked.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise errors.MediasoupTypeError("id: must be an integer", "id")
    method, data = _method_and_data(checked)
    return {"request": True, "id": request_id, "method": method, "data": data}


def parse_notification(message: object) -> Notification:
    """Checks a notification envelope."""
    checked = _check_object(message, "message")
    if checked.get("notification") is not True:
        raise errors.MediasoupTypeError("notification: must be true", "notification")
    method, data = _method_and_data(checked)
    return {"notification": True, "method": method, "data": data}


def parse_response(message: object) -> Response:
    """Checks a response envelope (its data an object or a list); a failed one raises
    ``InvalidStateError`` with its reason."""
    checked = _check_object(message, "message")
    if checked.get("response") is not True:
        raise errors.MediasoupTypeError("response: must be true", "response")
    request_id = checked.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise errors.MediasoupTypeError("id: must be an integer", "id")
    if checked.get("ok") is not True:
        raise errors.InvalidStateError(str(checked.get("errorReason", "request failed")))
    data = checked.get("data")
    if not isinstance(data, list):
        data = _check_object(data or {}, "data")
    return {"response": True, "id": request_id, "ok": True, "data": data}
