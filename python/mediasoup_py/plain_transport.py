"""Plain transports: RTP and RTCP without ICE or DTLS, optionally SRTP with keys exchanged in
signaling. This is how ffmpeg and GStreamer send media into a router or record it.

With ``comedia`` the remote address is learned from the first RTP packet; otherwise
``connect(ip=..., port=...)`` gives it. Packets from any other address are dropped.

With ``enable_sctp`` the transport carries DataChannels as mediasoup's does: SCTP packets
(ports 5000/5000) travel on the RTP tuple as plain UDP payloads, never SRTP-protected, and
the association starts once the tuple is known (the end whose address sorts lower sends the
INIT); only the tuple's remote address may feed it.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import TYPE_CHECKING, Any, Self, TypedDict

from mediasoup_py import _core, errors
from mediasoup_py.transport import SctpOptions, Transport, TransportTuple, parse_ip
from mediasoup_py.transport import tuple_of as _tuple

if TYPE_CHECKING:
    from mediasoup_py.router import Router

__all__ = ["PlainTransport", "SrtpParameters"]

SRTP_CRYPTO_SUITES = (
    "AEAD_AES_256_GCM",
    "AEAD_AES_128_GCM",
    "AES_CM_128_HMAC_SHA1_80",
    "AES_CM_128_HMAC_SHA1_32",
)


class SrtpParameters(TypedDict):
    """mediasoup's SRTP parameters: the suite and base64 of master key || master salt."""

    cryptoSuite: str
    keyBase64: str


def _srtp_key(value: object, suite: str) -> bytes:
    """The key of ``srtpParameters`` given to ``connect``, checked against our suite."""
    if not isinstance(value, dict):
        raise errors.MediasoupTypeError("srtp_parameters: must be a dict", "srtp_parameters")
    if value.get("cryptoSuite") != suite:
        raise errors.MediasoupTypeError(
            f"srtp_parameters.cryptoSuite: must be {suite}, the transport's suite",
            "srtp_parameters.cryptoSuite",
        )
    key = value.get("keyBase64")
    if not isinstance(key, str):
        raise errors.MediasoupTypeError(
            "srtp_parameters.keyBase64: must be a base64 string", "srtp_parameters.keyBase64"
        )
    try:
        return base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError) as error:
        raise errors.MediasoupTypeError(
            "srtp_parameters.keyBase64: not valid base64", "srtp_parameters.keyBase64"
        ) from error


def _port(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise errors.MediasoupTypeError(f"{field}: must be an int in 1..65535", field)
    return value


class PlainTransport(Transport):
    """A plain RTP transport. Events: ``tuple``, ``rtcptuple``, ``sctpstatechange``,
    ``routerclose``. Observer events: ``close``, ``tuple``, ``rtcptuple``,
    ``sctpstatechange``."""

    def __init__(
        self,
        router: Router,
        transport_id: str,
        data: dict[str, Any],
        *,
        rtcp_mux: bool,
        comedia: bool,
        srtp_crypto_suite: str | None,
        app_data: dict[str, Any],
    ) -> None:
        super().__init__(router, transport_id, app_data)
        self._local_ip: str = data["localIp"]
        self._local_port: int = data["localPort"]
        self._rtcp_local_port: int | None = data["rtcpLocalPort"]
        self._rtcp_mux = rtcp_mux
        self._comedia = comedia
        self._srtp_parameters: SrtpParameters | None = None
        if srtp_crypto_suite is not None:
            self._srtp_parameters = {
                "cryptoSuite": srtp_crypto_suite,
                "keyBase64": base64.b64encode(data["srtpKey"]).decode(),
            }
        self._tuple: TransportTuple | None = None
        self._rtcp_tuple: TransportTuple | None = None

    @classmethod
    async def create(
        cls,
        router: Router,
        listen_ip: str,
        port: tuple[int, int],
        *,
        rtcp_mux: bool,
        comedia: bool,
        enable_srtp: bool,
        srtp_crypto_suite: str,
        sctp: SctpOptions | None,
        app_data: dict[str, Any],
    ) -> Self:
        """Asks the router's worker for a transport; use ``Router.create_plain_transport``."""
        if enable_srtp and srtp_crypto_suite not in SRTP_CRYPTO_SUITES:
            raise errors.MediasoupTypeError(
                f"srtp_crypto_suite: must be one of {', '.join(SRTP_CRYPTO_SUITES)}",
                "srtp_crypto_suite",
            )
        suite = srtp_crypto_suite if enable_srtp else None
        transport_id = str(uuid.uuid4())
        worker = router.worker
        native = worker._native
        data = await worker._request(
            lambda request_id: native.create_plain_transport(
                request_id,
                router_id=router.id,
                transport_id=transport_id,
                listen_ip=listen_ip,
                port=port,
                rtcp_mux=rtcp_mux,
                comedia=comedia,
                srtp_crypto_suite=suite,
                sctp=None
                if sctp is None
                else (sctp["OS"], sctp["MIS"], sctp["maxMessageSize"], sctp["sendBufferSize"]),
            )
        )
        transport = cls(
            router,
            transport_id,
            data,
            rtcp_mux=rtcp_mux,
            comedia=comedia,
            srtp_crypto_suite=suite,
            app_data=app_data,
        )
        transport._enable_sctp(sctp)
        worker._register_transport(transport)
        return transport

    @property
    def tuple(self) -> TransportTuple:
        """The RTP tuple; before the remote address is known, only the local half."""
        if self._tuple is not None:
            return self._tuple
        return {
            "localIp": self._local_ip,
            "localAddress": self._local_ip,
            "localPort": self._local_port,
            "protocol": "udp",
        }

    @property
    def rtcp_tuple(self) -> TransportTuple | None:
        """The RTCP tuple without rtcp-mux."""
        if self._rtcp_mux or self._rtcp_local_port is None:
            return None
        if self._rtcp_tuple is not None:
            return self._rtcp_tuple
        return {
            "localIp": self._local_ip,
            "localAddress": self._local_ip,
            "localPort": self._rtcp_local_port,
            "protocol": "udp",
        }

    @property
    def rtcp_mux(self) -> bool:
        """Whether RTCP shares the RTP port."""
        return self._rtcp_mux

    @property
    def comedia(self) -> bool:
        """Whether the remote address is learned from the first packet."""
        return self._comedia

    @property
    def srtp_parameters(self) -> SrtpParameters | None:
        """Our SRTP suite and key, to give the remote sender/receiver, when SRTP is on."""
        if self._srtp_parameters is None:
            return None
        return {
            "cryptoSuite": self._srtp_parameters["cryptoSuite"],
            "keyBase64": self._srtp_parameters["keyBase64"],
        }

    def __repr__(self) -> str:
        return f"<PlainTransport id={self._id} port={self._local_port}>"

    async def connect(
        self,
        *,
        ip: str | None = None,
        port: int | None = None,
        rtcp_port: int | None = None,
        srtp_parameters: SrtpParameters | None = None,
    ) -> None:
        """The remote address (not with comedia) and, with SRTP, the remote key."""
        self._check_open()
        checked_ip = None if ip is None else parse_ip(ip, "ip")
        checked_port = None if port is None else _port(port, "port")
        checked_rtcp_port = None if rtcp_port is None else _port(rtcp_port, "rtcp_port")
        if checked_rtcp_port is not None and self._rtcp_mux:
            raise errors.MediasoupTypeError("rtcp_port: not used with rtcp_mux", "rtcp_port")
        key = None
        if srtp_parameters is not None:
            if self._srtp_parameters is None:
                raise errors.MediasoupTypeError(
                    "srtp_parameters: SRTP is not enabled on this transport", "srtp_parameters"
                )
            key = _srtp_key(srtp_parameters, self._srtp_parameters["cryptoSuite"])
        native = self._worker._native
        await self._worker._request(
            lambda request_id: native.connect_plain_transport(
                request_id,
                transport_id=self._id,
                ip=checked_ip,
                port=checked_port,
                rtcp_port=checked_rtcp_port,
                srtp_key=key,
            )
        )

    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup-style statistics (one ``plain-rtp-transport`` entry)."""
        stats, entry = await self._native_stats("plain-rtp-transport")
        entry |= {
            "rtcpMux": self._rtcp_mux,
            "comedia": self._comedia,
            "tuple": stats["tuple"] or self.tuple,
            "rtcpTuple": stats["rtcpTuple"],
        }
        if self._sctp_state is not None:
            entry["sctpState"] = self._sctp_state
        return [entry]

    def _on_worker_event(self, event: _core.TransportEvent) -> None:
        if event["event"] == "tuple":
            self._tuple = _tuple(event["data"])
        elif event["event"] == "rtcptuple":
            self._rtcp_tuple = _tuple(event["data"])
        super()._on_worker_event(event)
