"""Pipe transports: plain RTP between two routers (on other workers or other hosts), the
link ``pipe_to_router`` builds. Each end is told the other's address with ``connect``;
with ``enable_srtp`` the link is SRTP with AEAD_AES_256_GCM, keys exchanged like a
PlainTransport's. With ``enable_sctp`` it also carries data producers' messages over SCTP
on the same tuple, in clear even with SRTP (as mediasoup's pipe transports send them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.plain_transport import PlainTransport, SrtpParameters

if TYPE_CHECKING:
    from mediasoup_py.router import Router
    from mediasoup_py.transport import SctpOptions

__all__ = ["PIPE_SCTP_MAX_SIZE", "PIPE_SRTP_CRYPTO_SUITE", "PipeTransport"]

# mediasoup's pipe transports use the strongest suite; both ends are mediasoup.
PIPE_SRTP_CRYPTO_SUITE = "AEAD_AES_256_GCM"
# mediasoup's default maxSctpMessageSize and sctpSendBufferSize of a pipe transport: a pipe
# relays whatever its routers' endpoints may send.
PIPE_SCTP_MAX_SIZE = 268_435_456


class PipeTransport(PlainTransport):
    """One end of a router-to-router link. Events: ``tuple``, ``sctpstatechange``,
    ``routerclose``."""

    _is_pipe = True

    @classmethod
    async def create_pipe(
        cls,
        router: Router,
        listen_ip: str,
        port: tuple[int, int],
        *,
        enable_srtp: bool,
        sctp: SctpOptions | None,
        app_data: dict[str, Any],
    ) -> PipeTransport:
        """Asks the router's worker for a transport; use ``Router.create_pipe_transport``."""
        return await cls.create(
            router,
            listen_ip,
            port,
            rtcp_mux=True,
            comedia=False,
            enable_srtp=enable_srtp,
            srtp_crypto_suite=PIPE_SRTP_CRYPTO_SUITE,
            sctp=sctp,
            app_data=app_data,
        )

    def __repr__(self) -> str:
        return f"<PipeTransport id={self._id} port={self._local_port}>"

    async def connect(  # type: ignore[override]
        self, *, ip: str, port: int, srtp_parameters: SrtpParameters | None = None
    ) -> None:
        """The other end's address and, with SRTP, its key (its ``srtp_parameters``)."""
        if ip is None or port is None:
            raise errors.MediasoupTypeError("ip: a pipe transport needs ip and port", "ip")
        await super().connect(ip=ip, port=port, srtp_parameters=srtp_parameters)

    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup-style statistics (one ``pipe-transport`` entry)."""
        stats, entry = await self._native_stats("pipe-transport")
        entry["tuple"] = stats["tuple"] or self.tuple
        if self._sctp_state is not None:
            entry["sctpState"] = self._sctp_state
        return [entry]
