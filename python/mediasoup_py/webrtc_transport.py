"""WebRTC transports: ICE-lite, DTLS-SRTP and SRTP between a client and a worker.

The application sends ``ice_parameters``, ``ice_candidates`` and ``dtls_parameters`` to its
client, and calls ``connect(dtls_parameters=...)`` with what the client answers, exactly as
with mediasoup v3.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from mediasoup_py import _core, errors
from mediasoup_py.transport import (
    ListenInfo,
    SctpOptions,
    Transport,
    TransportTuple,
    parse_listen_infos,
    port_range_of,
)
from mediasoup_py.transport import tuple_of as _tuple

if TYPE_CHECKING:
    from mediasoup_py.router import Router
    from mediasoup_py.webrtc_server import WebRtcServer

__all__ = [
    "DtlsFingerprint",
    "DtlsParameters",
    "IceCandidate",
    "IceParameters",
    "ListenInfo",
    "ResolvedListen",
    "WebRtcTransport",
]


def _candidate_priority(index: int) -> int:
    """mediasoup's candidate priority: 2^24 * 64 + 2^8 * (10000 - 100 * index) + 255, by the
    index of the listen info (the preferred protocol first)."""
    return (1 << 30) + (10000 - 100 * index) * 256 + 255


_FINGERPRINT_ALGORITHMS = ("sha-1", "sha-224", "sha-256", "sha-384", "sha-512")


class IceParameters(TypedDict):
    """Local ICE credentials; ``iceLite`` is always true."""

    usernameFragment: str
    password: str
    iceLite: bool


class IceCandidate(TypedDict):
    """A host candidate, with both ``ip`` (older clients) and ``address``."""

    foundation: str
    priority: int
    ip: str
    address: str
    protocol: Literal["udp", "tcp"]
    port: int
    type: Literal["host"]
    tcpType: NotRequired[Literal["passive"]]


class DtlsFingerprint(TypedDict):
    """A certificate fingerprint: ``sha-256`` and uppercase colon-separated hex."""

    algorithm: str
    value: str


class DtlsParameters(TypedDict):
    """DTLS role and fingerprints."""

    role: NotRequired[Literal["auto", "client", "server"]]
    fingerprints: list[DtlsFingerprint]


# Addresses a transport or WebRtcServer listens on at most (the worker's limit).
MAX_LISTEN_ADDRESSES = 4


class ResolvedListen(TypedDict):
    """One address a transport listens on once the options are checked: for UDP and TCP
    the port choice (see ``port_range_of``) or None when the protocol is off, and what each
    protocol's candidate announces."""

    ip: str
    udp: tuple[int, int] | None
    tcp: tuple[int, int] | None
    announced: dict[str, str]


def group_listen_infos(
    infos: list[ListenInfo], field: str = "listen_infos"
) -> list[ResolvedListen]:
    """Listen infos by address, in order (every address gets its candidates): at most one
    UDP and one TCP info per address, at most ``MAX_LISTEN_ADDRESSES`` addresses."""
    by_ip: dict[str, ResolvedListen] = {}
    for index, info in enumerate(infos):
        listen = by_ip.setdefault(
            info["ip"], {"ip": info["ip"], "udp": None, "tcp": None, "announced": {}}
        )
        protocol = info["protocol"]
        if listen[protocol] is not None:
            raise errors.MediasoupTypeError(
                f"{field}[{index}]: a second {protocol} listen info on {info['ip']}",
                f"{field}[{index}]",
            )
        listen[protocol] = port_range_of(info)
        if "announcedAddress" in info:
            listen["announced"][protocol] = info["announcedAddress"]
    if len(by_ip) > MAX_LISTEN_ADDRESSES:
        raise errors.UnsupportedError(
            f"{field}: at most {MAX_LISTEN_ADDRESSES} addresses (got {len(by_ip)})"
        )
    return list(by_ip.values())


def native_listens(
    resolved: list[ResolvedListen],
) -> list[tuple[str, tuple[int, int] | None, tuple[int, int] | None]]:
    """What the worker takes: ``(ip, udp, tcp)`` per address."""
    return [(listen["ip"], listen["udp"], listen["tcp"]) for listen in resolved]


def announce(
    listening: list[dict[str, Any]], resolved: list[ResolvedListen]
) -> list[dict[str, Any]]:
    """The worker's bound ports with the address each one's candidate announces."""
    announced = {
        (protocol, listen["ip"]): address
        for listen in resolved
        for protocol, address in listen["announced"].items()
    }
    return [
        {**entry, "announcedAddress": announced.get((entry["protocol"], entry["ip"]))}
        for entry in listening
    ]


def _listen_ips(value: object, enable_udp: bool, enable_tcp: bool) -> list[ListenInfo]:
    if not isinstance(value, list) or not value:
        raise errors.MediasoupTypeError("listen_ips: must be a non-empty list", "listen_ips")
    infos: list[object] = []
    for index, entry in enumerate(value):
        field = f"listen_ips[{index}]"
        if isinstance(entry, str):
            entry = {"ip": entry}
        if not isinstance(entry, dict):
            raise errors.MediasoupTypeError(f"{field}: must be a string or a dict", field)
        for protocol, enabled in (("udp", enable_udp), ("tcp", enable_tcp)):
            if enabled:
                infos.append({**entry, "protocol": protocol})
    return parse_listen_infos(infos, "listen_ips")


def resolve_listen_info(
    listen_infos: list[ListenInfo] | None,
    listen_ips: list[str | dict[str, str]] | None,
    enable_udp: bool,
    enable_tcp: bool,
) -> list[ResolvedListen]:
    """Checks either mediasoup form (v3 ``listen_infos`` with a protocol each, or
    ``listen_ips`` with ``enable_udp``/``enable_tcp``) and returns the addresses with their
    protocols."""
    if listen_infos is not None and listen_ips is not None:
        raise errors.MediasoupTypeError(
            "listen_infos: give listen_infos or listen_ips, not both", "listen_infos"
        )
    if listen_infos is not None:
        infos = parse_listen_infos(listen_infos)
    elif listen_ips is not None:
        if not enable_udp and not enable_tcp:
            raise errors.MediasoupTypeError(
                "enable_udp: at least one of enable_udp and enable_tcp", "enable_udp"
            )
        infos = _listen_ips(listen_ips, enable_udp, enable_tcp)
    else:
        raise errors.MediasoupTypeError(
            "listen_infos: a WebRTC transport needs listen_infos (or listen_ips)", "listen_infos"
        )
    field = "listen_infos" if listen_infos is not None else "listen_ips"
    return group_listen_infos(infos, field)


def _dtls_parameters(value: object) -> tuple[str, DtlsFingerprint]:
    """Validates ``connect``'s argument; returns the client role and the fingerprint to check
    (mediasoup uses the first one)."""
    if not isinstance(value, dict):
        raise errors.MediasoupTypeError("dtlsParameters: must be a dict", "dtlsParameters")
    role = value.get("role", "auto")
    if role not in ("auto", "client", "server"):
        raise errors.MediasoupTypeError(
            "dtlsParameters.role: must be 'auto', 'client' or 'server'", "dtlsParameters.role"
        )
    fingerprints = value.get("fingerprints")
    if not isinstance(fingerprints, list) or not fingerprints:
        raise errors.MediasoupTypeError(
            "dtlsParameters.fingerprints: must be a non-empty list", "dtlsParameters.fingerprints"
        )
    first = fingerprints[0]
    field = "dtlsParameters.fingerprints[0]"
    if not isinstance(first, dict):
        raise errors.MediasoupTypeError(f"{field}: must be a dict", field)
    algorithm = first.get("algorithm")
    if not isinstance(algorithm, str) or algorithm.lower() not in _FINGERPRINT_ALGORITHMS:
        raise errors.MediasoupTypeError(
            f"{field}.algorithm: must be one of {', '.join(_FINGERPRINT_ALGORITHMS)}",
            f"{field}.algorithm",
        )
    fingerprint_value = first.get("value")
    if not isinstance(fingerprint_value, str) or not fingerprint_value:
        raise errors.MediasoupTypeError(f"{field}.value: must be a hex string", f"{field}.value")
    return role, {"algorithm": algorithm.lower(), "value": fingerprint_value}


class WebRtcTransport(Transport):
    """A WebRTC transport. Events: ``icestatechange``, ``iceselectedtuplechange``,
    ``dtlsstatechange``, ``sctpstatechange``, ``routerclose``, ``listenserverclose``.
    Observer events: ``close``, ``newdataproducer``, ``newdataconsumer`` and the same state
    changes."""

    def __init__(
        self,
        router: Router,
        transport_id: str,
        ice_parameters: IceParameters,
        listening: list[dict[str, Any]],
        prefer_tcp: bool,
        webrtc_server: WebRtcServer | None,
        app_data: dict[str, Any],
    ) -> None:
        super().__init__(router, transport_id, app_data)
        self._ice_parameters = ice_parameters
        self._webrtc_server = webrtc_server
        ordered = sorted(listening, key=lambda entry: (entry["protocol"] == "tcp") != prefer_tcp)
        self._ice_candidates: list[IceCandidate] = []
        for index, entry in enumerate(ordered):
            address = entry.get("announcedAddress") or entry["ip"]
            candidate: IceCandidate = {
                "foundation": f"{entry['protocol']}candidate",
                "priority": _candidate_priority(index),
                "ip": address,
                "address": address,
                "protocol": entry["protocol"],
                "port": entry["port"],
                "type": "host",
            }
            if entry["protocol"] == "tcp":
                candidate["tcpType"] = "passive"
            self._ice_candidates.append(candidate)
        self._ice_state = "new"
        self._ice_selected_tuple: TransportTuple | None = None
        self._dtls_state = "new"
        self._dtls_remote_cert: str | None = None
        self._connected = False

    @classmethod
    async def create(
        cls,
        router: Router,
        listen: list[ResolvedListen] | WebRtcServer,
        *,
        server_protocols: tuple[str, ...] = ("udp", "tcp"),
        prefer_tcp: bool,
        ice_consent_timeout: float,
        app_data: dict[str, Any],
        sctp: SctpOptions | None = None,
    ) -> WebRtcTransport:
        """Asks the router's worker for a transport; use ``Router.create_webrtc_transport``."""
        if isinstance(ice_consent_timeout, bool) or not isinstance(
            ice_consent_timeout, int | float
        ):
            raise errors.MediasoupTypeError(
                "ice_consent_timeout: must be a number of seconds", "ice_consent_timeout"
            )
        transport_id = str(uuid.uuid4())
        worker = router.worker
        native = worker._native
        server = None if isinstance(listen, list) else listen
        if server is not None and (server.closed or worker not in server.workers):
            raise errors.MediasoupTypeError(
                "webrtc_server: must be an open WebRtcServer of the router's worker (or one "
                "shared with it)",
                "webrtc_server",
            )
        own = listen if isinstance(listen, list) else None
        data = await worker._request(
            lambda request_id: native.create_webrtc_transport(
                request_id,
                router_id=router.id,
                transport_id=transport_id,
                listens=None if own is None else native_listens(own),
                ice_consent_timeout=float(ice_consent_timeout),
                webrtc_server_id=None if server is None else server.id,
                sctp=None
                if sctp is None
                else (sctp["OS"], sctp["MIS"], sctp["maxMessageSize"], sctp["sendBufferSize"]),
            )
        )
        if server is not None:
            listening = [
                entry for entry in server.listening if entry["protocol"] in server_protocols
            ]
        else:
            listening = announce(data["listening"], own or [])
        transport = cls(
            router,
            transport_id,
            data["iceParameters"],
            listening,
            prefer_tcp,
            server,
            app_data,
        )
        transport._enable_sctp(sctp)
        worker._register_transport(transport)
        if server is not None:
            server._add_transport(transport)
        return transport

    @property
    def ice_role(self) -> Literal["controlled"]:
        """Always ``controlled``: the SFU is ICE-lite."""
        return "controlled"

    @property
    def ice_parameters(self) -> IceParameters:
        """Credentials to send to the client."""
        return dict(self._ice_parameters)  # type: ignore[return-value]

    @property
    def ice_candidates(self) -> list[IceCandidate]:
        """Host candidates to send to the client."""
        return [dict(candidate) for candidate in self._ice_candidates]  # type: ignore[misc]

    @property
    def ice_state(self) -> str:
        """``new``, ``connected``, ``completed``, ``disconnected`` or ``closed``."""
        return self._ice_state

    @property
    def ice_selected_tuple(self) -> TransportTuple | None:
        """Where media goes, once ICE selected a tuple."""
        return self._ice_selected_tuple

    @property
    def dtls_parameters(self) -> DtlsParameters:
        """Role ``auto`` and the worker certificate's fingerprints, to send to the client."""
        return {
            "role": "auto",
            "fingerprints": [
                {"algorithm": f["algorithm"], "value": f["value"]}
                for f in self._worker.dtls_fingerprints
            ],
        }

    @property
    def dtls_state(self) -> str:
        """``new``, ``connecting``, ``connected``, ``failed`` or ``closed``."""
        return self._dtls_state

    @property
    def dtls_remote_cert(self) -> str | None:
        """The client's certificate (PEM), once DTLS is connected."""
        return self._dtls_remote_cert

    def __repr__(self) -> str:
        return f"<WebRtcTransport id={self._id} ice={self._ice_state} dtls={self._dtls_state}>"

    async def connect(self, *, dtls_parameters: DtlsParameters) -> None:
        """The client's DTLS role and certificate fingerprint (mediasoup's ``connect``)."""
        self._check_open()
        role, fingerprint = _dtls_parameters(dtls_parameters)
        if self._connected:
            raise errors.InvalidStateError("connect() already called")
        native = self._worker._native
        await self._worker._request(
            lambda request_id: native.connect_webrtc_transport(
                request_id,
                transport_id=self._id,
                role=role,
                algorithm=fingerprint["algorithm"],
                fingerprint=fingerprint["value"],
            )
        )
        self._connected = True

    async def restart_ice(self) -> IceParameters:
        """New ICE credentials; the old ones work until the client uses the new ones."""
        self._check_open()
        native = self._worker._native
        data = await self._worker._request(
            lambda request_id: native.restart_ice(request_id, self._id)
        )
        self._ice_parameters = data["iceParameters"]
        return self.ice_parameters

    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup-style transport statistics (one ``webrtc-transport`` entry)."""
        stats, entry = await self._native_stats("webrtc-transport")
        entry |= {
            "iceRole": "controlled",
            "iceState": stats["iceState"],
            "iceSelectedTuple": stats["iceSelectedTuple"],
            "dtlsState": stats["dtlsState"],
        }
        if self._sctp_state is not None:
            entry["sctpState"] = self._sctp_state
        return [entry]

    def _on_listen_server_closed(self) -> None:
        """Its WebRtcServer closed: the worker closes the transport with it."""
        if self._closed:
            return
        self._webrtc_server = None
        self._mark_closed()
        self._router._forget_transport(self._id)
        self.emit("listenserverclose")
        self.observer.emit("close")

    def _mark_closed(self) -> None:
        super()._mark_closed()
        if self._webrtc_server is not None:
            self._webrtc_server._remove_transport(self)
        self._ice_state = "closed"
        self._ice_selected_tuple = None
        if self._dtls_state not in ("failed", "closed"):
            self._dtls_state = "closed"

    def _on_worker_event(self, event: _core.TransportEvent) -> None:
        if event["event"] == "icestatechange":
            self._ice_state = event["data"]
        elif event["event"] == "iceselectedtuplechange":
            self._ice_selected_tuple = _tuple(event["data"])
        elif event["event"] == "dtlsstatechange":
            self._dtls_state = event["data"]
            if event["data"] == "connected":
                self._dtls_remote_cert = event.get("dtlsRemoteCert")
        super()._on_worker_event(event)
