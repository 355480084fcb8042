"""``mediasoup-py token``: prints a join token for the demo started with a token secret (or
key), for a page (``http://host:8080/?token=...``), the bot (``--token``) or the broadcaster
examples (``--token``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mediasoup_py.room import PERMISSIONS
from mediasoup_py.signaling import issue_token

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mediasoup-py token", description="Prints a signed join token."
    )
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--secret-file", type=Path, help="the HMAC secret the demo was given")
    key.add_argument("--private-key", type=Path, help="a PEM private key (RS256/ES256/EdDSA)")
    parser.add_argument("--algorithm", default=None, help="HS256 with a secret, else RS256...")
    parser.add_argument("--room", required=True)
    parser.add_argument("--peer", required=True, help="the peer (or broadcaster) id")
    parser.add_argument("--name", default=None, help="the display name it joins with")
    parser.add_argument(
        "--permissions",
        default=",".join(sorted(PERMISSIONS)),
        help="comma-separated, of produce, consume, data",
    )
    parser.add_argument("--kind", choices=["peer", "broadcaster"], default="peer")
    parser.add_argument("--ttl", type=float, default=3600, help="seconds it is valid")
    arguments = parser.parse_args(argv)
    if arguments.secret_file is not None:
        signing_key = arguments.secret_file.read_text().strip()
        algorithm = arguments.algorithm or "HS256"
    else:
        signing_key = arguments.private_key.read_text()
        algorithm = arguments.algorithm or "RS256"
    print(
        issue_token(
            signing_key,
            room=arguments.room,
            peer_id=arguments.peer,
            display_name=arguments.name,
            permissions=[p for p in arguments.permissions.split(",") if p],
            kind=arguments.kind,
            ttl=arguments.ttl,
            algorithm=algorithm,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
