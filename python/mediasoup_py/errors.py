"""Typed errors raised by mediasoup_py.

Every error says what is wrong and, where a field of a message or an argument is at fault,
names it. The native layer raises these same classes (it imports them from here), so callers
catch one hierarchy whether the problem was found in Python or in Rust.
"""

from __future__ import annotations


class MediasoupError(Exception):
    """Base class of every error mediasoup_py raises on purpose."""


class InvalidStateError(MediasoupError):
    """The object is closed or not in a state that allows the call (mediasoup's name)."""


class NotFoundError(InvalidStateError):
    """The worker has no such object: never created, or closed already (with its parent,
    for instance). An ``InvalidStateError``, as mediasoup reports a closed object."""


class ResourceError(InvalidStateError):
    """The worker lacks what the call needs: a free port, a socket, randomness."""


class UnsupportedError(MediasoupError):
    """A codec, parameter or feature that mediasoup_py cannot serve (mediasoup's name)."""


class MediasoupTypeError(MediasoupError, TypeError):
    """An argument or message field has the wrong type or value.

    ``field`` names the offending field (e.g. ``rtpParameters.codecs[0].payloadType``) when
    the error is about one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownIdError(NotFoundError, MediasoupTypeError):
    """An id argument names nothing there is (no such producer, consumer, transport... in
    this router, room or peer): a ``NotFoundError``, and, as an argument at fault, a
    ``MediasoupTypeError`` whose ``field`` names it."""


class LimitExceededError(MediasoupError):
    """A request would go past a limit of :class:`mediasoup_py.limits.Limits` (too many
    transports for a peer, peers in a room, pending requests on a connection...).

    ``limit`` names the limit (e.g. ``transports_per_peer``), ``maximum`` is its value.
    """

    def __init__(self, limit: str, maximum: int | float, detail: str | None = None) -> None:
        super().__init__(f"{limit}: {detail or f'at most {maximum}'}")
        self.limit = limit
        self.maximum = maximum


class AuthenticationError(MediasoupError):
    """A join token that is missing, malformed, forged, expired, or for another room or
    peer."""


class PermissionDeniedError(MediasoupError):
    """A peer asked for something its token does not allow (``produce``, ``consume``,
    ``data``)."""


class PacketError(MediasoupError, ValueError):
    """Bytes that are not a valid packet of the expected format."""


class RtpError(PacketError):
    """A malformed RTP packet or an RTP operation that cannot be done (e.g. no room)."""


class RtcpError(PacketError):
    """A malformed RTCP compound packet or an RTCP packet that cannot be serialized."""


class StunError(PacketError):
    """A malformed STUN message."""


class SrtpError(MediasoupError):
    """SRTP/SRTCP protection or unprotection failed.

    Subclasses say why; an attacker-controlled packet can raise any of them, so callers that
    handle network input count and drop rather than log each one.
    """


class SrtpAuthenticationError(SrtpError):
    """The packet's authentication tag does not match: tampered, wrong key or wrong profile."""


class SrtpReplayError(SrtpError):
    """The packet was already received, or is older than the replay window."""


__all__ = [
    "AuthenticationError",
    "InvalidStateError",
    "LimitExceededError",
    "MediasoupError",
    "MediasoupTypeError",
    "NotFoundError",
    "PacketError",
    "PermissionDeniedError",
    "ResourceError",
    "RtcpError",
    "RtpError",
    "SrtpAuthenticationError",
    "SrtpError",
    "SrtpReplayError",
    "StunError",
    "UnknownIdError",
    "UnsupportedError",
]
