"""The messages an application carries between its clients and a :class:`~mediasoup_py.room.Room`,
in the envelopes mediasoup-demo's signaling (protoo) uses, so a v3 client's messages pass
through unchanged:

- request: ``{"request": true, "id": 12, "method": "produce", "data": {...}}``
- response: ``{"response": true, "id": 12, "ok": true, "data": {...}}`` or
  ``{"response": true, "id": 12, "ok": false, "errorCode": 500, "errorReason": "..."}``
- notification: ``{"notification": true, "method": "consumerClosed", "data": {...}}``

Like mediasoup, mediasoup_py carries no signaling itself: the application moves these over its
WebSocket (or anything else).
"""

from __future__ import annotations

import itertools
from typing import Any, NotRequired, TypedDict

from mediasoup_py import errors

__all__ = [
    "Notification",
    "Request",
    "Response",
    "error_response",
    "notification",
    "ok_response",
    "parse_notification",
    "parse_request",
    "parse_response",
    "request",
]


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
    data: NotRequired[dict[str, Any]]
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


def ok_response(request_id: int, data: dict[str, Any]) -> Response:
    """A successful answer."""
    return {"response": True, "id": request_id, "ok": True, "data": data}


def error_response(request_id: int, error: Exception) -> Response:
    """A failed answer; typed errors keep their message (which names the field)."""
    code = 400 if isinstance(error, errors.MediasoupTypeError | errors.UnsupportedError) else 500
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


def parse_request(message: object) -> Request:
    """Checks a request envelope (extra fields are tolerated, as clients send them)."""
    checked = _check_object(message, "message")
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
    """Checks a response envelope; a failed one raises ``InvalidStateError`` with its
    reason."""
    checked = _check_object(message, "message")
    if checked.get("response") is not True:
        raise errors.MediasoupTypeError("response: must be true", "response")
    request_id = checked.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise errors.MediasoupTypeError("id: must be an integer", "id")
    if checked.get("ok") is not True:
        raise errors.InvalidStateError(str(checked.get("errorReason", "request failed")))
    data = _check_object(checked.get("data") or {}, "data")
    return {"response": True, "id": request_id, "ok": True, "data": data}
