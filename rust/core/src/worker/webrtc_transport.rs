//! A WebRTC transport as the worker holds it: its secure connection, its counters, and
//! either its own sockets or a reference to the WebRtcServer whose sockets it shares.

use std::net::SocketAddr;
use std::time::Instant;

use mio::Registry;

use super::forward_queue::{ForwardQueue, PacketKind};
use super::messages::{Response, TransportEvent, TransportRequest, TransportStats};
use super::socket_set::{Delivery, SocketEvent, SocketSet, SocketSink};
use super::transport::{not_for_this_kind, Transport, TransportIo};
use crate::dtls::DtlsState;
use crate::ice::{IceParameters, TransportProtocol};
use crate::rtc::request_error::RequestError;
use crate::rtc::webrtc_connection::{
    Received, RemoteDtlsParameters, WebRtcConnection, WebRtcConnectionEvent,
};
use crate::sctp::{SctpAssociation, SctpConfig};

/// TCP connections a transport with its own sockets accepts at once (ICE needs one or two).
pub const MAX_TCP_CONNECTIONS: usize = 16;

/// Where a transport's packets come in and go out.
#[derive(Debug)]
pub enum TransportSockets {
    /// Its own UDP socket and/or TCP listener.
    Own(SocketSet),
    /// The sockets of the WebRtcServer in this worker slot.
    Server(usize),
}

/// One WebRtcTransport: its sockets apart from its state, so the state can handle packets
/// while the sockets are being read.
#[derive(Debug)]
pub struct WorkerWebRtcTransport {
    id: String,
    sockets: TransportSockets,
    state: WebRtcTransportState,
}

impl WorkerWebRtcTransport {
    /// A transport on `sockets`.
    pub fn new(id: String, sockets: TransportSockets, connection: WebRtcConnection) -> Self {
        WorkerWebRtcTransport {
            id,
            sockets,
            state: WebRtcTransportState {
                connection,
                stats: TransportStats::default(),
            },
        }
    }

    /// Runs `action` on its state with a sink over its sockets (its own or its server's)
    /// whose datagrams go out at once, then sends them.
    fn with_sink<R>(
        &mut self,
        io: &mut TransportIo<'_>,
        action: impl FnOnce(&mut WebRtcTransportState, &mut SocketSink<'_>) -> R,
    ) -> Option<R> {
        let sockets = match &mut self.sockets {
            TransportSockets::Own(own) => own,
            TransportSockets::Server(server) => &mut io.servers.get_mut(*server)?.as_mut()?.sockets,
        };
        let mut sink = sockets.sink(io.send);
        let result = action(&mut self.state, &mut sink);
        sink.flush();
        Some(result)
    }
}

impl Transport for WorkerWebRtcTransport {
    fn id(&self) -> &str {
        &self.id
    }

    fn locals(&self) -> Vec<(TransportProtocol, SocketAddr)> {
        match &self.sockets {
            TransportSockets::Own(sockets) => sockets.locals(),
            TransportSockets::Server(_) => Vec::new(),
        }
    }

    fn register(&mut self, registry: &Registry, token_base: usize) -> std::io::Result<()> {
        match &mut self.sockets {
            TransportSockets::Own(sockets) => sockets.register(registry, token_base),
            TransportSockets::Server(_) => Ok(()),
        }
    }

    fn deregister(&mut self, registry: &Registry) {
        if let TransportSockets::Own(sockets) = &mut self.sockets {
            sockets.deregister(registry);
        }
    }

    fn read(&mut self, index: usize, writable: bool, io: &mut TransportIo<'_>) -> bool {
        let TransportSockets::Own(sockets) = &mut self.sockets else {
            return false;
        };
        let (slot, now) = (io.slot, io.now);
        let state = &mut self.state;
        let forward = &mut *io.forward;
        sockets.on_ready(
            index,
            writable,
            io.registry,
            slot * super::transport::TOKENS_PER_SLOT,
            io.receive,
            io.send,
            now,
            |event, packet, sink| {
                let received = state.handle(event, packet, now, sink);
                queue_media(forward, slot, received, packet);
                if matches!(event, SocketEvent::Packet(tuple)
                    if state.connection.ice().is_valid_tuple(&tuple))
                {
                    Delivery::Validated
                } else {
                    Delivery::Unvalidated
                }
            },
        )
    }

    fn send_rtp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>) {
        let sockets = match &mut self.sockets {
            TransportSockets::Own(own) => own,
            TransportSockets::Server(server) => match io.servers.get_mut(*server) {
                Some(Some(server)) => &mut server.sockets,
                _ => return,
            },
        };
        let mut sink = sockets.deferred_sink(io.egress);
        self.state.send_rtp(buffer, len, io.now, &mut sink);
    }

    fn send_rtcp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>) {
        let now = io.now;
        self.with_sink(io, |state, sink| state.send_rtcp(buffer, len, now, sink));
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.state.connection.poll_timeout()
    }

    fn on_timeout(&mut self, io: &mut TransportIo<'_>) {
        let now = io.now;
        self.with_sink(io, |state, sink| state.on_timer(now, sink));
    }

    fn handle_request(
        &mut self,
        request: TransportRequest,
        io: &mut TransportIo<'_>,
    ) -> Result<Response, RequestError> {
        match request {
            TransportRequest::ConnectWebRtc { remote } => {
                let now = io.now;
                self.with_sink(io, |state, sink| state.connect(remote, now, sink))
                    .unwrap_or_else(|| Err("its WebRtcServer is closed".to_owned()))
                    .map_err(RequestError::InvalidState)?;
                Ok(Response::Done)
            }
            TransportRequest::RestartIce => {
                let parameters = IceParameters::generate()
                    .map_err(|error| RequestError::Resource(error.to_string()))?;
                self.state
                    .connection
                    .restart_ice(parameters.clone(), io.now);
                if let TransportSockets::Server(server) = self.sockets {
                    if let Some(Some(server)) = io.servers.get_mut(server) {
                        server
                            .routes
                            .add_ufrag(parameters.username_fragment.clone(), io.slot);
                    }
                }
                Ok(Response::IceRestarted(parameters))
            }
            other => Err(not_for_this_kind(&other, "WebRtcTransport")),
        }
    }

    fn count_malformed_rtcp(&mut self) {
        self.state.count_malformed_rtcp();
    }

    fn stats(&self) -> TransportStats {
        self.state.stats()
    }

    fn collect_events(&mut self, events: &mut Vec<TransportEvent>) {
        self.state.collect_events(events);
    }

    fn close(&mut self, io: &mut TransportIo<'_>) {
        let now = io.now;
        self.with_sink(io, |state, sink| state.close(now, sink));
    }

    fn webrtc_server(&self) -> Option<usize> {
        match self.sockets {
            TransportSockets::Server(server) => Some(server),
            TransportSockets::Own(_) => None,
        }
    }

    fn webrtc_state(&mut self) -> Option<&mut WebRtcTransportState> {
        Some(&mut self.state)
    }

    fn sctp_config(&self) -> Option<SctpConfig> {
        self.state.connection.sctp().map(|sctp| *sctp.config())
    }

    fn with_sctp(
        &mut self,
        io: &mut TransportIo<'_>,
        operation: &mut dyn FnMut(&mut SctpAssociation),
    ) -> Option<()> {
        let now = io.now;
        self.with_sink(io, |state, sink| {
            let done = state
                .connection
                .with_sctp_association(now, sink, |sctp| operation(sctp));
            state.charge(sink, now);
            done
        })
        .flatten()
    }
}

/// Queues what a transport decrypted for the routing phase.
pub fn queue_media(forward: &mut ForwardQueue, slot: usize, received: Received, packet: &[u8]) {
    match received {
        Received::Rtp(len) => forward.push(slot, PacketKind::Rtp, &packet[..len]),
        Received::Rtcp(len) => forward.push(slot, PacketKind::Rtcp, &packet[..len]),
        Received::Nothing => {}
    }
}

/// A WebRtcTransport's connection and counters.
#[derive(Debug)]
pub struct WebRtcTransportState {
    /// ICE, DTLS and SRTP.
    pub connection: WebRtcConnection,
    stats: TransportStats,
}

impl WebRtcTransportState {
    /// Handles what arrived on one of its tuples (or that a TCP tuple closed).
    pub fn handle(
        &mut self,
        event: SocketEvent,
        packet: &mut [u8],
        now: Instant,
        sink: &mut SocketSink<'_>,
    ) -> Received {
        let received = match event {
            SocketEvent::Packet(tuple) => {
                self.stats.count_received(packet.len(), now);
                let received = self.connection.handle_datagram(tuple, packet, now, sink);
                match received {
                    Received::Rtp(_) => self.stats.rtp_packets_received += 1,
                    Received::Rtcp(_) => self.stats.rtcp_packets_received += 1,
                    Received::Nothing => {}
                }
                received
            }
            SocketEvent::Closed(tuple) => {
                self.connection.remove_tuple(&tuple);
                Received::Nothing
            }
        };
        self.charge(sink, now);
        received
    }

    /// The client's `connect({dtlsParameters})`; DTLS may start at once.
    pub fn connect(
        &mut self,
        remote: RemoteDtlsParameters,
        now: Instant,
        sink: &mut SocketSink<'_>,
    ) -> Result<(), String> {
        let connected = self.connection.connect(remote, now, sink);
        self.charge(sink, now);
        connected.map_err(|error| error.to_string())
    }

    /// Runs the connection's timers.
    pub fn on_timer(&mut self, now: Instant, sink: &mut SocketSink<'_>) {
        self.connection.handle_timeout(now, sink);
        self.charge(sink, now);
    }

    /// Protects and sends RTP (`buffer[..len]`, with room for the tag) to the endpoint.
    pub fn send_rtp(
        &mut self,
        buffer: &mut [u8],
        len: usize,
        now: Instant,
        sink: &mut SocketSink<'_>,
    ) -> bool {
        let sent = self.connection.send_rtp(buffer, len, sink).is_ok();
        self.charge(sink, now);
        sent
    }

    /// Protects and sends RTCP to the endpoint.
    pub fn send_rtcp(
        &mut self,
        buffer: &mut [u8],
        len: usize,
        now: Instant,
        sink: &mut SocketSink<'_>,
    ) -> bool {
        let sent = self.connection.send_rtcp(buffer, len, sink).is_ok();
        self.charge(sink, now);
        sent
    }

    /// Sends DTLS close_notify.
    pub fn close(&mut self, now: Instant, sink: &mut SocketSink<'_>) {
        self.connection.close(sink);
        self.charge(sink, now);
    }

    fn charge(&mut self, sink: &mut SocketSink<'_>, now: Instant) {
        let (datagrams, bytes) = sink.take_counts();
        self.stats.count_sent(datagrams, bytes, now);
    }

    /// Counts an RTCP compound that did not parse whole.
    pub fn count_malformed_rtcp(&mut self) {
        self.stats.rtcp_packets_malformed += 1;
    }

    /// Counters and states now.
    pub fn stats(&self) -> TransportStats {
        TransportStats {
            drops: self.connection.drops(),
            ice_state: Some(self.connection.ice().state()),
            ice_selected_tuple: self.connection.ice().selected_tuple(),
            dtls_state: Some(self.connection.dtls_state()),
            sctp: self
                .connection
                .sctp()
                .map(|sctp| (sctp.drops(), sctp.refused())),
            ..self.stats.clone()
        }
    }

    /// State changes since the last call.
    pub fn collect_events(&mut self, events: &mut Vec<TransportEvent>) {
        while let Some(event) = self.connection.poll_event() {
            events.push(match event {
                WebRtcConnectionEvent::IceStateChanged(state) => {
                    TransportEvent::IceStateChanged(state)
                }
                WebRtcConnectionEvent::IceSelectedTupleChanged(tuple) => {
                    TransportEvent::IceSelectedTupleChanged(tuple)
                }
                WebRtcConnectionEvent::DtlsStateChanged(state) => {
                    TransportEvent::DtlsStateChanged {
                        state,
                        remote_certificate_der: self
                            .connection
                            .remote_certificate()
                            .filter(|_| state == DtlsState::Connected)
                            .map(<[u8]>::to_vec),
                        failure_reason: self
                            .connection
                            .dtls_failure()
                            .filter(|_| state == DtlsState::Failed)
                            .map(str::to_owned),
                    }
                }
            });
        }
    }
}
