"""Signed cluster records: what nodes write to Redis and publish on its channels.

Every record is JSON: ``{"body": <the payload as a JSON string>, "sig": <HMAC-SHA256 of it,
hex>}``. With a shared secret, a record whose signature does not match (written by a node
with another secret, or by anything that can reach Redis but does not hold the secret) is
refused, and a published message older than :data:`MAX_MESSAGE_AGE_S` is refused as a replay.
Without a secret records are written unsigned and taken as they are: the deployment then
relies on Redis itself being reachable only by the nodes (its ACLs, a private network).

Clients never write to Redis: what they send reaches it only inside a node's signed record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from mediasoup_py import errors

__all__ = ["MAX_MESSAGE_AGE_S", "SignatureError", "Signer"]

# How old a published message may be (its "ts", the sender's clock) before it is taken as a
# replay; generous, for clocks of different machines.
MAX_MESSAGE_AGE_S = 60.0


class SignatureError(errors.MediasoupError):
    """A cluster record that is malformed, unsigned or signed with another secret."""


class Signer:
    """Seals and opens records with the cluster's shared secret (or none)."""

    def __init__(self, secret: str | bytes | None) -> None:
        if isinstance(secret, str):
            secret = secret.encode()
        if secret is not None and not secret:
            raise errors.MediasoupTypeError("secret: must be non-empty (or None)", "secret")
        self._secret = secret

    @property
    def enabled(self) -> bool:
        """Whether records are signed and checked."""
        return self._secret is not None

    def _signature(self, body: str) -> str:
        assert self._secret is not None
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()

    def seal(self, payload: dict[str, Any]) -> str:
        """The record of ``payload``."""
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        record: dict[str, str] = {"body": body}
        if self._secret is not None:
            record["sig"] = self._signature(body)
        return json.dumps(record, separators=(",", ":"))

    def open(self, record: str | bytes) -> dict[str, Any]:
        """The payload of a record; :class:`SignatureError` if it is not one of ours."""
        try:
            outer = json.loads(record)
            body = outer["body"]
            if not isinstance(body, str):
                raise TypeError("body is not a string")
            if self._secret is not None:
                signature = outer.get("sig")
                if not isinstance(signature, str) or not hmac.compare_digest(
                    signature, self._signature(body)
                ):
                    raise SignatureError("cluster record: bad or missing signature")
            payload = json.loads(body)
        except SignatureError:
            raise
        except (ValueError, TypeError, KeyError, RecursionError) as error:
            raise SignatureError(f"cluster record: malformed ({error})") from error
        if not isinstance(payload, dict):
            raise SignatureError("cluster record: the body is not an object")
        return payload

    def seal_message(self, payload: dict[str, Any]) -> str:
        """A record to publish: stamped with the time, so a replay can be told."""
        return self.seal({**payload, "ts": time.time()})

    def open_message(self, record: str | bytes) -> dict[str, Any]:
        """A published message's payload; too old (with a secret) is a replay."""
        payload = self.open(record)
        stamp = payload.get("ts")
        if not isinstance(stamp, int | float):
            raise SignatureError("cluster message: no timestamp")
        if self._secret is not None and abs(time.time() - stamp) > MAX_MESSAGE_AGE_S:
            raise SignatureError("cluster message: too old (a replay?)")
        return payload
