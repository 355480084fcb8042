"""A hardened signaling layer for rooms: mediasoup-demo's v3 protocol over WebSockets and its
broadcaster HTTP API (:class:`SignalingServer`), each connection bounded
(:class:`WebSocketConnection`), and join tokens (:class:`TokenVerifier`, :func:`issue_token`).
On aiohttp and PyJWT (dependencies of the package, which ``import mediasoup_py`` does not
import)."""

from mediasoup_py.signaling.auth import JoinGrant, TokenVerifier, issue_token
from mediasoup_py.signaling.connection import WebSocketConnection
from mediasoup_py.signaling.messages import decode
from mediasoup_py.signaling.server import SignalingServer, check_origin, is_loopback

__all__ = [
    "JoinGrant",
    "SignalingServer",
    "TokenVerifier",
    "WebSocketConnection",
    "check_origin",
    "decode",
    "is_loopback",
    "issue_token",
]
