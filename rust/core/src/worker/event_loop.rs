//! The worker thread: one epoll loop (through mio) that owns the worker's sockets, its
//! transports and its routers, and does all their I/O. Commands arrive through a channel
//! plus a waker; responses and events leave through the [`EventQueue`].
//!
//! The loop reads a socket, hands what its transport decrypted to the transport's router
//! (the routing phase: the router decides, the loop sends what it sends through the
//! transports), runs the transports' and routers' timers, and answers requests, each by the
//! entity it names.

mod webrtc_servers;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use mio::{Events, Poll, Token, Waker};

use super::direct_transport::WorkerDirectTransport;
use super::egress_queue::EgressQueue;
use super::event_queue::EventQueue;
use super::forward_queue::{ForwardQueue, PacketKind};
use super::log::{LogFilter, LogLevel, LogTag};
use super::messages::{
    ListenAddress, Request, RequestError, RequestId, ResourceUsage, Response, RouterRequest,
    TransportEvent, TransportRequest, WebRtcListen, WebRtcServerRequest, WorkerEvent, WorkerExit,
    WorkerRequest,
};
use super::plain_transport::WorkerPlainTransport;
use super::ports::{PortAllocator, PortChoice, PortError};
use super::socket_set::{SocketSet, MAX_LISTEN_ADDRESSES};
use super::transport::{Transport, TransportIo, TOKENS_PER_SLOT};
use super::udp_batch::{RecvBatch, SendBatch};
use super::webrtc_server::{Handoff, WorkerWebRtcServer};
use super::webrtc_transport::{TransportSockets, WorkerWebRtcTransport, MAX_TCP_CONNECTIONS};
use crate::dtls::DtlsContext;
use crate::ice::{IceParameters, TransportProtocol, TransportTuple};
use crate::rtc::router::{
    Router, RouterOutput, RtcpParse, TransportIndex, TransportKey, MAX_PACKET_LEN,
};
use crate::rtc::webrtc_connection::WebRtcConnection;
use crate::sctp::SctpConfig;
use crate::srtp::SrtpProfile;

/// The waker's token.
const WAKER: Token = Token(usize::MAX);
/// Tokens from here on belong to WebRtcServers (transports use the range below).
const SERVER_TOKEN_BASE: usize = usize::MAX / 2;
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
    /// What another member of a WebRtcServer hands this worker.
    Handoff(Handoff),
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
            own_commands: commands.clone(),
            waker: Arc::clone(&waker),
            events: Arc::clone(&events),
            ports,
            dtls_context,
            routers: Vec::new(),
            routers_by_id: HashMap::new(),
            transports: Vec::new(),
            transports_by_id: HashMap::new(),
            servers: Vec::new(),
            servers_by_id: HashMap::new(),
            touched: Vec::new(),
            learned: Vec::new(),
            unfinished: Vec::new(),
            forward: ForwardQueue::default(),
            routing: ForwardQueue::default(),
            egress_queue: EgressQueue::default(),
            receive: RecvBatch::default(),
            send: SendBatch::default(),
            transport_events: Vec::new(),
            wall_clock: WallClock::start(),
            data: data_channels::WorkerData::default(),
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

/// The worker's wall clock: read once, when the worker starts, and moved on by the monotonic
/// clock, so every router of the worker pairs NTP and RTP times alike (see the router's
/// wall clock) and a step of the system clock never reaches the reports.
#[derive(Debug, Clone, Copy)]
struct WallClock {
    started: Instant,
    started_since_unix_epoch: Duration,
}

impl WallClock {
    fn start() -> Self {
        WallClock {
            started: Instant::now(),
            started_since_unix_epoch: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
        }
    }

    /// The time since the Unix epoch at `instant`.
    fn since_unix_epoch(&self, instant: Instant) -> Duration {
        self.started_since_unix_epoch + instant.saturating_duration_since(self.started)
    }
}

/// A router of the worker.
#[derive(Debug)]
struct RouterEntry {
    id: String,
    router: Router,
}

/// A transport of the worker: its I/O, and where its router keeps its routing state.
#[derive(Debug)]
struct TransportEntry {
    /// Its router's slot.
    router: usize,
    /// Its index in that router.
    route: TransportIndex,
    transport: Box<dyn Transport>,
}

/// The state the worker thread owns.
struct Worker {
    log: LogFilter,
    poll: Poll,
    commands: Receiver<Command>,
    /// This worker's own command channel and waker, for the mailboxes it gives WebRtcServers.
    own_commands: Sender<Command>,
    waker: Arc<Waker>,
    events: Arc<EventQueue<WorkerEvent>>,
    ports: PortAllocator,
    dtls_context: Arc<DtlsContext>,
    routers: Vec<Option<RouterEntry>>,
    routers_by_id: HashMap<String, usize>,
    /// Transport slots; see [`TOKENS_PER_SLOT`] for socket tokens.
    transports: Vec<Option<TransportEntry>>,
    transports_by_id: HashMap<String, usize>,
    /// WebRtcServer slots; their tokens start at [`SERVER_TOKEN_BASE`].
    servers: Vec<Option<WorkerWebRtcServer>>,
    servers_by_id: HashMap<String, usize>,
    /// Transports a server read touched, reused between reads.
    touched: Vec<usize>,
    /// UDP tuples a server read saw ICE validate, reused between reads.
    learned: Vec<TransportTuple>,
    /// Sockets (tokens) whose turn ended with data left, read again next round.
    unfinished: Vec<usize>,
    /// What the last read decrypted, for the routing phase.
    forward: ForwardQueue,
    /// The packets of the routing phase under way: the read queue is swapped in here (both
    /// allocated once), so the routers can send through the transports' I/O while they
    /// route what was read.
    routing: ForwardQueue,
    /// Media sent during a routing phase, flushed at its end.
    egress_queue: EgressQueue,
    receive: RecvBatch,
    send: SendBatch,
    /// Transport state changes being published, reused.
    transport_events: Vec<TransportEvent>,
    /// The wall clock its routers are created with.
    wall_clock: WallClock,
    /// DataChannels: data producers and consumers, and the data path's buffers.
    data: data_channels::WorkerData,
}

/// Where what a router sends goes: the worker's transports, by slot (the transport key a
/// router holds is the transport's slot; the I/O state's slot is set per send, from
/// [`OUTLET_SLOT`]).
struct Outlet<'a> {
    transports: &'a mut [Option<TransportEntry>],
    io: TransportIo<'a>,
}

/// The slot an [`Outlet`]'s I/O state starts with, before its first send names one.
const OUTLET_SLOT: usize = usize::MAX;

impl RouterOutput for Outlet<'_> {
    fn send_rtp(&mut self, transport: TransportKey, buffer: &mut [u8], len: usize) {
        if let Some(Some(entry)) = self.transports.get_mut(transport.0) {
            self.io.slot = transport.0;
            entry.transport.send_rtp(buffer, len, &mut self.io);
        }
    }

    fn send_rtcp(&mut self, transport: TransportKey, buffer: &mut [u8], len: usize) {
        if let Some(Some(entry)) = self.transports.get_mut(transport.0) {
            self.io.slot = transport.0;
            entry.transport.send_rtcp(buffer, len, &mut self.io);
        }
    }
}

/// Borrows the worker's I/O state for a transport in `slot` (a macro rather than a method:
/// the borrows are of fields, so the transports and routers stay usable beside it).
macro_rules! transport_io {
    ($worker:ident, $slot:expr, $now:expr) => {
        TransportIo {
            slot: $slot,
            now: $now,
            registry: $worker.poll.registry(),
            servers: &mut $worker.servers,
            receive: &mut $worker.receive,
            send: &mut $worker.send,
            egress: &mut $worker.egress_queue,
            forward: &mut $worker.forward,
            events: &$worker.events,
        }
    };
}

// After the macro, which it uses.
#[path = "data_channels.rs"]
mod data_channels;

impl Worker {
    fn run(mut self) -> io::Result<()> {
        let mut readiness = Events::with_capacity(EVENTS_PER_POLL);
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
                    // Requests may close sockets the queued media is for.
                    self.egress_queue.flush();
                    if self.handle_commands() {
                        self.close_all();
                        return Ok(());
                    }
                    continue;
                }
                self.on_socket_ready(event.token().0, event.is_writable(), now);
            }
            for token in unfinished {
                self.on_socket_ready(token, false, now);
            }
            // The media every read of this round routed leaves together: a consumer's
            // copies of packets that arrived on different sockets at once (everyone in an
            // audio room speaks on the same 20 ms beat) share one sendmmsg, as one GSO
            // message when their sizes allow.
            self.egress_queue.flush();
            self.run_timers(now);
            self.publish_router_events();
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let transports = self
            .transports
            .iter()
            .flatten()
            .filter_map(|entry| entry.transport.poll_timeout());
        let routers = self
            .routers
            .iter()
            .flatten()
            .map(|entry| entry.router.poll_timeout());
        transports.chain(routers).min()
    }

    fn run_timers(&mut self, now: Instant) {
        for slot in 0..self.transports.len() {
            let Some(Some(entry)) = self.transports.get_mut(slot) else {
                continue;
            };
            if entry
                .transport
                .poll_timeout()
                .is_some_and(|deadline| deadline <= now)
            {
                entry
                    .transport
                    .on_timeout(&mut transport_io!(self, slot, now));
                self.publish_transport_events(slot);
            }
        }
        // What a timeout read (a plain transport's look at its sender) goes to its router.
        self.route(now);
        for slot in 0..self.routers.len() {
            let Some(Some(entry)) = self.routers.get_mut(slot) else {
                continue;
            };
            if entry.router.poll_timeout() > now {
                continue;
            }
            let mut outlet = Outlet {
                transports: &mut self.transports,
                io: transport_io!(self, OUTLET_SLOT, now),
            };
            entry.router.handle_timeout(now, &mut outlet);
        }
        self.egress_queue.flush();
    }

    /// A socket is ready: read and route what was read, up to [`READS_PER_TURN`] times; a
    /// socket with data left joins `unfinished`.
    fn on_socket_ready(&mut self, token: usize, writable: bool, now: Instant) {
        let mut more = false;
        for _ in 0..READS_PER_TURN {
            more = if token >= SERVER_TOKEN_BASE {
                self.read_server(token - SERVER_TOKEN_BASE, writable, now)
            } else {
                self.read_transport(
                    token / TOKENS_PER_SLOT,
                    token % TOKENS_PER_SLOT,
                    writable,
                    now,
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
    fn read_transport(&mut self, slot: usize, index: usize, writable: bool, now: Instant) -> bool {
        let Some(Some(entry)) = self.transports.get_mut(slot) else {
            return false;
        };
        let more = entry
            .transport
            .read(index, writable, &mut transport_io!(self, slot, now));
        self.publish_transport_events(slot);
        more
    }

    /// The routing phase: every packet the last read decrypted goes to its transport's
    /// router, which sends its copies and feedback through the transports into the egress
    /// queue. The queue is sent when the round of reads ends (or when it fills): only
    /// requests close sockets, and the queue is sent before they are handled.
    fn route(&mut self, now: Instant) {
        if self.forward.len() == 0 {
            return;
        }
        std::mem::swap(&mut self.forward, &mut self.routing);
        for index in 0..self.routing.len() {
            let Some((slot, kind, packet)) = self.routing.get_mut(index) else {
                continue;
            };
            let Some(Some(entry)) = self.transports.get(slot) else {
                continue;
            };
            let (router_slot, route) = (entry.router, entry.route);
            let Some(Some(router)) = self.routers.get_mut(router_slot) else {
                continue;
            };
            let mut outlet = Outlet {
                transports: &mut self.transports,
                io: transport_io!(self, OUTLET_SLOT, now),
            };
            let parse = match kind {
                PacketKind::Rtp => {
                    router.router.handle_rtp(route, packet, now, &mut outlet);
                    RtcpParse::Whole
                }
                PacketKind::Rtcp => router.router.handle_rtcp(route, packet, now, &mut outlet),
            };
            if parse == RtcpParse::Malformed {
                if let Some(Some(entry)) = self.transports.get_mut(slot) {
                    entry.transport.count_malformed_rtcp();
                }
            }
        }
        self.routing.clear();
    }

    fn publish_transport_events(&mut self, slot: usize) {
        // What its SCTP association did (state, messages to route) comes first.
        self.pump_data(slot, Instant::now());
        let Some(Some(entry)) = self.transports.get_mut(slot) else {
            return;
        };
        entry.transport.collect_events(&mut self.transport_events);
        if self.transport_events.is_empty() {
            return;
        }
        let id = entry.transport.id().to_owned();
        for event in std::mem::take(&mut self.transport_events) {
            self.log_event(&id, &event);
            self.events.push(WorkerEvent::Transport {
                transport_id: id.clone(),
                event,
            });
        }
    }

    fn publish_router_events(&mut self) {
        for entry in self.routers.iter_mut().flatten() {
            for event in entry.router.take_events() {
                self.events.push(WorkerEvent::Router {
                    router_id: entry.id.clone(),
                    event,
                });
            }
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
            TransportEvent::SctpStateChanged(state) => {
                self.log(LogLevel::Debug, LogTag::Sctp, || {
                    format!("transport {transport_id}: SCTP {}", state.as_str())
                })
            }
        }
    }

    /// Handles every queued command; `true` when the worker must close.
    fn handle_commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(Command::Request(id, request)) => {
                    let result = self.handle_request(request, Instant::now());
                    self.events.push(WorkerEvent::Response { id, result });
                    self.publish_router_events();
                }
                Ok(Command::Handoff(handoff)) => {
                    self.take_handoff(handoff, Instant::now());
                    self.publish_router_events();
                }
                Ok(Command::Close) | Err(TryRecvError::Disconnected) => return true,
                Err(TryRecvError::Empty) => return false,
            }
        }
    }

    /// Hands a request to the entity it names.
    fn handle_request(&mut self, request: Request, now: Instant) -> Result<Response, RequestError> {
        match request {
            Request::Worker(request) => self.handle_worker_request(request, now),
            Request::WebRtcServer { server_id, request } => {
                self.handle_server_request(&server_id, request)
            }
            Request::Router { router_id, request } => {
                self.handle_router_request(&router_id, request, now)
            }
            Request::Transport {
                transport_id,
                request,
            } => self.handle_transport_request(&transport_id, request, now),
            Request::Producer {
                router_id,
                producer_id,
                request,
            } => {
                let slot = self.router_slot(&router_id)?;
                let router = self.router_mut(slot)?;
                Ok(router
                    .handle_producer_request(&producer_id, request, now)?
                    .into())
            }
            Request::Consumer {
                router_id,
                consumer_id,
                request,
            } => {
                let slot = self.router_slot(&router_id)?;
                let Some(Some(entry)) = self.routers.get_mut(slot) else {
                    return Err(RequestError::not_found("router", &router_id));
                };
                let mut outlet = Outlet {
                    transports: &mut self.transports,
                    io: transport_io!(self, OUTLET_SLOT, now),
                };
                let response =
                    entry
                        .router
                        .handle_consumer_request(&consumer_id, request, now, &mut outlet);
                self.egress_queue.flush();
                Ok(response?.into())
            }
            Request::DataProducer {
                data_producer_id,
                request,
            } => self.handle_data_producer_request(&data_producer_id, request, now),
            Request::DataConsumer {
                data_consumer_id,
                request,
            } => self.handle_data_consumer_request(&data_consumer_id, request, now),
            Request::RtpObserver {
                router_id,
                observer_id,
                request,
            } => {
                let slot = self.router_slot(&router_id)?;
                let router = self.router_mut(slot)?;
                Ok(router
                    .handle_rtp_observer_request(&observer_id, request, now)?
                    .into())
            }
        }
    }

    fn handle_worker_request(
        &mut self,
        request: WorkerRequest,
        now: Instant,
    ) -> Result<Response, RequestError> {
        match request {
            WorkerRequest::CreateRouter { router_id } => {
                if self.routers_by_id.contains_key(&router_id) {
                    return Err(RequestError::invalid(
                        "router_id",
                        format!("a router with id \"{router_id}\" already exists"),
                    ));
                }
                let seed = crate::crypto::random::u64()
                    .map_err(|error| RequestError::Resource(error.to_string()))?;
                let entry = RouterEntry {
                    id: router_id.clone(),
                    router: Router::new(now, self.wall_clock.since_unix_epoch(now), seed),
                };
                let slot = put(&mut self.routers, entry);
                self.routers_by_id.insert(router_id, slot);
                Ok(Response::Done)
            }
            WorkerRequest::CreateWebRtcServer { server_id, listens } => {
                self.create_webrtc_server(server_id, &listens)
            }
            WorkerRequest::JoinWebRtcServer { server_id } => self.join_webrtc_server(server_id),
            WorkerRequest::RehomeWebRtcServer { server_id } => {
                self.rehome_webrtc_server(&server_id)
            }
            WorkerRequest::GetResourceUsage => Ok(Response::ResourceUsage(thread_resource_usage())),
            WorkerRequest::UpdateSettings { log } => {
                self.log = log;
                Ok(Response::Done)
            }
            WorkerRequest::Dump => Ok(Response::WorkerDump {
                router_ids: self.routers_by_id.keys().cloned().collect(),
                webrtc_server_ids: self.servers_by_id.keys().cloned().collect(),
                transport_ids: self.transports_by_id.keys().cloned().collect(),
            }),
            WorkerRequest::Panic => panic!("requested by a test (the panic debug hook)"),
        }
    }

    fn handle_server_request(
        &mut self,
        server_id: &str,
        request: WebRtcServerRequest,
    ) -> Result<Response, RequestError> {
        match request {
            WebRtcServerRequest::Close => self.close_webrtc_server(server_id),
            WebRtcServerRequest::Dump => self.dump_webrtc_server(server_id),
        }
    }

    fn router_slot(&self, router_id: &str) -> Result<usize, RequestError> {
        self.routers_by_id
            .get(router_id)
            .copied()
            .ok_or_else(|| RequestError::not_found("router", router_id))
    }

    fn router_mut(&mut self, slot: usize) -> Result<&mut Router, RequestError> {
        self.routers
            .get_mut(slot)
            .and_then(Option::as_mut)
            .map(|entry| &mut entry.router)
            .ok_or_else(|| RequestError::NotFound("router".into()))
    }

    fn handle_router_request(
        &mut self,
        router_id: &str,
        request: RouterRequest,
        now: Instant,
    ) -> Result<Response, RequestError> {
        let router = self.router_slot(router_id)?;
        match request {
            RouterRequest::Close => {
                let transports: Vec<String> = self.transport_ids_of(router);
                for transport_id in transports {
                    self.remove_transport(&transport_id, now);
                }
                self.routers_by_id.remove(router_id);
                self.routers[router] = None;
                Ok(Response::Done)
            }
            RouterRequest::Dump => Ok(Response::RouterDump {
                transport_ids: self.transport_ids_of(router),
                dump: self.router_mut(router)?.dump(),
            }),
            RouterRequest::CreateWebRtcTransport {
                transport_id,
                listen,
                ice_consent_timeout,
                sctp,
            } => self.create_webrtc_transport(
                router,
                transport_id,
                listen,
                ice_consent_timeout,
                sctp,
            ),
            RouterRequest::CreatePlainTransport {
                transport_id,
                listen_ip,
                port,
                rtcp_mux,
                comedia,
                srtp_profile,
                sctp,
            } => self.create_plain_transport(
                router,
                transport_id,
                listen_ip,
                port,
                rtcp_mux,
                comedia,
                srtp_profile,
                sctp,
            ),
            RouterRequest::CreateDirectTransport { transport_id } => {
                self.check_new_transport_id(&transport_id)?;
                let transport = WorkerDirectTransport::new(transport_id);
                self.install(router, Box::new(transport))?;
                Ok(Response::Done)
            }
            RouterRequest::CreateRtpObserver {
                observer_id,
                options,
            } => Ok(self
                .router_mut(router)?
                .create_rtp_observer(observer_id, options, now)?
                .into()),
        }
    }

    fn transport_ids_of(&self, router: usize) -> Vec<String> {
        self.transports
            .iter()
            .flatten()
            .filter(|entry| entry.router == router)
            .map(|entry| entry.transport.id().to_owned())
            .collect()
    }

    fn handle_transport_request(
        &mut self,
        transport_id: &str,
        request: TransportRequest,
        now: Instant,
    ) -> Result<Response, RequestError> {
        let slot = self
            .transports_by_id
            .get(transport_id)
            .copied()
            .ok_or_else(|| RequestError::not_found("transport", transport_id))?;
        let Some(Some(entry)) = self.transports.get_mut(slot) else {
            return Err(RequestError::not_found("transport", transport_id));
        };
        let (router_slot, route) = (entry.router, entry.route);
        // What is about routing is the router's; the rest is the transport's own.
        match request {
            TransportRequest::Close => {
                self.remove_transport(transport_id, now);
                Ok(Response::Done)
            }
            TransportRequest::GetStats => {
                let mut stats = entry.transport.stats();
                stats.bitrates = (
                    stats.received_rate.bits_per_second(now),
                    stats.sent_rate.bits_per_second(now),
                );
                stats.routing = self.router_mut(router_slot)?.transport_figures(route, now);
                Ok(Response::TransportStats(Box::new(stats)))
            }
            TransportRequest::SetBitrates {
                max_incoming,
                outgoing,
            } => {
                self.router_mut(router_slot)?
                    .set_transport_bitrates(route, max_incoming, outgoing);
                Ok(Response::Done)
            }
            TransportRequest::Produce {
                producer_id,
                spec,
                paused,
            } => {
                self.router_mut(router_slot)?.add_producer(
                    route,
                    producer_id,
                    &spec,
                    paused,
                    now,
                )?;
                Ok(Response::Done)
            }
            TransportRequest::ProduceData {
                data_producer_id,
                stream,
                paused,
            } => self.produce_data(slot, data_producer_id, stream, paused),
            TransportRequest::ConsumeData {
                data_consumer_id,
                data_producer_id,
                stream,
                paused,
                subchannels,
            } => self.consume_data(
                slot,
                data_consumer_id,
                &data_producer_id,
                stream,
                paused,
                subchannels,
                now,
            ),
            TransportRequest::Consume {
                consumer_id,
                producer_id,
                spec,
                paused,
            } => {
                self.router_mut(router_slot)?.add_consumer(
                    route,
                    consumer_id,
                    &producer_id,
                    *spec,
                    paused,
                )?;
                Ok(Response::Done)
            }
            own => {
                let response = entry
                    .transport
                    .handle_request(own, &mut transport_io!(self, slot, now));
                self.publish_transport_events(slot);
                // A DirectTransport's packet is routed at once, as if just read.
                self.route(now);
                response
            }
        }
    }

    fn check_new_transport_id(&self, transport_id: &str) -> Result<(), RequestError> {
        if self.transports_by_id.contains_key(transport_id) {
            return Err(RequestError::invalid(
                "transport_id",
                format!("a transport with id \"{transport_id}\" already exists"),
            ));
        }
        Ok(())
    }

    fn create_webrtc_transport(
        &mut self,
        router: usize,
        transport_id: String,
        listen: WebRtcListen,
        ice_consent_timeout: Option<Duration>,
        sctp: Option<SctpConfig>,
    ) -> Result<Response, RequestError> {
        self.check_new_transport_id(&transport_id)?;
        let (sockets, server_slot) = match listen {
            WebRtcListen::Own(listens) => (
                TransportSockets::Own(self.bind_socket_set(
                    &listens,
                    MAX_TCP_CONNECTIONS,
                    false,
                )?),
                None,
            ),
            WebRtcListen::Server(server_id) => {
                let server_slot = *self
                    .servers_by_id
                    .get(&server_id)
                    .ok_or_else(|| RequestError::not_found("WebRtcServer", &server_id))?;
                (TransportSockets::Server(server_slot), Some(server_slot))
            }
        };
        let locals = match &sockets {
            TransportSockets::Own(own) => own.locals(),
            TransportSockets::Server(slot) => self.servers[*slot]
                .as_ref()
                .map(|server| server.shared.locals().to_vec())
                .unwrap_or_default(),
        };
        let parameters =
            IceParameters::generate().map_err(|error| RequestError::Resource(error.to_string()))?;
        let mut connection = WebRtcConnection::new(
            parameters.clone(),
            ice_consent_timeout,
            Arc::clone(&self.dtls_context),
        );
        if let Some(config) = sctp {
            connection = connection.with_sctp(config);
        }
        let transport = WorkerWebRtcTransport::new(transport_id, sockets, connection);
        let slot = self.install(router, Box::new(transport))?;
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

    /// Binds, on each address, a UDP socket and/or a TCP listener at the chosen ports
    /// (`shared`: a WebRtcServer's, see `tuple_sockets`); on failure nothing stays bound.
    fn bind_socket_set(
        &mut self,
        listens: &[ListenAddress],
        max_connections: usize,
        shared: bool,
    ) -> Result<SocketSet, RequestError> {
        if listens.is_empty() || listens.len() > MAX_LISTEN_ADDRESSES {
            return Err(RequestError::invalid(
                "listen_infos",
                format!("between 1 and {MAX_LISTEN_ADDRESSES} addresses"),
            ));
        }
        if listens
            .iter()
            .any(|listen| listen.udp.is_none() && listen.tcp.is_none())
        {
            return Err(RequestError::invalid(
                "listen_infos",
                "at least one of UDP and TCP is needed",
            ));
        }
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        let mut bound = Vec::new();
        for listen in listens {
            match self.bind_listen_address(listen, shared, &mut bound) {
                Ok((socket, listener)) => {
                    udp.extend(socket);
                    tcp.extend(listener.map(mio::net::TcpListener::from_std));
                }
                Err(error) => {
                    for (protocol, local) in bound {
                        self.ports.release(protocol, local);
                    }
                    return Err(RequestError::Resource(error.to_string()));
                }
            }
        }
        Ok(SocketSet::new(udp, tcp, max_connections))
    }

    /// Binds one address's UDP socket and/or TCP listener, noting in `bound` what it bound.
    fn bind_listen_address(
        &mut self,
        listen: &ListenAddress,
        shared: bool,
        bound: &mut Vec<(TransportProtocol, std::net::SocketAddr)>,
    ) -> Result<(Option<std::net::UdpSocket>, Option<std::net::TcpListener>), PortError> {
        let socket = match listen.udp {
            Some(port) if shared => Some(self.ports.bind_shared_udp_at(listen.ip, port)?),
            Some(port) => Some(self.ports.bind_udp_at(listen.ip, port)?),
            None => None,
        };
        bound.extend(
            socket
                .as_ref()
                .and_then(|socket| socket.local_addr().ok())
                .map(|local| (TransportProtocol::Udp, local)),
        );
        let listener = match listen.tcp {
            Some(port) if shared => Some(self.ports.bind_shared_tcp_at(listen.ip, port)?),
            Some(port) => Some(self.ports.bind_tcp_at(listen.ip, port)?),
            None => None,
        };
        bound.extend(
            listener
                .as_ref()
                .and_then(|listener| listener.local_addr().ok())
                .map(|local| (TransportProtocol::Tcp, local)),
        );
        Ok((socket, listener))
    }

    /// Deregisters a socket set and returns its ports.
    fn release_socket_set(&mut self, sockets: &mut SocketSet) {
        sockets.deregister(self.poll.registry());
        for (protocol, local) in sockets.locals() {
            self.ports.release(protocol, local);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create_plain_transport(
        &mut self,
        router: usize,
        transport_id: String,
        listen_ip: IpAddr,
        port: PortChoice,
        rtcp_mux: bool,
        comedia: bool,
        srtp_profile: Option<SrtpProfile>,
        sctp: Option<SctpConfig>,
    ) -> Result<Response, RequestError> {
        self.check_new_transport_id(&transport_id)?;
        let resource = |error: super::ports::PortError| RequestError::Resource(error.to_string());
        // Shareable with the socket connected to the remote end that the transport opens
        // once it knows it; not on the IPv6 wildcard, which sharing would make IPv6-only.
        let rtp_socket = if listen_ip == IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED) {
            self.ports.bind_udp_at(listen_ip, port)
        } else {
            self.ports.bind_reusable_udp_at(listen_ip, port)
        }
        .map_err(resource)?;
        let mut bound: Vec<std::net::SocketAddr> = rtp_socket.local_addr().into_iter().collect();
        let rtcp_socket = if rtcp_mux {
            None
        } else {
            match self.ports.bind_udp(listen_ip) {
                Ok(socket) => {
                    bound.extend(socket.local_addr());
                    Some(socket)
                }
                Err(error) => {
                    for local in bound {
                        self.ports.release(TransportProtocol::Udp, local);
                    }
                    return Err(resource(error));
                }
            }
        };
        let transport = match WorkerPlainTransport::new(
            transport_id,
            rtp_socket,
            rtcp_socket,
            comedia,
            srtp_profile,
            sctp,
        ) {
            Ok(transport) => transport,
            Err(error) => {
                for local in bound {
                    self.ports.release(TransportProtocol::Udp, local);
                }
                return Err(error);
            }
        };
        let locals = transport.locals();
        let srtp_key = transport.local_srtp_key().map(<[u8]>::to_vec);
        self.install(router, Box::new(transport))?;
        Ok(Response::PlainTransportCreated {
            local: locals[0].1,
            rtcp_local: locals.get(1).map(|(_, address)| *address),
            srtp_key,
        })
    }

    /// Puts a transport of `router` in a free slot, registers its sockets and gives it its
    /// routing state; on failure its ports are released.
    fn install(
        &mut self,
        router: usize,
        mut transport: Box<dyn Transport>,
    ) -> Result<usize, RequestError> {
        let slot = self
            .transports
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.transports.len());
        let registered = transport.register(self.poll.registry(), slot * TOKENS_PER_SLOT);
        let router_state = self
            .routers
            .get_mut(router)
            .and_then(Option::as_mut)
            .map(|entry| &mut entry.router);
        let (Ok(()), Some(router_state)) = (registered.as_ref(), router_state) else {
            transport.deregister(self.poll.registry());
            for (protocol, local) in transport.locals() {
                self.ports.release(protocol, local);
            }
            return Err(match registered {
                Err(error) => RequestError::Resource(error.to_string()),
                Ok(()) => RequestError::NotFound("router".into()),
            });
        };
        let route = router_state.add_transport(TransportKey(slot));
        let transport_id = transport.id().to_owned();
        self.log(LogLevel::Debug, LogTag::Info, || {
            let locals: Vec<String> = transport
                .locals()
                .iter()
                .map(|(protocol, address)| format!("{} {address}", protocol.as_str()))
                .collect();
            format!(
                "transport {transport_id} listening on {}",
                locals.join(", ")
            )
        });
        let entry = TransportEntry {
            router,
            route,
            transport,
        };
        if slot == self.transports.len() {
            self.transports.push(Some(entry));
        } else {
            self.transports[slot] = Some(entry);
        }
        self.transports_by_id.insert(transport_id, slot);
        Ok(slot)
    }

    /// Closes a transport (DTLS close_notify on its sockets), its routing state (its
    /// consumers, its producers and their consumers), and frees its ports.
    fn remove_transport(&mut self, transport_id: &str, now: Instant) {
        let Some(slot) = self.transports_by_id.remove(transport_id) else {
            return;
        };
        self.log(LogLevel::Debug, LogTag::Info, || {
            format!("transport {transport_id} closed")
        });
        let Some(mut entry) = self.transports.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.remove_transport_data(slot, now);
        entry.transport.close(&mut transport_io!(self, slot, now));
        // What is queued for its sockets (its goodbyes included) leaves before they close.
        self.egress_queue.flush();
        if let Some(Some(router)) = self.routers.get_mut(entry.router) {
            router.router.remove_transport(entry.route);
        }
        if let Some(server_slot) = entry.transport.webrtc_server() {
            self.forget_server_transport(server_slot, slot);
        }
        entry.transport.deregister(self.poll.registry());
        for (protocol, local) in entry.transport.locals() {
            self.ports.release(protocol, local);
        }
    }

    fn close_all(&mut self) {
        let now = Instant::now();
        let ids: Vec<String> = self.transports_by_id.keys().cloned().collect();
        for transport_id in ids {
            self.remove_transport(&transport_id, now);
        }
        let servers: Vec<String> = self.servers_by_id.keys().cloned().collect();
        for server_id in servers {
            let _ = self.close_webrtc_server(&server_id);
        }
    }
}

/// Puts `value` in the first free slot; its slot.
fn put<T>(slots: &mut Vec<Option<T>>, value: T) -> usize {
    match slots.iter().position(Option::is_none) {
        Some(slot) => {
            slots[slot] = Some(value);
            slot
        }
        None => {
            slots.push(Some(value));
            slots.len() - 1
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

// The receive slots and the routers' copy buffers agree on the largest packet.
const _: () = assert!(MAX_PACKET_LEN == super::udp_batch::SLOT_LEN);

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

    fn router_request(router_id: &str, request: RouterRequest) -> Request {
        Request::Router {
            router_id: router_id.to_owned(),
            request,
        }
    }

    /// Creates router `router_id` and waits for it (request id 1000).
    fn create_router(worker: &WorkerHandle, router_id: &str) {
        let request = WorkerRequest::CreateRouter {
            router_id: router_id.to_owned(),
        };
        worker.request(1000, Request::Worker(request)).unwrap();
        let created = wait_for(worker, |event| {
            matches!(event, WorkerEvent::Response { id: 1000, .. })
        });
        assert!(matches!(
            created,
            WorkerEvent::Response {
                result: Ok(Response::Done),
                ..
            }
        ));
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
        doomed
            .request(1, Request::Worker(WorkerRequest::Panic))
            .unwrap();
        let exit = wait_for(&doomed, |event| matches!(event, WorkerEvent::Exited(_)));
        let WorkerEvent::Exited(WorkerExit::Died(message)) = exit else {
            panic!("expected a died exit, got {exit:?}");
        };
        assert!(message.contains("requested by a test"), "{message}");
        assert!(doomed
            .request(2, Request::Worker(WorkerRequest::Dump))
            .is_err());
        doomed.close();

        create_router(&survivor, "r");
        survivor
            .request(
                3,
                router_request(
                    "r",
                    RouterRequest::CreatePlainTransport {
                        transport_id: "t".into(),
                        listen_ip: "127.0.0.1".parse().unwrap(),
                        port: PortChoice::WorkerRange,
                        rtcp_mux: true,
                        comedia: true,
                        srtp_profile: None,
                        sctp: None,
                    },
                ),
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
        create_router(&worker, "r");
        worker
            .request(
                1,
                router_request(
                    "r",
                    RouterRequest::CreateWebRtcTransport {
                        transport_id: "flooded".into(),
                        listen: WebRtcListen::Own(vec![ListenAddress {
                            ip: "127.0.0.1".parse().unwrap(),
                            udp: Some(PortChoice::WorkerRange),
                            tcp: None,
                        }]),
                        ice_consent_timeout: None,
                        sctp: None,
                    },
                ),
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
            worker
                .request(id, Request::Worker(WorkerRequest::Dump))
                .unwrap();
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
        create_router(&worker, "r");
        worker
            .request(
                1,
                router_request(
                    "r",
                    RouterRequest::CreateDirectTransport {
                        transport_id: direct(),
                    },
                ),
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
                    Request::Transport {
                        transport_id: direct(),
                        request: TransportRequest::SendDirectPacket { rtcp: true, packet },
                    },
                )
                .unwrap();
        }
        worker
            .request(
                9,
                Request::Transport {
                    transport_id: direct(),
                    request: TransportRequest::GetStats,
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
