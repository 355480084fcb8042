"""mediasoup_py: a WebRTC SFU (selective forwarding unit) for Python.

The media plane (RTP/RTCP, SRTP, ICE-lite, DTLS and routing) runs in Rust on native worker
threads; this package is the control plane and the typed surface over it.
"""

from mediasoup_py import errors
from mediasoup_py._core import __version__
from mediasoup_py.active_speaker_detector import ActiveSpeakerDetector
from mediasoup_py.consumer import Consumer
from mediasoup_py.data_consumer import DataConsumer
from mediasoup_py.data_producer import DataProducer
from mediasoup_py.direct_transport import DirectTransport
from mediasoup_py.limits import Limits
from mediasoup_py.peer_v2 import V2Consumer, V2Peer
from mediasoup_py.pipe_transport import PipeTransport
from mediasoup_py.plain_transport import PlainTransport
from mediasoup_py.producer import Producer
from mediasoup_py.recorder import Recorder, record
from mediasoup_py.room import Peer, PeerChannel, Room, RoomPeer
from mediasoup_py.router import Router
from mediasoup_py.rtp_observer import ActiveSpeakerObserver, AudioLevelObserver, RtpObserver
from mediasoup_py.server import Server
from mediasoup_py.webrtc_server import WebRtcServer
from mediasoup_py.webrtc_transport import WebRtcTransport
from mediasoup_py.worker import Worker, WorkerDiedError, create_worker

__all__ = [
    "ActiveSpeakerDetector",
    "ActiveSpeakerObserver",
    "AudioLevelObserver",
    "Consumer",
    "DataConsumer",
    "DataProducer",
    "DirectTransport",
    "Limits",
    "Peer",
    "PeerChannel",
    "PipeTransport",
    "PlainTransport",
    "Producer",
    "Recorder",
    "Room",
    "RoomPeer",
    "Router",
    "RtpObserver",
    "Server",
    "V2Consumer",
    "V2Peer",
    "WebRtcServer",
    "WebRtcTransport",
    "Worker",
    "WorkerDiedError",
    "__version__",
    "create_worker",
    "errors",
    "record",
]
