"""Join tokens: signed JWTs (RFC 7519, through PyJWT) that say who may join which room as
whom, and what they may do there. The application that knows its users issues them; the
signaling layer checks them on every WebSocket and HTTP call.

Claims:

- ``room``: the room it is for
- ``sub``: the peer id (a WebSocket peer's) or the broadcaster id (an HTTP one's)
- ``name``: the display name it joins with (optional: then the client's own)
- ``perms``: what it may do, a subset of ``["produce", "consume", "data"]``
- ``kind``: ``"peer"`` (WebSocket, the default) or ``"broadcaster"`` (the HTTP API)
- ``exp``: when it expires (required), and ``iat``/``nbf``/``aud``/``iss`` as JWT has them

Signed with an HMAC secret (HS256) or a private key whose public key the server is given
(RS256, ES256, EdDSA).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from mediasoup_py import errors
from mediasoup_py.room import PERMISSIONS

__all__ = ["JoinGrant", "TokenVerifier", "issue_token"]

KINDS = ("peer", "broadcaster")
PUBLIC_KEY_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"]
SECRET_ALGORITHMS = ["HS256", "HS384", "HS512"]
# Shorter HMAC secrets can be guessed offline from one token.
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class JoinGrant:
    """What a valid token allows."""

    room: str
    peer_id: str
    display_name: str | None
    permissions: frozenset[str]
    kind: str
    expires_at: float


def issue_token(
    key: str | bytes,
    *,
    room: str,
    peer_id: str,
    display_name: str | None = None,
    permissions: Iterable[str] | None = None,
    kind: str = "peer",
    ttl: float = 3600,
    algorithm: str = "HS256",
    audience: str | None = None,
) -> str:
    """A join token for ``peer_id`` in ``room``, valid for ``ttl`` seconds, signed with
    ``key`` (an HMAC secret, or a PEM private key for a public-key ``algorithm``);
    ``permissions`` default to all."""
    if kind not in KINDS:
        raise errors.MediasoupTypeError(f"kind: one of {KINDS}", "kind")
    granted = sorted(PERMISSIONS if permissions is None else set(permissions))
    if not set(granted) <= PERMISSIONS:
        raise errors.MediasoupTypeError(
            f"permissions: a subset of {sorted(PERMISSIONS)}", "permissions"
        )
    now = int(time.time())
    claims: dict[str, object] = {
        "room": room,
        "sub": peer_id,
        "perms": granted,
        "kind": kind,
        "iat": now,
        "exp": now + int(ttl),
    }
    if display_name is not None:
        claims["name"] = display_name
    if audience is not None:
        claims["aud"] = audience
    return jwt.encode(claims, key, algorithm=algorithm)


class TokenVerifier:
    """Checks join tokens signed with ``secret`` (HMAC) or by the private key of
    ``public_key`` (PEM). ``audience``, when set, must be the token's ``aud``; ``leeway``
    seconds of clock skew are allowed on ``exp``/``nbf``."""

    def __init__(
        self,
        *,
        secret: str | bytes | None = None,
        public_key: str | bytes | None = None,
        audience: str | None = None,
        leeway: float = 0,
    ) -> None:
        if (secret is None) == (public_key is None):
            raise errors.MediasoupTypeError("secret: give a secret or a public key", "secret")
        if secret is not None:
            raw = secret.encode() if isinstance(secret, str) else secret
            if len(raw) < MIN_SECRET_BYTES:
                raise errors.MediasoupTypeError(
                    f"secret: at least {MIN_SECRET_BYTES} bytes", "secret"
                )
            self._key: str | bytes = secret
            self._algorithms = SECRET_ALGORITHMS
        else:
            assert public_key is not None
            self._key = public_key
            self._algorithms = PUBLIC_KEY_ALGORITHMS
        self._audience = audience
        self._leeway = leeway

    def verify(
        self, token: object, *, room: str, kind: str, peer_id: str | None = None
    ) -> JoinGrant:
        """The grant of ``token`` if it is valid, unexpired, for ``room`` and of ``kind``
        (and for ``peer_id`` when given); ``AuthenticationError`` saying why not."""
        if not isinstance(token, str) or not token:
            raise errors.AuthenticationError("token: missing")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "sub", "room"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise errors.AuthenticationError("token: expired") from error
        except jwt.InvalidTokenError as error:
            raise errors.AuthenticationError(f"token: invalid ({type(error).__name__})") from error
        if claims.get("room") != room:
            raise errors.AuthenticationError("token: for another room")
        if claims.get("kind", "peer") != kind:
            raise errors.AuthenticationError(f"token: not a {kind} token")
        subject = claims.get("sub")
        if not isinstance(subject, str) or (peer_id is not None and subject != peer_id):
            raise errors.AuthenticationError("token: for another peer")
        name = claims.get("name")
        permissions = claims.get("perms", [])
        if (name is not None and not isinstance(name, str)) or not isinstance(permissions, list):
            raise errors.AuthenticationError("token: malformed claims")
        granted = frozenset(p for p in permissions if isinstance(p, str)) & PERMISSIONS
        return JoinGrant(
            room=room,
            peer_id=subject,
            display_name=name,
            permissions=granted,
            kind=kind,
            expires_at=float(claims["exp"]),
        )
