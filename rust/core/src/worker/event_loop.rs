//! The worker thread: one epoll loop (through mio) that owns the worker's sockets, timers
//! and transports. Commands arrive through a channel plus a waker; responses and events leave
//! through the [`EventQueue`].

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};

use super::direct_transport::WorkerDirectTransport;
use super::egress_queue::EgressQueue;
use super::event_queue::EventQueue;
use super::forward_queue::{ForwardQueue, PacketKind};
use super::log::{LogFilter, LogLevel, LogTag};
use super::messages::{
    Request, RequestId, ResourceUsage, Response, TransportEvent, WebRtcListen, WorkerEvent,
    WorkerExit,
};
use super::plain_transport::WorkerPlainTransport;
use super::ports::{PortAllocator, PortChoice};
use super::routing::{Routing, ScoreChange};
use super::socket_set::{SocketEvent, SocketSet, SocketSink, FIRST_TCP_CONNECTION_INDEX};
use super::transport::{WorkerTransport, TOKENS_PER_SLOT};
use super::udp_batch::SLOT_LEN;
use super::udp_batch::{RecvBatch, SendBatch};
use super::webrtc_server::{
    ServerRoutes, UnroutedDatagrams, WorkerWebRtcServer, MAX_SERVER_TCP_CONNECTIONS,
};
use super::webrtc_transport::{
    TransportSockets, WebRtcTransportState, WorkerWebRtcTransport, MAX_TCP_CONNECTIONS,
};
use crate::dtls::DtlsContext;
use crate::ice::{IceParameters, TransportProtocol};
use crate::rtc::consumer::Forward;
use crate::rtc::plain_connection::SrtpKeys;
use crate::rtc::webrtc_connection::{Received, WebRtcConnection};
use crate::srtp::SrtpProfile;

/// The waker's token.
const WAKER: Token = Token(usize::MAX);
/// Tokens from here on belong to WebRtcServers (transports use the range below).
const SERVER_TOKEN_BASE: usize = usize::MAX / 2;
/// Tokens per WebRtcServer slot.
const TOKENS_PER_SERVER: usize = FIRST_TCP_CONNECTION_INDEX + MAX_SERVER_TCP_CONNECTIONS;
/// Readiness events handled per `epoll_wait`.
const EVENTS_PER_POLL: usize = 256;
/// Reads (each up to a `recvmmsg` batch, or a TCP chunk) of one socket before the other
/// sockets, the timers and the owner's requests get their turn. A socket flooded faster than
/// the worker reads it never drains: reading it until empty froze everything else on the
/// worker (a 200,000 packets/s STUN flood on one port stalled requests for 2.5 s and cost
/// another transport 6% of its packets).
const READS_PER_TURN: usize = 4;

/// Settings fixed at worker creation.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// A name for the thread (visible in `top -H`).
    pub name: String,
    /// Lowest port for transports.
    pub rtc_min_port: u16,
    /// Highest port for transports.
    pub rtc_max_port: u16,
    /// Which log records to send.
    pub log: LogFilter,
}

enum Command {
    Request(RequestId, Request),
    Close,
}

/// The owner's side of a worker thread.
#[derive(Debug)]
pub struct WorkerHandle {
    commands: Sender<Command>,
    waker: Arc<Waker>,
    events: Arc<EventQueue<WorkerEvent>>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Starts a worker thread.
    pub fn spawn(settings: WorkerSettings, dtls_context: Arc<DtlsContext>) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let ports = PortAllocator::new(settings.rtc_min_port, settings.rtc_max_port)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error.to_string()))?;
        let events = Arc::new(EventQueue::new()?);
        let (commands, receiver) = mpsc::channel();
        let worker = Worker {
            log: settings.log,
            poll,
            commands: receiver,
            events: Arc::clone(&events),
            ports,
            dtls_context,
            transports: Vec::new(),
            by_id: HashMap::new(),
            servers: Vec::new(),
            servers_by_id: HashMap::new(),
            touched: Vec::new(),
            unfinished: Vec::new(),
            routing: Routing::default(),
            forward: ForwardQueue::default(),
            egress: vec![0; SLOT_LEN + EGRESS_HEADROOM],
            nacked: Vec::new(),
            egress_queue: EgressQueue::default(),
            next_rtcp: Instant::now() + RTCP_INTERVAL,
            ntp: NtpClock::now(),
            rtcp_compounds: Vec::new(),
            score_changes: Vec::new(),
            nack_key_frames: Vec::new(),
            plain_srtp_keys: HashMap::new(),
            receive: RecvBatch::default(),
            send: SendBatch::default(),
        };
        let thread_events = Arc::clone(&events);
        let thread = std::thread::Builder::new()
            .name(settings.name)
            .spawn(move || {
                // A panic anywhere in the media plane ends this worker only: its sockets close
                // as `worker` drops, and the owner is told why.
                let exit = match catch_unwind(AssertUnwindSafe(move || worker.run())) {
                    Ok(Ok(())) => WorkerExit::Closed,
                    Ok(Err(error)) => WorkerExit::Died(format!("event loop failed: {error}")),
                    Err(panic) => WorkerExit::Died(panic_message(panic.as_ref())),
                };
                thread_events.push(WorkerEvent::Exited(exit));
            })?;
        Ok(WorkerHandle {
            commands,
            waker,
            events,
            thread: Some(thread),
        })
    }

    /// Queues a request; its response arrives as [`WorkerEvent::Response`] with `id`.
    /// Fails when the worker thread has ended.
    pub fn request(&self, id: RequestId, request: Request) -> Result<(), WorkerGone> {
        self.commands
            .send(Command::Request(id, request))
            .map_err(|_| WorkerGone)?;
        self.waker.wake().map_err(|_| WorkerGone)
    }

    /// Where responses and events arrive.
    pub fn events(&self) -> &Arc<EventQueue<WorkerEvent>> {
        &self.events
    }

    /// Asks the thread to close its transports and end, and waits for it.
    pub fn close(&mut self) {
        if self.commands.send(Command::Close).is_ok() {
            let _ = self.waker.wake();
        }
        if let Some(thread) = self.thread.take() {
            // A worker that panicked has already reported it; nothing more to learn here.
            let _ = thread.join();
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.close();
    }
}

/// The worker thread has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the worker has exited")]
pub struct WorkerGone;

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .map_or_else(
            || "worker panicked".to_owned(),
            |text| format!("worker panicked: {text}"),
        )
}

/// The state the worker thread owns.
struct Worker {
    log: LogFilter,
    poll: Poll,
    commands: Receiver<Command>,
    events: Arc<EventQueue<WorkerEvent>>,
    ports: PortAllocator,
    dtls_context: Arc<DtlsContext>,
    /// Transport slots; see [`TOKENS_PER_SLOT`] for socket tokens.
    transports: Vec<Option<WorkerTransport>>,
    by_id: HashMap<String, usize>,
    /// WebRtcServer slots; their tokens start at [`SERVER_TOKEN_BASE`].
    servers: Vec<Option<WorkerWebRtcServer>>,
    servers_by_id: HashMap<String, usize>,
    /// Transports a server read touched, reused between reads.
    touched: Vec<usize>,
    /// Sockets (tokens) whose turn ended with data left, read again next round.
    unfinished: Vec<usize>,
    /// Producers and consumers, and which transport each lives on.
    routing: Routing,
    /// Media decrypted by the last read, for the routing phase.
    forward: ForwardQueue,
    /// Where a consumer's copy of a packet is written (with room for MID and SRTP tag).
    egress: Vec<u8>,
    /// Packets the last RTCP's NACKs asked for: (consumer, sequence number).
    nacked: Vec<(usize, u16)>,
    /// Media sent during a routing phase, flushed at its end.
    egress_queue: EgressQueue,
    /// When the next sender/receiver reports are due.
    next_rtcp: Instant,
    /// The NTP times of our reports.
    ntp: NtpClock,
    /// Periodic RTCP being sent, reused between rounds.
    rtcp_compounds: Vec<(usize, Vec<u8>)>,
    /// Score changes being reported, reused between rounds.
    score_changes: Vec<ScoreChange>,
    /// Producers whose losses were given up on, reused between rounds.
    nack_key_frames: Vec<(usize, u8)>,
    /// Our SRTP suite and key || salt per PlainTransport with SRTP, for its `connect`.
    plain_srtp_keys: HashMap<String, (SrtpProfile, Vec<u8>)>,
    receive: RecvBatch,
    send: SendBatch,
}

impl Worker {
    fn run(mut self) -> io::Result<()> {
        let mut readiness = Events::with_capacity(EVENTS_PER_POLL);
        let mut transport_events = Vec::new();
        loop {
            // Sockets with data left are read again at once, after a look at the others.
            let timeout = if self.unfinished.is_empty() {
                self.next_deadline()
                    .map(|deadline| deadline.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            match self.poll.poll(&mut readiness, timeout) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
            let now = Instant::now();
            let unfinished = std::mem::take(&mut self.unfinished);
            for event in readiness.iter() {
                if event.token() == WAKER {
                    if self.handle_commands() {
                        self.close_all();
                        return Ok(());
                    }
                    continue;
                }
                self.on_socket_ready(
                    event.token().0,
                    event.is_writable(),
                    now,
                    &mut transport_events,
                );
            }
            for token in unfinished {
                self.on_socket_ready(token, false, now, &mut transport_events);
            }
            self.run_timers(now, &mut transport_events);
            if now >= self.next_rtcp {
                self.run_periodic_rtcp(now);
            }
            self.run_routing_timers(now);
            for notice in self.routing.take_notices() {
                self.events.push(WorkerEvent::Routing(notice));
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.transports
            .iter()
            .flatten()
            .filter_map(WorkerTransport::poll_timeout)
            .chain(std::iter::once(self.next_rtcp))
            .chain(self.routing.next_deadline())
            .min()
    }

    fn run_timers(&mut self, now: Instant, transport_events: &mut Vec<TransportEvent>) {
        for slot in 0..self.transports.len() {
            let due = self.transports[slot]
                .as_ref()
                .and_then(WorkerTransport::poll_timeout)
                .is_some_and(|deadline| deadline <= now);
            if due {
                self.with_sink(slot, |state, sink| {
                    state.on_timer(now, sink);
                    state.collect_events(transport_events);
                });
                self.publish(slot, transport_events);
            }
        }
    }

    /// A socket is ready: read and route what was read, up to [`READS_PER_TURN`] times; a
    /// socket with data left joins `unfinished`.
    fn on_socket_ready(
        &mut self,
        token: usize,
        writable: bool,
        now: Instant,
        transport_events: &mut Vec<TransportEvent>,
    ) {
        let mut more = false;
        for _ in 0..READS_PER_TURN {
            more = if token >= SERVER_TOKEN_BASE {
                self.read_server(token - SERVER_TOKEN_BASE, writable, now, transport_events)
            } else {
                self.read_transport(
                    token / TOKENS_PER_SLOT,
                    token % TOKENS_PER_SLOT,
                    writable,
                    now,
                    transport_events,
                )
            };
            self.route(now);
            if !more {
                break;
            }
        }
        if more && !self.unfinished.contains(&token) {
            self.unfinished.push(token);
        }
    }

    /// One read of a transport's socket; returns whether more may be waiting.
    fn read_transport(
        &mut self,
        slot: usize,
        index: usize,
        writable: bool,
        now: Instant,
        transport_events: &mut Vec<TransportEvent>,
    ) -> bool {
        let Some(Some(transport)) = self.transports.get_mut(slot) else {
            return false;
        };
        let more = match transport {
            WorkerTransport::Direct(_) => false,
            WorkerTransport::Plain(_) => transport.on_plain_readable(
                index,
                slot,
                &mut self.receive,
                &mut self.forward,
                transport_events,
            ),
            WorkerTransport::WebRtc(webrtc) => {
                let WorkerWebRtcTransport { sockets, state, .. } = &mut **webrtc;
                let forward = &mut self.forward;
                let more = if let TransportSockets::Own(sockets) = sockets {
                    sockets.on_ready(
                        index,
                        writable,
                        self.poll.registry(),
                        slot * TOKENS_PER_SLOT,
                        &mut self.receive,
                        &mut self.send,
                        now,
                        |event, packet, sink| {
                            let received = state.handle(event, packet, now, sink);
                            queue_media(forward, slot, received, packet);
                            matches!(event, SocketEvent::Packet(tuple)
                                if state.connection.ice().is_valid_tuple(&tuple))
                        },
                    )
                } else {
                    false
                };
                state.collect_events(transport_events);
                more
            }
        };
        self.publish(slot, transport_events);
        more
    }

    /// One read of a WebRtcServer socket, each packet going to the transport it routes to;
    /// returns whether more may be waiting.
    fn read_server(
        &mut self,
        server_token: usize,
        writable: bool,
        now: Instant,
        transport_events: &mut Vec<TransportEvent>,
    ) -> bool {
        let (server_slot, index) = (
            server_token / TOKENS_PER_SERVER,
            server_token % TOKENS_PER_SERVER,
        );
        let Some(Some(server)) = self.servers.get_mut(server_slot) else {
            return false;
        };
        let WorkerWebRtcServer {
            sockets,
            routes,
            unrouted,
        } = server;
        let transports = &mut self.transports;
        let forward = &mut self.forward;
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        let more = sockets.on_ready(
            index,
            writable,
            self.poll.registry(),
            SERVER_TOKEN_BASE + server_slot * TOKENS_PER_SERVER,
            &mut self.receive,
            &mut self.send,
            now,
            |event, packet, sink| {
                // Packets no transport claims (unknown ufrag, unvalidated tuple) are dropped.
                let Some(slot) = routes.route(&event, packet) else {
                    if let SocketEvent::Packet(_) = event {
                        unrouted.count(packet);
                    }
                    return false;
                };
                let Some(Some(WorkerTransport::WebRtc(transport))) = transports.get_mut(slot)
                else {
                    return false;
                };
                let received = transport.state.handle(event, packet, now, sink);
                queue_media(forward, slot, received, packet);
                if !touched.contains(&slot) {
                    touched.push(slot);
                }
                let SocketEvent::Packet(tuple) = event else {
                    return false;
                };
                let ice = transport.state.connection.ice();
                let valid = ice.is_valid_tuple(&tuple);
                if valid {
                    routes.learn_tuple(tuple, slot, ice.tuples());
                }
                valid
            },
        );
        for &slot in &touched {
            if let Some(Some(WorkerTransport::WebRtc(transport))) = self.transports.get_mut(slot) {
                transport.state.collect_events(transport_events);
            }
            self.publish(slot, transport_events);
        }
        self.touched = touched;
        more
    }

    /// The routing phase: every packet the last read decrypted goes from its producer to the
    /// producer's consumers; RTCP keyframe requests go from consumers to producers.
    fn route(&mut self, now: Instant) {
        for index in 0..self.forward.len() {
            let Some((slot, kind, packet)) = self.forward.get_mut(index) else {
                continue;
            };
            match kind {
                PacketKind::Rtp => {
                    let Some((producer_index, stream, produced, len)) =
                        self.routing.ingress(slot, packet, now)
                    else {
                        continue;
                    };
                    self.forward.truncate(index, len);
                    if produced.request_key_frame {
                        self.request_key_frame(producer_index, stream, now);
                    }
                    // Streams (bits) whose keyframe some consumer waits for.
                    let mut needs_key_frame = 0u32;
                    for nth in 0..self.routing.consumer_count(producer_index) {
                        let Some((consumer_slot, forward)) = self.routing.egress(
                            producer_index,
                            nth,
                            packet_bytes(&self.forward, index),
                            stream,
                            produced.is_keyframe,
                            now,
                            &mut self.egress,
                        ) else {
                            continue;
                        };
                        match forward {
                            Forward::Send(len) => {
                                // A consumer's first report goes ahead of its first packet:
                                // ffmpeg, recording, aligns streams by reports and would
                                // place packets that came before one wrongly.
                                if let Some((slot, report)) =
                                    self.routing.opening_report(producer_index, nth, now, || {
                                        self.ntp.at(now)
                                    })
                                {
                                    self.send_rtcp_compound(slot, report);
                                }
                                self.send_media(consumer_slot, len);
                            }
                            Forward::NeedKeyFrame(wanted) => {
                                needs_key_frame |= 1u32.checked_shl(u32::from(wanted)).unwrap_or(0);
                            }
                            Forward::Skip => {}
                        }
                    }
                    for wanted in 0..32u8 {
                        if needs_key_frame & (1 << wanted) != 0 {
                            self.request_key_frame(producer_index, wanted, now);
                        }
                    }
                }
                PacketKind::Rtcp => {
                    if crate::packet::rtcp::parse_compound(packet).is_err() {
                        if let Some(Some(transport)) = self.transports.get_mut(slot) {
                            transport.count_malformed_rtcp();
                        }
                    }
                    let ntp_middle = (self.ntp.at(now) >> 16) as u32;
                    self.routing.reports(slot, packet, now, ntp_middle);
                    self.routing.congestion_feedback(slot, packet, now);
                    self.routing.nacked_packets(slot, packet, &mut self.nacked);
                    let requests = self.routing.key_frame_requests(slot, packet);
                    for (producer_index, stream) in requests {
                        self.request_key_frame(producer_index, stream, now);
                    }
                    self.retransmit(now);
                }
            }
        }
        self.forward.clear();
        // Every socket with queued media is open: nothing in this phase closes one.
        self.egress_queue.flush();
    }

    /// Answers the NACKs the routing phase collected in `self.nacked`.
    fn retransmit(&mut self, now: Instant) {
        let nacked = std::mem::take(&mut self.nacked);
        for &(consumer, sequence) in &nacked {
            if let Some((slot, len)) =
                self.routing
                    .retransmission(consumer, sequence, now, &mut self.egress)
            {
                self.send_media(slot, len);
            }
        }
        self.nacked = nacked;
    }

    /// Queues `self.egress[..len]` as RTP on a transport, for the end of the routing phase.
    fn send_media(&mut self, slot: usize, len: usize) {
        let Some(Some(transport)) = self.transports.get_mut(slot) else {
            return;
        };
        let egress = &mut self.egress;
        let queue = &mut self.egress_queue;
        match transport {
            WorkerTransport::Plain(transport) => {
                transport.send_rtp(egress, len, queue);
            }
            WorkerTransport::Direct(transport) => {
                transport.on_sent(len);
                self.events.push(WorkerEvent::DirectPacket {
                    transport_id: transport.id.clone(),
                    rtcp: false,
                    packet: egress[..len].to_vec(),
                });
            }
            WorkerTransport::WebRtc(transport) => {
                let WorkerWebRtcTransport { sockets, state, .. } = &mut **transport;
                let sockets = match sockets {
                    TransportSockets::Own(own) => own,
                    TransportSockets::Server(server_slot) => {
                        match self.servers.get_mut(*server_slot) {
                            Some(Some(server)) => &mut server.sockets,
                            _ => return,
                        }
                    }
                };
                let mut sink = sockets.deferred_sink(queue);
                state.send_rtp(egress, len, &mut sink);
            }
        }
    }

    /// Asks the producer's endpoint for a keyframe, unless a request is pending or held back.
    fn request_key_frame(&mut self, producer_index: usize, stream: u8, now: Instant) {
        if let Some(request) = self.routing.key_frame_request(producer_index, stream, now) {
            self.send_compounds(&[request]);
        }
    }

    /// Sends `self.egress[..len]` as RTCP on a transport (now: RTCP is not batched).
    fn send_rtcp(&mut self, slot: usize, len: usize) {
        let mut egress = std::mem::take(&mut self.egress);
        self.send_rtcp_from(slot, &mut egress, len);
        self.egress = egress;
    }

    /// Sends an RTCP compound on a transport, leaving `self.egress` as it is.
    fn send_rtcp_compound(&mut self, slot: usize, mut compound: Vec<u8>) {
        let len = compound.len();
        compound.resize(len + EGRESS_HEADROOM, 0);
        self.send_rtcp_from(slot, &mut compound, len);
    }

    /// Sends `buffer[..len]` (with room for the SRTCP trailer after it) as RTCP.
    fn send_rtcp_from(&mut self, slot: usize, egress: &mut [u8], len: usize) {
        match self.transports.get_mut(slot) {
            Some(Some(WorkerTransport::Plain(transport))) => {
                transport.send_rtcp(egress, len, &mut self.egress_queue);
                self.egress_queue.flush();
            }
            Some(Some(WorkerTransport::WebRtc(_))) => {
                self.with_sink(slot, |state, sink| state.send_rtcp(egress, len, sink));
            }
            Some(Some(WorkerTransport::Direct(transport))) => {
                transport.on_sent(len);
                self.events.push(WorkerEvent::DirectPacket {
                    transport_id: transport.id.clone(),
                    rtcp: true,
                    packet: egress[..len].to_vec(),
                });
            }
            _ => {}
        }
    }

    /// Sends RTCP compounds built by the routing, each on its transport.
    fn send_compounds(&mut self, compounds: &[(usize, Vec<u8>)]) {
        for (slot, compound) in compounds {
            let Some(target) = self.egress.get_mut(..compound.len()) else {
                continue;
            };
            target.copy_from_slice(compound);
            self.send_rtcp(*slot, compound.len());
        }
    }

    /// The routing's timers: NACKs for producers' lost packets that are due (first requests
    /// right after the loss is seen, repeats each round trip), keyframe requests for losses
    /// given up on, deferred or retried keyframe requests, transport-cc feedback every
    /// 100 ms while packets arrive, REMB estimates, and RTP observers' reports.
    fn run_routing_timers(&mut self, now: Instant) {
        if self.routing.next_deadline().is_none_or(|due| due > now) {
            return;
        }
        let mut compounds = std::mem::take(&mut self.rtcp_compounds);
        let mut key_frames = std::mem::take(&mut self.nack_key_frames);
        self.routing.due_nacks(now, &mut compounds, &mut key_frames);
        self.send_compounds(&compounds);
        for &(producer_index, stream) in &key_frames {
            self.request_key_frame(producer_index, stream, now);
        }
        self.routing.due_transport_cc(now, &mut compounds);
        self.send_compounds(&compounds);
        self.routing.due_key_frame_requests(now, &mut compounds);
        self.send_compounds(&compounds);
        self.routing.due_rembs(now, &mut compounds);
        self.send_compounds(&compounds);
        self.routing.due_rtp_observer_reports(now);
        self.rtcp_compounds = compounds;
        self.nack_key_frames = key_frames;
    }

    /// Every second: sender and receiver reports on every transport, and score changes to
    /// the owner.
    fn run_periodic_rtcp(&mut self, now: Instant) {
        let mut compounds = std::mem::take(&mut self.rtcp_compounds);
        let mut scores = std::mem::take(&mut self.score_changes);
        self.routing
            .periodic_rtcp(now, self.ntp.at(now), &mut compounds, &mut scores);
        self.send_compounds(&compounds);
        for change in scores.drain(..) {
            self.events.push(WorkerEvent::Score(change));
        }
        self.rtcp_compounds = compounds;
        self.score_changes = scores;
        self.next_rtcp = now + RTCP_INTERVAL;
    }

    /// Runs `action` on a WebRTC transport's state with a sink over its sockets (its own or
    /// its server's), then sends what it queued.
    fn with_sink<R>(
        &mut self,
        slot: usize,
        action: impl FnOnce(&mut WebRtcTransportState, &mut SocketSink<'_>) -> R,
    ) -> Option<R> {
        let Some(Some(WorkerTransport::WebRtc(transport))) = self.transports.get_mut(slot) else {
            return None;
        };
        let WorkerWebRtcTransport { sockets, state, .. } = &mut **transport;
        let sockets = match sockets {
            TransportSockets::Own(own) => own,
            TransportSockets::Server(server_slot) => {
                &mut self.servers.get_mut(*server_slot)?.as_mut()?.sockets
            }
        };
        let mut sink = sockets.sink(&mut self.send);
        let result = action(state, &mut sink);
        sink.flush();
        Some(result)
    }

    fn publish(&mut self, slot: usize, transport_events: &mut Vec<TransportEvent>) {
        let Some(Some(transport)) = self.transports.get(slot) else {
            transport_events.clear();
            return;
        };
        let id = transport.id().to_owned();
        for event in transport_events.drain(..) {
            self.log_event(&id, &event);
            self.events.push(WorkerEvent::Transport {
                transport_id: id.clone(),
                event,
            });
        }
    }

    /// Sends a log record if the filter lets it through; `message` is only formatted then.
    fn log(&self, level: LogLevel, tag: LogTag, message: impl FnOnce() -> String) {
        if self.log.enabled(level, tag) {
            self.events.push(WorkerEvent::Log {
                level,
                tag,
                message: message(),
            });
        }
    }

    fn log_event(&self, transport_id: &str, event: &TransportEvent) {
        match event {
            TransportEvent::IceStateChanged(state) => {
                self.log(LogLevel::Debug, LogTag::Ice, || {
                    format!("transport {transport_id}: ICE {}", state.as_str())
                })
            }
            TransportEvent::IceSelectedTupleChanged(tuple) => {
                self.log(LogLevel::Debug, LogTag::Ice, || {
                    format!("transport {transport_id}: ICE selected tuple {tuple}")
                })
            }
            TransportEvent::Tuple(tuple) | TransportEvent::RtcpTuple(tuple) => {
                self.log(LogLevel::Debug, LogTag::Info, || {
                    format!("transport {transport_id}: remote address {tuple}")
                })
            }
            TransportEvent::DtlsStateChanged {
                failure_reason: Some(reason),
                ..
            } => self.log(LogLevel::Warn, LogTag::Dtls, || {
                format!("transport {transport_id}: DTLS failed: {reason}")
            }),
            TransportEvent::DtlsStateChanged { state, .. } => {
                self.log(LogLevel::Debug, LogTag::Dtls, || {
                    format!("transport {transport_id}: DTLS {}", state.as_str())
                })
            }
        }
    }

    /// Handles every queued command; `true` when the worker must close.
    fn handle_commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(Command::Request(id, request)) => {
                    let result = self.handle_request(request);
                    self.events.push(WorkerEvent::Response { id, result });
                }
                Ok(Command::Close) | Err(TryRecvError::Disconnected) => return true,
                Err(TryRecvError::Empty) => return false,
            }
        }
    }

    fn transport_mut(&mut self, id: &str) -> Result<&mut WorkerTransport, String> {
        self.by_id
            .get(id)
            .and_then(|slot| self.transports.get_mut(*slot))
            .and_then(Option::as_mut)
            .ok_or_else(|| format!("transport with id \"{id}\" not found"))
    }

    fn handle_request(&mut self, request: Request) -> Result<Response, String> {
        match request {
            Request::CreateWebRtcTransport {
                transport_id,
                listen,
                ice_consent_timeout,
            } => self.create_webrtc_transport(transport_id, listen, ice_consent_timeout),
            Request::CreateWebRtcServer {
                server_id,
                listen_ip,
                udp,
                tcp,
            } => self.create_webrtc_server(server_id, listen_ip, udp, tcp),
            Request::CloseWebRtcServer { server_id } => self.close_webrtc_server(&server_id),
            Request::DumpWebRtcServer { server_id } => {
                let server = self
                    .servers_by_id
                    .get(&server_id)
                    .and_then(|&slot| self.servers.get(slot)?.as_ref())
                    .ok_or_else(|| format!("WebRtcServer with id \"{server_id}\" not found"))?;
                Ok(Response::WebRtcServerDump {
                    unrouted: server.unrouted,
                })
            }
            Request::ConnectWebRtcTransport {
                transport_id,
                remote,
            } => {
                let now = Instant::now();
                let slot = *self
                    .by_id
                    .get(&transport_id)
                    .ok_or_else(|| format!("transport with id \"{transport_id}\" not found"))?;
                let mut transport_events = Vec::new();
                let connected = self
                    .with_sink(slot, |state, sink| {
                        let connected = state.connect(remote, now, sink);
                        state.collect_events(&mut transport_events);
                        connected
                    })
                    .ok_or_else(|| {
                        format!("transport \"{transport_id}\" is not a WebRtcTransport")
                    })?;
                self.publish(slot, &mut transport_events);
                connected?;
                Ok(Response::Done)
            }
            Request::RestartIce { transport_id } => {
                let parameters = IceParameters::generate().map_err(|error| error.to_string())?;
                let slot = *self
                    .by_id
                    .get(&transport_id)
                    .ok_or_else(|| format!("transport with id \"{transport_id}\" not found"))?;
                let WorkerTransport::WebRtc(transport) = self.transport_mut(&transport_id)? else {
                    return Err(format!(
                        "transport \"{transport_id}\" is not a WebRtcTransport"
                    ));
                };
                transport
                    .state
                    .connection
                    .restart_ice(parameters.clone(), Instant::now());
                if let TransportSockets::Server(server_slot) = transport.sockets {
                    if let Some(Some(server)) = self.servers.get_mut(server_slot) {
                        server
                            .routes
                            .add_ufrag(parameters.username_fragment.clone(), slot);
                    }
                }
                Ok(Response::IceRestarted(parameters))
            }
            Request::CreateDirectTransport { transport_id } => {
                self.check_new_transport_id(&transport_id)?;
                let transport = WorkerDirectTransport::new(transport_id.clone());
                self.install(transport_id, WorkerTransport::Direct(Box::new(transport)))?;
                Ok(Response::Done)
            }
            Request::SendDirectPacket {
                transport_id,
                rtcp,
                packet,
            } => {
                let slot = self.slot_of(&transport_id)?;
                let Some(Some(WorkerTransport::Direct(transport))) = self.transports.get_mut(slot)
                else {
                    return Err(format!("transport {transport_id} is not a DirectTransport"));
                };
                transport.on_received(packet.len(), rtcp);
                let kind = if rtcp {
                    PacketKind::Rtcp
                } else {
                    PacketKind::Rtp
                };
                self.forward.push(slot, kind, &packet);
                self.route(Instant::now());
                Ok(Response::Done)
            }
            Request::CreatePlainTransport {
                transport_id,
                listen_ip,
                port,
                rtcp_mux,
                comedia,
                srtp_profile,
            } => self.create_plain_transport(
                transport_id,
                listen_ip,
                port,
                rtcp_mux,
                comedia,
                srtp_profile,
            ),
            Request::ConnectPlainTransport {
                transport_id,
                remote_rtp,
                remote_rtcp,
                remote_srtp_key,
            } => {
                let slot = *self
                    .by_id
                    .get(&transport_id)
                    .ok_or_else(|| format!("transport with id \"{transport_id}\" not found"))?;
                let Some(Some(WorkerTransport::Plain(transport))) = self.transports.get_mut(slot)
                else {
                    return Err(format!(
                        "transport \"{transport_id}\" is not a PlainTransport"
                    ));
                };
                let local_key = self.plain_srtp_keys.get(&transport_id).cloned();
                let keys = match (&local_key, &remote_srtp_key) {
                    (Some((profile, local)), Some(remote)) => Some(SrtpKeys {
                        profile: *profile,
                        local,
                        remote,
                    }),
                    _ => None,
                };
                if local_key.is_some() != remote_srtp_key.is_some() {
                    return Err(if local_key.is_some() {
                        "SRTP is enabled: connect() needs srtpParameters".to_owned()
                    } else {
                        "SRTP is not enabled on this transport".to_owned()
                    });
                }
                transport
                    .connection
                    .connect(remote_rtp, remote_rtcp, keys)
                    .map_err(|error| error.to_string())?;
                let mut transport_events = Vec::new();
                transport.collect_events(&mut transport_events);
                self.publish(slot, &mut transport_events);
                Ok(Response::Done)
            }
            Request::GetTransportStats { transport_id } => {
                let slot = self.slot_of(&transport_id)?;
                let mut stats = self.transport_mut(&transport_id)?.stats();
                stats.available_outgoing_bitrate = self.routing.available_outgoing_bitrate(slot);
                stats.rtp_packets_over_max_incoming_bitrate =
                    self.routing.packets_over_max_incoming_bitrate(slot);
                Ok(Response::TransportStats(Box::new(stats)))
            }
            Request::CloseTransport { transport_id } => {
                if !self.remove_transport(&transport_id) {
                    return Err(format!("transport with id \"{transport_id}\" not found"));
                }
                Ok(Response::Done)
            }
            Request::CreateProducer {
                transport_id,
                producer_id,
                specs,
                paused,
            } => {
                let slot = self.slot_of(&transport_id)?;
                self.routing
                    .add_producer(producer_id, slot, specs, paused)?;
                Ok(Response::Done)
            }
            Request::CreateConsumer {
                transport_id,
                consumer_id,
                producer_id,
                spec,
                paused,
            } => {
                let slot = self.slot_of(&transport_id)?;
                self.routing
                    .add_consumer(consumer_id, slot, &producer_id, *spec, paused)?;
                Ok(Response::Done)
            }
            Request::SetProducerPaused {
                producer_id,
                paused,
            } => {
                self.routing.set_producer_paused(&producer_id, paused)?;
                Ok(Response::Done)
            }
            Request::SetConsumerPaused {
                consumer_id,
                paused,
            } => {
                self.routing.set_consumer_paused(&consumer_id, paused)?;
                Ok(Response::Done)
            }
            Request::SetTransportBitrates {
                transport_id,
                max_incoming,
                outgoing,
            } => {
                let slot = self.slot_of(&transport_id)?;
                self.routing
                    .set_transport_bitrates(slot, max_incoming, outgoing);
                Ok(Response::Done)
            }
            Request::SetConsumerPreferredLayers {
                consumer_id,
                layers,
            } => {
                self.routing
                    .set_consumer_preferred_layers(&consumer_id, layers)?;
                Ok(Response::Done)
            }
            Request::CloseProducer { producer_id } => {
                // Its consumers close with it; the owner closes its handles of them too.
                self.routing.remove_producer(&producer_id)?;
                Ok(Response::Done)
            }
            Request::CloseConsumer { consumer_id } => {
                self.routing.remove_consumer(&consumer_id)?;
                Ok(Response::Done)
            }
            Request::GetProducerStats { producer_id } => Ok(Response::ProducerStats(
                self.routing.producer_stats(&producer_id, Instant::now())?,
            )),
            Request::GetConsumerStats { consumer_id } => Ok(Response::ConsumerStats(
                self.routing.consumer_stats(&consumer_id)?,
            )),
            Request::SetProducerTrace { producer_id, kinds } => {
                self.routing.set_producer_trace(&producer_id, kinds)?;
                Ok(Response::Done)
            }
            Request::SetConsumerTrace { consumer_id, kinds } => {
                self.routing.set_consumer_trace(&consumer_id, kinds)?;
                Ok(Response::Done)
            }
            Request::SetConsumerPriority {
                consumer_id,
                priority,
            } => {
                self.routing.set_consumer_priority(&consumer_id, priority)?;
                Ok(Response::Done)
            }
            Request::CreateRtpObserver {
                observer_id,
                options,
            } => {
                self.routing
                    .create_rtp_observer(observer_id, options, Instant::now())?;
                Ok(Response::Done)
            }
            Request::CloseRtpObserver { observer_id } => {
                self.routing.close_rtp_observer(&observer_id)?;
                Ok(Response::Done)
            }
            Request::SetRtpObserverPaused {
                observer_id,
                paused,
            } => {
                self.routing
                    .set_rtp_observer_paused(&observer_id, paused, Instant::now())?;
                Ok(Response::Done)
            }
            Request::SetRtpObserverProducer {
                observer_id,
                producer_id,
                observed,
            } => {
                self.routing.set_rtp_observer_producer(
                    &observer_id,
                    &producer_id,
                    observed,
                    Instant::now(),
                )?;
                Ok(Response::Done)
            }
            Request::RequestKeyFrame { consumer_id } => {
                let (producer_index, stream) = self.routing.producer_of_consumer(&consumer_id)?;
                self.request_key_frame(producer_index, stream, Instant::now());
                Ok(Response::Done)
            }
            Request::GetResourceUsage => Ok(Response::ResourceUsage(thread_resource_usage())),
            Request::UpdateSettings { log } => {
                self.log = log;
                Ok(Response::Done)
            }
            Request::Dump => Ok(Response::Dump {
                transport_ids: self.by_id.keys().cloned().collect(),
            }),
            Request::Panic => panic!("requested by a test (the panic debug hook)"),
        }
    }

    fn slot_of(&self, transport_id: &str) -> Result<usize, String> {
        self.by_id
            .get(transport_id)
            .copied()
            .ok_or_else(|| format!("transport with id \"{transport_id}\" not found"))
    }

    fn check_new_transport_id(&self, transport_id: &str) -> Result<(), String> {
        if self.by_id.contains_key(transport_id) {
            return Err(format!(
                "a transport with id \"{transport_id}\" already exists"
            ));
        }
        Ok(())
    }

    fn create_webrtc_transport(
        &mut self,
        transport_id: String,
        listen: WebRtcListen,
        ice_consent_timeout: Option<Duration>,
    ) -> Result<Response, String> {
        self.check_new_transport_id(&transport_id)?;
        let (sockets, server_slot) = match listen {
            WebRtcListen::Own { ip, udp, tcp } => (
                TransportSockets::Own(self.bind_socket_set(ip, udp, tcp, MAX_TCP_CONNECTIONS)?),
                None,
            ),
            WebRtcListen::Server(server_id) => {
                let server_slot = *self
                    .servers_by_id
                    .get(&server_id)
                    .ok_or_else(|| format!("WebRtcServer with id \"{server_id}\" not found"))?;
                (TransportSockets::Server(server_slot), Some(server_slot))
            }
        };
        let locals = match &sockets {
            TransportSockets::Own(own) => own.locals(),
            TransportSockets::Server(slot) => self.servers[*slot]
                .as_ref()
                .map(|server| server.sockets.locals())
                .unwrap_or_default(),
        };
        let parameters = IceParameters::generate().map_err(|error| error.to_string())?;
        let connection = WebRtcConnection::new(
            parameters.clone(),
            ice_consent_timeout,
            Arc::clone(&self.dtls_context),
        );
        let transport = WorkerWebRtcTransport::new(transport_id.clone(), sockets, connection);
        let slot = self.install(transport_id, WorkerTransport::WebRtc(Box::new(transport)))?;
        if let Some(server_slot) = server_slot {
            if let Some(Some(server)) = self.servers.get_mut(server_slot) {
                server
                    .routes
                    .add_ufrag(parameters.username_fragment.clone(), slot);
            }
        }
        Ok(Response::WebRtcTransportCreated {
            ice_parameters: parameters,
            locals,
        })
    }

    /// Binds a UDP socket and/or a TCP listener on `ip` at the chosen ports; on failure
    /// nothing stays bound.
    fn bind_socket_set(
        &mut self,
        ip: IpAddr,
        udp: Option<PortChoice>,
        tcp: Option<PortChoice>,
        max_connections: usize,
    ) -> Result<SocketSet, String> {
        if udp.is_none() && tcp.is_none() {
            return Err("at least one of UDP and TCP is needed".to_owned());
        }
        let udp = udp
            .map(|port| self.ports.bind_udp_at(ip, port))
            .transpose()
            .map_err(|error| error.to_string())?;
        let tcp = match tcp.map(|port| self.ports.bind_tcp_at(ip, port)).transpose() {
            Ok(listener) => listener.map(mio::net::TcpListener::from_std),
            Err(error) => {
                if let Some(local) = udp.as_ref().and_then(|socket| socket.local_addr().ok()) {
                    self.ports.release(TransportProtocol::Udp, local);
                }
                return Err(error.to_string());
            }
        };
        Ok(SocketSet::new(udp, tcp, max_connections))
    }

    fn create_webrtc_server(
        &mut self,
        server_id: String,
        listen_ip: IpAddr,
        udp: Option<PortChoice>,
        tcp: Option<PortChoice>,
    ) -> Result<Response, String> {
        if self.servers_by_id.contains_key(&server_id) {
            return Err(format!(
                "a WebRtcServer with id \"{server_id}\" already exists"
            ));
        }
        let mut sockets = self.bind_socket_set(listen_ip, udp, tcp, MAX_SERVER_TCP_CONNECTIONS)?;
        let slot = self
            .servers
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.servers.len());
        if let Err(error) = sockets.register(
            self.poll.registry(),
            SERVER_TOKEN_BASE + slot * TOKENS_PER_SERVER,
        ) {
            self.release_socket_set(&mut sockets);
            return Err(error.to_string());
        }
        let locals = sockets.locals();
        let server = WorkerWebRtcServer {
            sockets,
            routes: ServerRoutes::default(),
            unrouted: UnroutedDatagrams::default(),
        };
        if slot == self.servers.len() {
            self.servers.push(Some(server));
        } else {
            self.servers[slot] = Some(server);
        }
        self.servers_by_id.insert(server_id, slot);
        Ok(Response::WebRtcServerCreated { locals })
    }

    /// Deregisters a socket set and returns its ports.
    fn release_socket_set(&mut self, sockets: &mut SocketSet) {
        sockets.deregister(self.poll.registry());
        for (protocol, local) in sockets.locals() {
            self.ports.release(protocol, local);
        }
    }

    fn close_webrtc_server(&mut self, server_id: &str) -> Result<Response, String> {
        let server_slot = self
            .servers_by_id
            .remove(server_id)
            .ok_or_else(|| format!("WebRtcServer with id \"{server_id}\" not found"))?;
        let users: Vec<String> = self
            .transports
            .iter()
            .flatten()
            .filter(|transport| {
                matches!(transport, WorkerTransport::WebRtc(webrtc)
                    if matches!(webrtc.sockets, TransportSockets::Server(slot) if slot == server_slot))
            })
            .map(|transport| transport.id().to_owned())
            .collect();
        for transport_id in users {
            self.remove_transport(&transport_id);
        }
        if let Some(mut server) = self.servers.get_mut(server_slot).and_then(Option::take) {
            self.release_socket_set(&mut server.sockets);
        }
        Ok(Response::Done)
    }

    fn create_plain_transport(
        &mut self,
        transport_id: String,
        listen_ip: IpAddr,
        port: PortChoice,
        rtcp_mux: bool,
        comedia: bool,
        srtp_profile: Option<SrtpProfile>,
    ) -> Result<Response, String> {
        self.check_new_transport_id(&transport_id)?;
        let rtp_socket = self
            .ports
            .bind_udp_at(listen_ip, port)
            .map_err(|error| error.to_string())?;
        let rtcp_socket = if rtcp_mux {
            None
        } else {
            match self.ports.bind_udp(listen_ip) {
                Ok(socket) => Some(socket),
                Err(error) => {
                    if let Ok(local) = rtp_socket.local_addr() {
                        self.ports.release(TransportProtocol::Udp, local);
                    }
                    return Err(error.to_string());
                }
            }
        };
        let srtp_key = match srtp_profile {
            Some(profile) => {
                let mut key = vec![0u8; profile.key_len() + profile.salt_len()];
                openssl::rand::rand_bytes(&mut key).map_err(|error| error.to_string())?;
                self.plain_srtp_keys
                    .insert(transport_id.clone(), (profile, key.clone()));
                Some(key)
            }
            None => None,
        };
        let transport = WorkerPlainTransport::new(
            transport_id.clone(),
            rtp_socket,
            rtcp_socket,
            comedia,
            srtp_profile.is_some(),
        )
        .map_err(|error| error.to_string())?;
        let locals = transport.locals();
        self.install(transport_id, WorkerTransport::Plain(Box::new(transport)))?;
        Ok(Response::PlainTransportCreated {
            local: locals[0],
            rtcp_local: locals.get(1).copied(),
            srtp_key,
        })
    }

    /// Puts a transport in a free slot and registers its sockets; on failure its ports are
    /// released.
    fn install(
        &mut self,
        transport_id: String,
        mut transport: WorkerTransport,
    ) -> Result<usize, String> {
        let slot = self
            .transports
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.transports.len());
        if let Err(error) = transport.register(self.poll.registry(), slot) {
            transport.deregister(self.poll.registry());
            for (protocol, local) in transport.locals() {
                self.ports.release(protocol, local);
            }
            self.plain_srtp_keys.remove(transport.id());
            return Err(error.to_string());
        }
        if slot == self.transports.len() {
            self.transports.push(Some(transport));
        } else {
            self.transports[slot] = Some(transport);
        }
        self.log(LogLevel::Debug, LogTag::Info, || {
            let locals: Vec<String> = self.transports[slot]
                .iter()
                .flat_map(WorkerTransport::locals)
                .map(|(protocol, address)| format!("{} {address}", protocol.as_str()))
                .collect();
            format!(
                "transport {transport_id} listening on {}",
                locals.join(", ")
            )
        });
        self.by_id.insert(transport_id, slot);
        Ok(slot)
    }

    /// Closes a transport (DTLS close_notify on its sockets), frees its ports and routes;
    /// `false` if there is no such transport.
    fn remove_transport(&mut self, transport_id: &str) -> bool {
        let Some(slot) = self.by_id.remove(transport_id) else {
            return false;
        };
        self.log(LogLevel::Debug, LogTag::Info, || {
            format!("transport {transport_id} closed")
        });
        self.with_sink(slot, |state, sink| state.close(sink));
        self.routing.remove_transport(slot);
        let Some(mut transport) = self.transports.get_mut(slot).and_then(Option::take) else {
            return true;
        };
        if let WorkerTransport::WebRtc(webrtc) = &transport {
            if let TransportSockets::Server(server_slot) = webrtc.sockets {
                if let Some(Some(server)) = self.servers.get_mut(server_slot) {
                    server.routes.forget(slot);
                }
            }
        }
        transport.deregister(self.poll.registry());
        for (protocol, local) in transport.locals() {
            self.ports.release(protocol, local);
        }
        self.plain_srtp_keys.remove(transport_id);
        true
    }

    fn close_all(&mut self) {
        let ids: Vec<String> = self.by_id.keys().cloned().collect();
        for transport_id in ids {
            self.remove_transport(&transport_id);
        }
        let servers: Vec<String> = self.servers_by_id.keys().cloned().collect();
        for server_id in servers {
            let _ = self.close_webrtc_server(&server_id);
        }
    }
}

/// The calling thread's CPU use (RUSAGE_THREAD) and the process's peak RSS.
fn thread_resource_usage() -> ResourceUsage {
    // SAFETY: rusage is plain data; getrusage fills it for the calling thread.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a live rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return ResourceUsage::default();
    }
    let millis = |time: libc::timeval| {
        (time.tv_sec.max(0) as u64) * 1000 + (time.tv_usec.max(0) as u64) / 1000
    };
    ResourceUsage {
        ru_utime: millis(usage.ru_utime),
        ru_stime: millis(usage.ru_stime),
        ru_maxrss: usage.ru_maxrss.max(0) as u64,
        ru_nvcsw: usage.ru_nvcsw.max(0) as u64,
        ru_nivcsw: usage.ru_nivcsw.max(0) as u64,
    }
}

/// How often sender and receiver reports go out (mediasoup's interval for video; audio
/// streams get them as often, which costs little).
const RTCP_INTERVAL: Duration = Duration::from_secs(1);

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The NTP times (64-bit, 32.32 fixed point) our sender reports carry: the wall clock when
/// the worker started, moved on by the monotonic clock. A report pairs its NTP time with the
/// RTP timestamp of the same instant; reading the wall clock apart from that instant would
/// add whatever time passed in between (a busy thread, a preempted one) to the pairing, and
/// receivers that align streams by reports (ffmpeg) would see it as timestamps jumping.
#[derive(Debug, Clone, Copy)]
struct NtpClock {
    origin: Instant,
    origin_ntp: u64,
}

impl NtpClock {
    fn now() -> Self {
        let since_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        NtpClock {
            origin: Instant::now(),
            origin_ntp: ((since_unix.as_secs() + NTP_UNIX_OFFSET) << 32) | fraction,
        }
    }

    /// The NTP time of `instant`.
    fn at(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.origin);
        let fraction = (u64::from(since.subsec_nanos()) << 32) / 1_000_000_000;
        self.origin_ntp
            .wrapping_add(since.as_secs() << 32)
            .wrapping_add(fraction)
    }
}

/// Bytes a consumer's copy may grow by: its MID extension (with a new extension block) and
/// the SRTP tag.
const EGRESS_HEADROOM: usize = 64;

/// Queues what a transport decrypted for the routing phase.
fn queue_media(forward: &mut ForwardQueue, slot: usize, received: Received, packet: &[u8]) {
    match received {
        Received::Rtp(len) => forward.push(slot, PacketKind::Rtp, &packet[..len]),
        Received::Rtcp(len) => forward.push(slot, PacketKind::Rtcp, &packet[..len]),
        Received::Nothing => {}
    }
}

/// The bytes of queued packet `index` (empty if it is gone).
fn packet_bytes(forward: &ForwardQueue, index: usize) -> &[u8] {
    forward.get(index).map_or(&[][..], |(_, _, packet)| packet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::certificate::DtlsCertificate;
    use crate::srtp::SrtpProfile;

    fn spawn(name: &str, ports: (u16, u16)) -> WorkerHandle {
        let certificate = DtlsCertificate::generate().unwrap();
        let context = Arc::new(DtlsContext::new(&certificate, &SrtpProfile::ALL).unwrap());
        WorkerHandle::spawn(
            WorkerSettings {
                name: name.to_owned(),
                rtc_min_port: ports.0,
                rtc_max_port: ports.1,
                log: LogFilter::default(),
            },
            context,
        )
        .unwrap()
    }

    fn wait_for(worker: &WorkerHandle, matches: impl Fn(&WorkerEvent) -> bool) -> WorkerEvent {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(event) = worker.events().drain().into_iter().find(|e| matches(e)) {
                return event;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no matching worker event within 5 s");
    }

    #[test]
    fn a_panicking_worker_dies_alone_and_says_why() {
        let mut doomed = spawn("doomed", (47_400, 47_409));
        let survivor = spawn("survivor", (47_410, 47_419));
        doomed.request(1, Request::Panic).unwrap();
        let exit = wait_for(&doomed, |event| matches!(event, WorkerEvent::Exited(_)));
        let WorkerEvent::Exited(WorkerExit::Died(message)) = exit else {
            panic!("expected a died exit, got {exit:?}");
        };
        assert!(message.contains("requested by a test"), "{message}");
        assert!(doomed.request(2, Request::Dump).is_err());
        doomed.close();

        survivor
            .request(
                3,
                Request::CreatePlainTransport {
                    transport_id: "t".into(),
                    listen_ip: "127.0.0.1".parse().unwrap(),
                    port: PortChoice::WorkerRange,
                    rtcp_mux: true,
                    comedia: true,
                    srtp_profile: None,
                },
            )
            .unwrap();
        let created = wait_for(&survivor, |event| {
            matches!(event, WorkerEvent::Response { id: 3, .. })
        });
        assert!(matches!(
            created,
            WorkerEvent::Response {
                result: Ok(Response::PlainTransportCreated { .. }),
                ..
            }
        ));
    }

    #[test]
    fn a_socket_flooded_faster_than_it_is_read_leaves_requests_served() {
        use crate::crypto::hmac_sha1::HmacSha1;
        use crate::packet::stun::{binding_request, BindingRequest, IceRole};
        use std::net::UdpSocket;
        use std::sync::atomic::{AtomicBool, Ordering};

        let worker = spawn("flooded", (47_420, 47_429));
        worker
            .request(
                1,
                Request::CreateWebRtcTransport {
                    transport_id: "flooded".into(),
                    listen: WebRtcListen::Own {
                        ip: "127.0.0.1".parse().unwrap(),
                        udp: Some(PortChoice::WorkerRange),
                        tcp: None,
                    },
                    ice_consent_timeout: None,
                },
            )
            .unwrap();
        let WorkerEvent::Response {
            result:
                Ok(Response::WebRtcTransportCreated {
                    ice_parameters,
                    locals,
                }),
            ..
        } = wait_for(&worker, |event| {
            matches!(event, WorkerEvent::Response { id: 1, .. })
        })
        else {
            panic!("no transport");
        };
        // Checks with the transport's username and a wrong password: each costs the worker
        // an HMAC and a 401 answer, more than it costs the sender.
        let mut check = Vec::new();
        let request = BindingRequest {
            transaction_id: [7; 12],
            remote_ufrag: &ice_parameters.username_fragment,
            local_ufrag: "flood",
            priority: 1,
            role: IceRole::Controlling { tiebreaker: 1 },
            use_candidate: false,
            nomination: None,
        };
        binding_request(&request, &HmacSha1::new(b"wrong"), &mut check).unwrap();
        let target = locals[0].1;
        let stop = Arc::new(AtomicBool::new(false));
        let flooding = Arc::clone(&stop);
        let flooder = std::thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut batch = SendBatch::default();
            while !flooding.load(Ordering::Relaxed) {
                while batch.push(target, &check) {}
                batch.flush(&socket);
            }
        });
        std::thread::sleep(Duration::from_millis(300));
        // Five requests, each given up on after 2 s (the flood stops before any assertion).
        let mut slowest = Duration::ZERO;
        for id in 10..15 {
            let asked = Instant::now();
            worker.request(id, Request::Dump).unwrap();
            let answered = |event: &WorkerEvent| matches!(event, WorkerEvent::Response { id: answered, .. } if *answered == id);
            while !worker.events().drain().iter().any(answered)
                && asked.elapsed() < Duration::from_secs(2)
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            slowest = slowest.max(asked.elapsed());
        }
        stop.store(true, Ordering::Relaxed);
        flooder.join().unwrap();
        assert!(slowest < Duration::from_millis(500), "{slowest:?}");
    }

    #[test]
    fn rtcp_compounds_that_do_not_parse_are_counted() {
        let worker = spawn("rtcp", (47_430, 47_439));
        let direct = || "direct".to_owned();
        worker
            .request(
                1,
                Request::CreateDirectTransport {
                    transport_id: direct(),
                },
            )
            .unwrap();
        wait_for(&worker, |event| {
            matches!(event, WorkerEvent::Response { id: 1, .. })
        });
        let receiver_report = vec![0x80, 201, 0, 1, 0, 0, 0, 7];
        let packets = [
            receiver_report.clone(),
            // A receiver report, then a NACK whose length runs past the datagram.
            [receiver_report.clone(), vec![0x81, 205, 0, 9, 0, 0, 0, 7]].concat(),
            // A sender report announcing 31 report blocks and carrying none.
            vec![
                0x9f, 200, 0, 6, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        ];
        for (id, packet) in (2..).zip(packets) {
            worker
                .request(
                    id,
                    Request::SendDirectPacket {
                        transport_id: direct(),
                        rtcp: true,
                        packet,
                    },
                )
                .unwrap();
        }
        worker
            .request(
                9,
                Request::GetTransportStats {
                    transport_id: direct(),
                },
            )
            .unwrap();
        let WorkerEvent::Response {
            result: Ok(Response::TransportStats(stats)),
            ..
        } = wait_for(&worker, |event| {
            matches!(event, WorkerEvent::Response { id: 9, .. })
        })
        else {
            panic!("no stats");
        };
        assert_eq!(stats.rtcp_packets_received, 3);
        assert_eq!(stats.rtcp_packets_malformed, 2);
    }
}
