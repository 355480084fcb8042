"""mediasoup-demo's connection form and the rest of its protocol, with the clients its app is
made of: protoo-client and mediasoup-client 3.24 (npm) in two headless Chromium pages of
another origin, over wss with the ``protoo`` subprotocol at ``/?roomId=R&peerId=P``
(tests/interop/protoo_room.py)."""

from __future__ import annotations

from typing import Any

from mediasoup_py.protocol import MEDIASOUP_VERSION
from tests.interop.netns import run_in_namespace


def test_mediasoup_demo_clients_join_over_protoo_and_speak_its_protocol(
    loopback_namespace: str,
) -> None:
    result: dict[str, Any] = run_in_namespace(loopback_namespace, "tests.interop.protoo_room")
    alice, bob = result["joined"]["alice"], result["joined"]["bob"]
    # The browser accepted the server's choice of protoo's subprotocol.
    assert alice["subprotocol"] == bob["subprotocol"] == "protoo"
    assert alice["peers"] == []
    assert [peer["id"] for peer in bob["peers"]] == ["alice"]
    # Each decodes the other's camera: Bob's is VP9 with SVC (the app's forceVP9, which needs
    # the VP9 profile mediasoup-demo's server offers).
    assert alice["videoCodec"]["mimeType"] == "video/VP8"
    assert bob["videoCodec"]["mimeType"] == "video/VP9"
    assert bob["videoCodec"]["parameters"]["profile-id"] == 2
    assert result["decoded"]["alice"] >= 30
    assert result["decoded"]["bob"] >= 30
    # The first thing each hears is the version, once.
    for name in ("alice", "bob"):
        assert result["firstNotification"][name]["method"] == "mediasoup-version"
        (version,) = result["versions"][name]
        assert version["version"] == MEDIASOUP_VERSION
        assert version["mediasoupPyVersion"]
    # The stats answers are arrays the app can map over.
    stats = result["stats"]
    assert stats["transport"] == {"isArray": True, "types": ["webrtc-transport"]}
    assert stats["producer"]["isArray"] is True
    assert stats["producer"]["types"] == ["inbound-rtp"]
    assert stats["consumer"]["isArray"] is True
    assert stats["consumer"]["types"][0] == "outbound-rtp"
    assert "inbound-rtp" in stats["consumer"]["types"]
    # The other peer hears the new name, the server keeps it, the renamer hears nothing.
    assert result["nameChanges"] == [
        {"peerId": "alice", "displayName": "Alice B.", "oldDisplayName": "alice"}
    ]
    assert result["aliceHeardOwnNameChange"] == []
    assert result["serverNames"] == ["Alice B.", "bob"]
    # Throttling is refused with a reason naming the method.
    for refusal in (result["throttle"], result["reset"]):
        assert refusal["code"] == 400
        assert "applyNetworkThrottle" in refusal["message"]
        assert "not supported" in refusal["message"]
    # DataChannels as the app opens them: SCTP offered, the chat both ways (RoomClient's
    # unordered channel with one retransmission), its stats an array.
    assert alice["sctpParameters"] == {
        "port": 5000,
        "OS": 1024,
        "MIS": 1024,
        "maxMessageSize": 262144,
    }
    assert alice["chatStream"]["ordered"] is False
    assert alice["chatStream"]["maxRetransmits"] == 1
    assert result["chats"]["bob"] == [{"peerId": "alice", "label": "chat", "message": "hi bob"}]
    assert result["chats"]["alice"] == [{"peerId": "bob", "label": "chat", "message": "hi alice"}]
    (data_stats,) = result["dataProducerStats"]
    assert data_stats["type"] == "data-producer"
    assert data_stats["label"] == "chat"
    assert data_stats["messagesReceived"] == 1
    # The downlink estimate of each one's receiving transport, as the demo shows it.
    for name in ("alice", "bob"):
        bwe = result["downlinkBwe"][name]
        assert set(bwe) == {"desiredBitrate", "effectiveDesiredBitrate", "availableBitrate"}
        assert bwe["availableBitrate"] > 0
        assert bwe["desiredBitrate"] > 0, bwe
        assert bwe["effectiveDesiredBitrate"] >= bwe["desiredBitrate"]
