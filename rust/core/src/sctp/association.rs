//! One SCTP association carrying WebRTC data channels (RFC 8831), sans-IO: fed the SCTP
//! packets that arrive (out of DTLS application data, or straight from UDP on plain and pipe
//! transports) and the time, it returns the SCTP packets to send, the next time it wants to
//! be woken, and events (state, messages, channels opened and closed by the peer, buffers
//! drained). The protocol itself is sctp-proto's; this type is the SFU's view of it:
//! streams by id with their delivery rules, mediasoup's limits (message size, send buffer),
//! DCEP answered, and every refused input counted.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sctp_proto::{
    Association, AssociationError, AssociationHandle, ClientConfig, DatagramEvent, Endpoint,
    EndpointConfig, Event, Payload, ServerConfig, StreamEvent, TransportConfig,
};

use super::dcep::{self, DcepMessage, DcepOpen};
use super::ppid::Ppid;
use super::reliability::StreamReliability;

/// sctp-proto addresses associations by socket address; ours is always the one peer of the
/// transport, so any fixed address does.
const PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 5000);
/// The SCTP chunk type of INIT (RFC 9260 §3.3.2), to tell refused INITs from garbage.
const CHUNK_TYPE_INIT: u8 = 1;
/// Offset of the first chunk's type: after the 12-byte common header.
const FIRST_CHUNK_TYPE_OFFSET: usize = 12;
/// Initial retransmission timeout: RFC 9260's 3 s is for unknown paths; a WebRTC path has
/// just completed ICE and DTLS round trips, and channels must open promptly.
const RTO_INITIAL_MS: u64 = 1000;
/// Floor of the retransmission timeout (RFC 9260 says 1 s; WebRTC stacks go lower, so a lost
/// message on a LAN is repaired in a fraction of a second).
const RTO_MIN_MS: u64 = 200;

/// mediasoup's SCTP options of a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpConfig {
    /// Outgoing streams we offer (`numSctpStreams.OS`).
    pub os: u16,
    /// Incoming streams we accept (`numSctpStreams.MIS`).
    pub mis: u16,
    /// Largest message sent or received (`maxSctpMessageSize`).
    pub max_message_size: u32,
    /// Bytes queued across streams before sends are refused (`sctpSendBufferSize`).
    pub send_buffer_size: u32,
    /// Largest SCTP packet: under DTLS, what fits one DTLS record below the path MTU.
    pub max_packet_size: u32,
}

impl Default for SctpConfig {
    /// mediasoup's defaults: 1024 streams each way, 262144-byte messages and send buffer.
    fn default() -> Self {
        SctpConfig {
            os: 1024,
            mis: 1024,
            max_message_size: 262_144,
            send_buffer_size: 262_144,
            max_packet_size: 1120,
        }
    }
}

/// Which side starts the four-way handshake. WebRTC has both send INIT (RFC 8841 §6);
/// sctp-proto resolves the collision from the side that connects, so the DTLS client
/// connects (as aiortc and str0m do) and the DTLS server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SctpRole {
    /// Sends the INIT.
    Client,
    /// Answers it.
    Server,
}

/// mediasoup's `sctpState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SctpState {
    /// The transport under it is not up yet.
    New,
    /// Handshaking.
    Connecting,
    /// Established: messages flow.
    Connected,
    /// The handshake failed or the peer stopped answering.
    Failed,
    /// Closed by either side.
    Closed,
}

impl SctpState {
    /// mediasoup's name: "new", "connecting", "connected", "failed", "closed".
    pub fn as_str(self) -> &'static str {
        match self {
            SctpState::New => "new",
            SctpState::Connecting => "connecting",
            SctpState::Connected => "connected",
            SctpState::Failed => "failed",
            SctpState::Closed => "closed",
        }
    }
}

/// What the owner learns from the association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SctpEvent {
    /// `sctpState` changed.
    StateChange(SctpState),
    /// A whole message arrived (empty-message PPIDs give an empty payload).
    Message {
        /// The stream it came on.
        stream_id: u16,
        /// What it is.
        ppid: Ppid,
        /// Its bytes.
        payload: Bytes,
    },
    /// The peer opened a channel in-band (DCEP OPEN); it was acknowledged.
    ChannelOpened {
        /// The channel's stream.
        stream_id: u16,
        /// Its label, protocol and delivery rules.
        open: DcepOpen,
    },
    /// The peer reset the stream: its channel is closed.
    StreamClosed {
        /// The stream.
        stream_id: u16,
    },
    /// A message that arrived whole on the stream was dropped (and counted in
    /// [`SctpDropCounters`]): its owner may count it against the stream's data producer.
    MessageDropped {
        /// The stream it came on.
        stream_id: u16,
        /// Why.
        reason: SctpMessageDrop,
    },
    /// The stream's queued bytes fell to its threshold.
    BufferedAmountLow {
        /// The stream.
        stream_id: u16,
        /// Bytes still queued on it.
        buffered_amount: usize,
    },
}

/// Why a message that arrived was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SctpMessageDrop {
    /// Larger than `maxSctpMessageSize`.
    TooLarge,
    /// A PPID WebRTC does not define.
    UnknownPpid,
}

/// Why a message was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SctpSendError {
    /// The association is not established.
    #[error("SCTP association is {}", .0.as_str())]
    NotConnected(SctpState),
    /// Larger than `maxSctpMessageSize`.
    #[error("message of {len} bytes exceeds maxSctpMessageSize ({max})")]
    TooLarge {
        /// The message's length.
        len: usize,
        /// The limit.
        max: u32,
    },
    /// The send buffer is full (mediasoup's `sctpsendbufferfull`).
    #[error("SCTP send buffer full ({buffered} bytes queued, sctpSendBufferSize {limit})")]
    SendBufferFull {
        /// Bytes queued across streams.
        buffered: usize,
        /// The limit.
        limit: u32,
    },
    /// No stream with this id was opened for sending.
    #[error("SCTP stream {0} is not open")]
    StreamNotOpen(u16),
    /// sctp-proto refused the write (the stream is being reset).
    #[error("SCTP stream {stream_id} refused the message: {reason}")]
    Refused {
        /// The stream.
        stream_id: u16,
        /// sctp-proto's reason.
        reason: String,
    },
}

/// Why a stream could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SctpStreamError {
    /// Beyond the streams the association offers.
    #[error("SCTP stream id {stream_id} is out of range (OS is {os})")]
    OutOfRange {
        /// The id asked for.
        stream_id: u16,
        /// Outgoing streams offered.
        os: u16,
    },
    /// Already open.
    #[error("SCTP stream id {0} is already in use")]
    InUse(u16),
}

/// Inputs dropped, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SctpDropCounters {
    /// Packets before the transport under the association was up, or after it closed.
    pub not_connected: u64,
    /// Packets sctp-proto refused: bad checksum, malformed header, unknown association.
    pub malformed: u64,
    /// INITs beyond the one association a transport carries: the peer's own INIT when both
    /// ends initiate (RFC 8841 §9.3; the association forms from ours), or an INIT flood.
    pub extra_init: u64,
    /// Messages on stream ids at or beyond the incoming streams we accept.
    pub stream_out_of_range: u64,
    /// DCEP messages that do not parse (the stream is reset).
    pub invalid_dcep: u64,
    /// Messages with a PPID WebRTC does not define.
    pub unknown_ppid: u64,
    /// Messages larger than `maxSctpMessageSize` (dropped, the association kept, as
    /// mediasoup does).
    pub too_large: u64,
}

/// Messages [`SctpAssociation::send`] refused, by reason: what the SFU could not forward
/// on this association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SctpRefusedCounters {
    /// The send buffer was full (`sctpSendBufferSize`).
    pub send_buffer_full: u64,
    /// Larger than `maxSctpMessageSize`.
    pub too_large: u64,
    /// The association was not established.
    pub not_connected: u64,
    /// The stream was not open, or closed (reset) by the peer.
    pub stream_closed: u64,
}

/// A stream we send on.
#[derive(Debug, Clone, Copy)]
struct OutgoingStream {
    reliability: StreamReliability,
    /// Whether sctp-proto's stream exists (streams open once the association is up).
    created: bool,
    buffered_amount_low_threshold: usize,
}

/// One SCTP association and its streams.
#[derive(Debug)]
pub struct SctpAssociation {
    config: SctpConfig,
    endpoint: Endpoint,
    association: Option<(AssociationHandle, Association)>,
    state: SctpState,
    outgoing: BTreeMap<u16, OutgoingStream>,
    events: VecDeque<SctpEvent>,
    transmits: VecDeque<Bytes>,
    drops: SctpDropCounters,
    refused: SctpRefusedCounters,
}

impl SctpAssociation {
    /// An association waiting for its transport (state `new`).
    pub fn new(config: SctpConfig) -> Self {
        let mut endpoint_config = EndpointConfig::new();
        endpoint_config.max_payload_size(config.max_packet_size);
        let mut server_config = ServerConfig::new();
        server_config.transport = Arc::new(transport_config(&config));
        SctpAssociation {
            config,
            endpoint: Endpoint::new(Arc::new(endpoint_config), Some(Arc::new(server_config))),
            association: None,
            state: SctpState::New,
            outgoing: BTreeMap::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            drops: SctpDropCounters::default(),
            refused: SctpRefusedCounters::default(),
        }
    }

    /// The options it was made with.
    pub fn config(&self) -> &SctpConfig {
        &self.config
    }

    /// mediasoup's `sctpState`.
    pub fn state(&self) -> SctpState {
        self.state
    }

    /// Inputs dropped so far.
    pub fn drops(&self) -> SctpDropCounters {
        self.drops
    }

    /// Messages [`Self::send`] refused so far.
    pub fn refused(&self) -> SctpRefusedCounters {
        self.refused
    }

    /// The transport under the association is up (DTLS connected, or a plain/pipe tuple
    /// known): a client sends its INIT, a server starts accepting one.
    pub fn start(&mut self, role: SctpRole) {
        if self.state != SctpState::New {
            return;
        }
        self.set_state(SctpState::Connecting);
        if role == SctpRole::Server {
            return;
        }
        let mut client = ClientConfig::new();
        client.transport = Arc::new(transport_config(&self.config));
        match self.endpoint.connect(client, PEER) {
            Ok(association) => {
                // One association per transport: every later INIT is refused.
                self.endpoint.reject_new_associations();
                self.association = Some(association);
                self.drive();
            }
            Err(_) => self.fail(SctpState::Failed),
        }
    }

    /// Handles one SCTP packet from the peer.
    pub fn handle_packet(&mut self, packet: &[u8], now: Instant) {
        if !matches!(self.state, SctpState::Connecting | SctpState::Connected) {
            self.drops.not_connected += 1;
            return;
        }
        let handled = self
            .endpoint
            .handle(now, PEER, None, None, Bytes::copy_from_slice(packet));
        match handled {
            None if packet.get(FIRST_CHUNK_TYPE_OFFSET) == Some(&CHUNK_TYPE_INIT)
                && self.association.is_some() =>
            {
                self.drops.extra_init += 1;
            }
            None => self.drops.malformed += 1,
            Some((handle, DatagramEvent::NewAssociation(association))) => {
                // Only reachable while we have none: rejection starts with the first.
                self.endpoint.reject_new_associations();
                self.association = Some((handle, association));
            }
            Some((_, DatagramEvent::AssociationEvent(event))) => match self.association.as_mut() {
                Some((_, association)) => association.handle_event(event),
                None => self.drops.malformed += 1,
            },
        }
        self.drive();
    }

    /// Runs retransmission, delayed-acknowledgement and shutdown timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some((_, association)) = self.association.as_mut() {
            association.handle_timeout(now);
            self.drive();
        }
    }

    /// When [`Self::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.association
            .as_ref()
            .and_then(|(_, association)| association.poll_timeout())
    }

    /// The next SCTP packet to send to the peer. Packets are built here, not at each
    /// `send`: messages queued together leave together (bundled where they fit), and
    /// sctp-proto's per-packet scan of what is in flight runs once per batch.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        if self.transmits.is_empty() {
            if let Some((_, association)) = self.association.as_mut() {
                while let Some(transmit) = association.poll_transmit(now) {
                    if let Payload::RawEncode(packets) = transmit.payload {
                        self.transmits.extend(packets);
                    }
                }
            }
            while let Some(transmit) = self.endpoint.poll_transmit() {
                if let Payload::RawEncode(packets) = transmit.payload {
                    self.transmits.extend(packets);
                }
            }
        }
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        self.events.pop_front()
    }

    /// Opens stream `stream_id` for sending with `reliability` (a DataConsumer's stream, or
    /// the reverse direction of a DataProducer's). Before the association is up it opens
    /// when it is.
    pub fn open_stream(
        &mut self,
        stream_id: u16,
        reliability: StreamReliability,
    ) -> Result<(), SctpStreamError> {
        if stream_id >= self.config.os {
            return Err(SctpStreamError::OutOfRange {
                stream_id,
                os: self.config.os,
            });
        }
        if self.outgoing.contains_key(&stream_id) {
            return Err(SctpStreamError::InUse(stream_id));
        }
        self.outgoing.insert(
            stream_id,
            OutgoingStream {
                reliability,
                created: false,
                buffered_amount_low_threshold: 0,
            },
        );
        self.create_outgoing_streams();
        self.drive();
        Ok(())
    }

    /// Closes stream `stream_id` (RFC 8831 §6.7: an outgoing stream reset, which the peer
    /// answers by resetting its own). Queued messages on it are dropped.
    pub fn close_stream(&mut self, stream_id: u16) {
        let was_ours = self.outgoing.remove(&stream_id).is_some();
        if let Some((_, association)) = self.association.as_mut() {
            if let Ok(mut stream) = association.stream(stream_id) {
                let _ = stream.close();
            }
        }
        if was_ours {
            self.drive();
        }
    }

    /// Queues one message on stream `stream_id`. An empty message is sent as the one dummy
    /// byte RFC 8831 §6.6 prescribes, with the empty form of its PPID.
    pub fn send(
        &mut self,
        stream_id: u16,
        ppid: Ppid,
        payload: &Bytes,
    ) -> Result<(), SctpSendError> {
        let sent = self.queue_message(stream_id, ppid, payload);
        if let Err(error) = &sent {
            let counter = match error {
                SctpSendError::SendBufferFull { .. } => &mut self.refused.send_buffer_full,
                SctpSendError::TooLarge { .. } => &mut self.refused.too_large,
                SctpSendError::NotConnected(_) => &mut self.refused.not_connected,
                SctpSendError::StreamNotOpen(_) | SctpSendError::Refused { .. } => {
                    &mut self.refused.stream_closed
                }
            };
            *counter += 1;
        }
        sent
    }

    fn queue_message(
        &mut self,
        stream_id: u16,
        ppid: Ppid,
        payload: &Bytes,
    ) -> Result<(), SctpSendError> {
        if self.state != SctpState::Connected {
            return Err(SctpSendError::NotConnected(self.state));
        }
        if payload.len() > self.config.max_message_size as usize {
            return Err(SctpSendError::TooLarge {
                len: payload.len(),
                max: self.config.max_message_size,
            });
        }
        if !self.outgoing.contains_key(&stream_id) {
            return Err(SctpSendError::StreamNotOpen(stream_id));
        }
        let buffered = self.total_buffered_amount();
        if buffered + payload.len() > self.config.send_buffer_size as usize {
            return Err(SctpSendError::SendBufferFull {
                buffered,
                limit: self.config.send_buffer_size,
            });
        }
        let (ppid, payload) = wire_form(ppid, payload);
        let Some((_, association)) = self.association.as_mut() else {
            return Err(SctpSendError::NotConnected(self.state));
        };
        let refused = |reason: sctp_proto::Error| SctpSendError::Refused {
            stream_id,
            reason: reason.to_string(),
        };
        association
            .stream(stream_id)
            .map_err(refused)?
            .write_sctp(&payload, ppid.to_proto())
            .map_err(refused)?;
        Ok(())
    }

    /// Bytes queued on stream `stream_id` (sent and not yet acknowledged, or not yet sent).
    pub fn buffered_amount(&mut self, stream_id: u16) -> usize {
        self.association
            .as_mut()
            .and_then(|(_, association)| association.stream(stream_id).ok())
            .and_then(|stream| stream.buffered_amount().ok())
            .unwrap_or(0)
    }

    /// Sets the level at or under which stream `stream_id` reports `BufferedAmountLow`.
    pub fn set_buffered_amount_low_threshold(&mut self, stream_id: u16, threshold: usize) {
        if let Some(stream) = self.outgoing.get_mut(&stream_id) {
            stream.buffered_amount_low_threshold = threshold;
        }
        if let Some((_, association)) = self.association.as_mut() {
            if let Ok(mut stream) = association.stream(stream_id) {
                let _ = stream.set_buffered_amount_low_threshold(threshold);
            }
        }
    }

    /// Ends the association at once (the transport is closing): nothing is kept, no timer
    /// remains, and nothing more is sent.
    pub fn close(&mut self) {
        if let Some((_, mut association)) = self.association.take() {
            let _ = association.close();
        }
        self.outgoing.clear();
        self.transmits.clear();
        if !matches!(self.state, SctpState::Closed | SctpState::Failed) {
            self.set_state(SctpState::Closed);
        }
    }

    /// Whether the association holds nothing: no protocol state, stream, queued packet or
    /// timer (what a closed transport must leave behind).
    pub fn is_released(&self) -> bool {
        self.association.is_none()
            && self.outgoing.is_empty()
            && self.transmits.is_empty()
            && self.poll_timeout().is_none()
    }

    fn total_buffered_amount(&mut self) -> usize {
        let Some((_, association)) = self.association.as_mut() else {
            return 0;
        };
        self.outgoing
            .keys()
            .filter_map(|&id| association.stream(id).ok()?.buffered_amount().ok())
            .sum()
    }

    fn create_outgoing_streams(&mut self) {
        if self.state != SctpState::Connected {
            return;
        }
        let Some((_, association)) = self.association.as_mut() else {
            return;
        };
        for (&id, entry) in self.outgoing.iter_mut().filter(|(_, e)| !e.created) {
            // The peer may have sent on it first (it is then already open in sctp-proto).
            let stream = match association.stream(id) {
                Ok(stream) => Ok(stream),
                Err(_) => association.open_stream(id, Ppid::Binary.to_proto()),
            };
            if let Ok(mut stream) = stream {
                let (unordered, kind, value) = entry.reliability.to_proto();
                let _ = stream.set_reliability_params(unordered, kind, value);
                let _ =
                    stream.set_buffered_amount_low_threshold(entry.buffered_amount_low_threshold);
                entry.created = true;
            }
        }
    }

    /// Moves what the association has to say into our queues: endpoint bookkeeping and
    /// events (reading every complete message). Packets are gathered by `poll_transmit`.
    fn drive(&mut self) {
        let Some((handle, association)) = self.association.as_mut() else {
            return;
        };
        while let Some(endpoint_event) = association.poll_endpoint_event() {
            if let Some(event) = self.endpoint.handle_event(*handle, endpoint_event) {
                association.handle_event(event);
            }
        }
        let mut lost = None;
        let mut connected = false;
        let mut readable = Vec::new();
        while let Some(event) = association.poll() {
            match event {
                Event::Connected => connected = true,
                Event::HandshakeFailed { .. } => lost = Some(SctpState::Failed),
                Event::AssociationLost { reason } => lost = Some(state_after_loss(&reason)),
                Event::Stream(StreamEvent::Opened { id } | StreamEvent::Readable { id }) => {
                    readable.push(id);
                }
                Event::Stream(StreamEvent::Finished { id }) => {
                    self.outgoing.remove(&id);
                    self.events
                        .push_back(SctpEvent::StreamClosed { stream_id: id });
                }
                Event::Stream(StreamEvent::BufferedAmountLow { id }) => {
                    let buffered_amount = association
                        .stream(id)
                        .ok()
                        .and_then(|s| s.buffered_amount().ok())
                        .unwrap_or(0);
                    self.events.push_back(SctpEvent::BufferedAmountLow {
                        stream_id: id,
                        buffered_amount,
                    });
                }
                _ => {}
            }
        }
        // Streams the peer opened are read by id below; the accept queue only grows.
        while association.accept_stream().is_some() {}
        if connected && self.state == SctpState::Connecting {
            self.set_state(SctpState::Connected);
            self.create_outgoing_streams();
        }
        readable.sort_unstable();
        readable.dedup();
        for id in readable {
            self.read_stream(id);
        }
        if let Some(state) = lost {
            self.fail(state);
        }
    }

    /// Reads every complete message of stream `id` (answering DCEP OPENs).
    fn read_stream(&mut self, id: u16) {
        loop {
            let Some((_, association)) = self.association.as_mut() else {
                return;
            };
            let Ok(mut stream) = association.stream(id) else {
                return;
            };
            let chunks = match stream.read_sctp() {
                Ok(Some(chunks)) => chunks,
                _ => return,
            };
            if id >= self.config.mis {
                // Beyond what we offered: RFC 9260 §6.5 has the peer told; we reset it.
                self.drops.stream_out_of_range += 1;
                let _ = stream.close();
                continue;
            }
            let Some(ppid) = Ppid::from_proto(chunks.ppi) else {
                self.drops.unknown_ppid += 1;
                self.events.push_back(SctpEvent::MessageDropped {
                    stream_id: id,
                    reason: SctpMessageDrop::UnknownPpid,
                });
                continue;
            };
            if chunks.len() > self.config.max_message_size as usize {
                self.drops.too_large += 1;
                self.events.push_back(SctpEvent::MessageDropped {
                    stream_id: id,
                    reason: SctpMessageDrop::TooLarge,
                });
                continue;
            }
            let payload = if ppid.is_empty_message() {
                Bytes::new()
            } else {
                // One copy joins the message's DATA chunks into the buffer consumers share.
                let len = chunks.len();
                let mut chunks = chunks;
                chunks
                    .next(len)
                    .map(|chunk| chunk.bytes)
                    .unwrap_or_default()
            };
            if ppid != Ppid::Dcep {
                self.events.push_back(SctpEvent::Message {
                    stream_id: id,
                    ppid,
                    payload,
                });
                continue;
            }
            match DcepMessage::parse(&payload) {
                Ok(DcepMessage::Open(open)) => {
                    let (unordered, kind, value) = open.reliability.to_proto();
                    let _ = stream.set_reliability_params(unordered, kind, value);
                    let ack = Bytes::from_static(&dcep::ACK);
                    if stream.write_sctp(&ack, Ppid::Dcep.to_proto()).is_ok() {
                        self.events.push_back(SctpEvent::ChannelOpened {
                            stream_id: id,
                            open,
                        });
                    }
                }
                // We open no channel in-band, so an ACK answers nothing of ours.
                Ok(DcepMessage::Ack) => {}
                Err(_) => {
                    self.drops.invalid_dcep += 1;
                    let _ = stream.close();
                }
            }
        }
    }

    fn fail(&mut self, state: SctpState) {
        self.association = None;
        self.outgoing.clear();
        self.transmits.clear();
        if !matches!(self.state, SctpState::Closed | SctpState::Failed) {
            self.set_state(state);
        }
    }

    fn set_state(&mut self, state: SctpState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(SctpEvent::StateChange(state));
        }
    }
}

fn transport_config(config: &SctpConfig) -> TransportConfig {
    TransportConfig::default()
        .with_max_num_outbound_streams(config.os)
        .with_max_num_inbound_streams(config.mis)
        .with_max_send_message_size(config.max_message_size)
        // sctp-proto ends the association on a message over its limit; mediasoup drops the
        // message and keeps the association, so a message up to the whole receive window is
        // reassembled and `read_stream` drops it if over `maxSctpMessageSize`. (Beyond the
        // window, sctp-proto aborts: the receive buffer bounds the memory either way.)
        .with_max_receive_message_size(receive_buffer_size(config))
        .with_max_receive_buffer_size(receive_buffer_size(config))
        .with_rto_initial_ms(RTO_INITIAL_MS)
        .with_rto_min_ms(RTO_MIN_MS)
}

/// Room for four whole messages in reassembly, as a window that never stalls one.
fn receive_buffer_size(config: &SctpConfig) -> u32 {
    config.max_message_size.saturating_mul(4)
}

/// The PPID and bytes that go on the wire for a message.
fn wire_form(ppid: Ppid, payload: &Bytes) -> (Ppid, Bytes) {
    if !payload.is_empty() {
        return (ppid, payload.clone());
    }
    let empty = match ppid {
        Ppid::String | Ppid::StringEmpty => Ppid::StringEmpty,
        _ => Ppid::BinaryEmpty,
    };
    (empty, Bytes::from_static(&[0]))
}

/// The state an association lost for `reason` ends in: the peer's ABORT or SHUTDOWN is a
/// close, anything else a failure.
fn state_after_loss(reason: &AssociationError) -> SctpState {
    match reason {
        AssociationError::AssociationClosed
        | AssociationError::ApplicationClosed
        | AssociationError::LocallyClosed => SctpState::Closed,
        _ => SctpState::Failed,
    }
}

#[cfg(test)]
mod tests;
