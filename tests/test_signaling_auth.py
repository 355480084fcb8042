"""Join tokens and origins on the signaling server (real WebSockets and HTTP on 127.0.0.1):
forged, expired, for another room or peer, and missing tokens are refused (401) on the
WebSocket and on the HTTP API; a token's name and permissions hold; a page of another origin
cannot open a WebSocket; and a server without tokens refuses to listen beyond loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mediasoup_py import errors
from mediasoup_py.limits import Limits
from mediasoup_py.signaling import SignalingServer, TokenVerifier, issue_token
from tests.signaling_harness import OPUS, assert_honest_served, serving

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


async def ws_status(url: str, params: dict[str, str], headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as session:
        try:
            socket = await session.ws_connect(f"{url}/ws", params=params, headers=headers)
        except aiohttp.WSServerHandshakeError as error:
            return error.status
        await socket.close()
        return 101


def test_tokens_forged_expired_or_for_another_room_are_refused() -> None:
    verifier = TokenVerifier(secret=SECRET)

    async def scenario() -> dict[str, Any]:
        async with serving(Limits(), tokens=verifier, honest=False) as served:
            url = served.url
            good = issue_token(SECRET, room="call", peer_id="alice", display_name="Alice")
            statuses = {
                "missing": await ws_status(url, {"roomId": "call"}),
                "garbage": await ws_status(url, {"roomId": "call", "token": "not.a.jwt"}),
                "forged": await ws_status(
                    url,
                    {
                        "roomId": "call",
                        "token": issue_token(
                            "another-secret-that-is-long-enough!!", room="call", peer_id="alice"
                        ),
                    },
                ),
                "none-alg": await ws_status(
                    url,
                    {
                        "roomId": "call",
                        "token": jwt.encode(
                            {"room": "call", "sub": "alice", "exp": 2**40}, None, algorithm="none"
                        ),
                    },
                ),
                "expired": await ws_status(
                    url,
                    {
                        "roomId": "call",
                        "token": issue_token(SECRET, room="call", peer_id="a", ttl=-5),
                    },
                ),
                "otherRoom": await ws_status(url, {"roomId": "other", "token": good}),
                "otherPeer": await ws_status(
                    url, {"roomId": "call", "peerId": "mallory", "token": good}
                ),
                "broadcasterTokenOnWs": await ws_status(
                    url,
                    {
                        "roomId": "call",
                        "token": issue_token(
                            SECRET, room="call", peer_id="alice", kind="broadcaster"
                        ),
                    },
                ),
            }
            # A good token: its peer id and display name are the ones used, whatever the
            # client says; a token without "produce" cannot produce.
            async with aiohttp.ClientSession() as session:
                viewer = issue_token(SECRET, room="call", peer_id="viewer", permissions=["consume"])
                socket = await session.ws_connect(
                    f"{url}/ws", params={"roomId": "call", "token": viewer}
                )
                await socket.receive_json()  # mediasoup-version
                await socket.send_json(
                    {"request": True, "id": 1, "method": "join", "data": {"displayName": "x"}}
                )
                joined = await socket.receive_json()
                alice = await session.ws_connect(
                    f"{url}/ws", params={"roomId": "call", "token": good}
                )
                await alice.receive_json()  # mediasoup-version
                await alice.send_json(
                    {"request": True, "id": 1, "method": "join", "data": {"displayName": "Eve"}}
                )
                await alice.receive_json()
                new_peer = await socket.receive_json()
                await socket.send_json(
                    {
                        "request": True,
                        "id": 2,
                        "method": "produce",
                        "data": {"transportId": "t", "kind": "audio"},
                    }
                )
                produce = await socket.receive_json()
                # The HTTP API wants a broadcaster token for that room and id.
                rooms = f"{url}/rooms/call"
                bearer = issue_token(SECRET, room="call", peer_id="b", kind="broadcaster")
                http = {}
                for name, token, body in (
                    ("none", None, {"id": "b"}),
                    ("peerToken", good, {"id": "alice"}),
                    ("otherId", bearer, {"id": "c"}),
                    ("good", bearer, {"id": "b"}),
                ):
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    async with session.post(
                        f"{rooms}/broadcasters", json=body, headers=headers
                    ) as response:
                        http[name] = response.status
                async with session.get(rooms) as response:
                    http["infoWithout"] = response.status
                await socket.close()
                await alice.close()
            return {
                "statuses": statuses,
                "joined": joined,
                "newPeer": new_peer,
                "produce": produce,
                "http": http,
            }

    result = asyncio.run(scenario())
    for name, status in result["statuses"].items():
        assert status == 401, (name, status)
    assert result["joined"]["ok"]
    assert result["newPeer"]["data"]["id"] == "alice"
    assert result["newPeer"]["data"]["displayName"] == "Alice"
    assert result["produce"]["errorCode"] == 403
    assert result["http"] == {
        "none": 401,
        "peerToken": 401,
        "otherId": 401,
        "good": 200,
        "infoWithout": 401,
    }


def test_tokens_signed_with_a_private_key_are_checked_with_its_public_key() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = TokenVerifier(public_key=public)
    token = issue_token(pem, room="r", peer_id="p", algorithm="ES256")
    grant = verifier.verify(token, room="r", kind="peer")
    assert (grant.peer_id, grant.permissions) == ("p", frozenset({"produce", "consume", "data"}))
    # An HMAC token made with the public key as its secret (the classic confusion) fails.
    confused = jwt.encode({"room": "r", "sub": "p", "exp": 2**40}, "x" * 64, algorithm="HS256")
    with pytest.raises(errors.AuthenticationError):
        verifier.verify(confused, room="r", kind="peer")
    with pytest.raises(errors.MediasoupTypeError, match="secret"):
        TokenVerifier(secret="short")


def test_a_page_of_another_origin_cannot_open_a_websocket() -> None:
    async def scenario() -> dict[str, int]:
        async with serving(Limits(), allowed_origins=("https://app.example",)) as served:
            url = served.url
            own = url
            statuses = {
                "evil": await ws_status(
                    url, {"roomId": "call", "peerId": "e"}, {"Origin": "http://evil.example"}
                ),
                "allowed": await ws_status(
                    url, {"roomId": "call", "peerId": "a"}, {"Origin": "https://app.example"}
                ),
                "own": await ws_status(url, {"roomId": "call", "peerId": "o"}, {"Origin": own}),
                "none": await ws_status(url, {"roomId": "call", "peerId": "n"}),
            }
            assert_honest_served(served)
            return statuses

    assert asyncio.run(scenario()) == {"evil": 403, "allowed": 101, "own": 101, "none": 101}


def test_without_tokens_it_refuses_to_listen_beyond_loopback_unless_insecure() -> None:
    async def scenario() -> None:
        signaling = SignalingServer(OPUS)
        with pytest.raises(errors.InvalidStateError, match="without join tokens"):
            await signaling.start("0.0.0.0", 0)
        insecure = SignalingServer(OPUS, insecure=True)
        runner, port = await insecure.start("0.0.0.0", 0)
        assert port > 0
        await runner.cleanup()

    asyncio.run(scenario())
