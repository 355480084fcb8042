//! The worker's side of WebRtcServers: creating one (this worker its home member, reading
//! its ports) or joining one another worker of the process created; reading their sockets,
//! each packet to the transport it routes to, here or handed to the member that owns it;
//! taking in what other members hand over; closing.

use std::sync::Arc;
use std::time::Instant;

use super::{Command, TransportEntry, Worker, SERVER_TOKEN_BASE};
use crate::ice::ServerRoutes;
use crate::ice::{Destination, TransportProtocol, TransportTuple};
use crate::worker::forward_queue::ForwardQueue;
use crate::worker::messages::{ListenAddress, RequestError, Response};
use crate::worker::socket_set::{Delivery, SocketEvent, SocketSet, SocketSink};
use crate::worker::tuple_sockets::{bind_shared_tcp, bind_shared_udp};
use crate::worker::webrtc_server::{
    Handed, Handoff, Mailbox, SharedWebRtcServer, UnroutedDatagrams, WorkerWebRtcServer,
    FIRST_TUPLE_SOCKET_INDEX, MAX_SERVER_TCP_CONNECTIONS, TOKENS_PER_SERVER,
};
use crate::worker::webrtc_transport::queue_media;

/// Delivers packets a server member received to its transports, or hands them over.
struct ServerDelivery<'a> {
    shared: &'a SharedWebRtcServer,
    routes: &'a mut ServerRoutes,
    unrouted: &'a mut UnroutedDatagrams,
    handed_over: &'a mut u64,
    transports: &'a mut [Option<TransportEntry>],
    forward: &'a mut ForwardQueue,
    /// Transports that got something (their events are published after).
    touched: &'a mut Vec<usize>,
    /// UDP tuples newly validated (they get connected sockets after).
    learned: &'a mut Vec<TransportTuple>,
    now: Instant,
    /// Whether these packets were handed over by another member (which routed them here:
    /// they are never handed on, so a stale directory entry cannot bounce them).
    handed: bool,
}

impl ServerDelivery<'_> {
    fn deliver(
        &mut self,
        event: SocketEvent,
        packet: &mut [u8],
        sink: &mut SocketSink<'_>,
    ) -> Delivery {
        let slot = match event {
            SocketEvent::Closed(tuple) => match self.routes.route_closed(&tuple) {
                Some(slot) => slot,
                None => return Delivery::Unvalidated,
            },
            SocketEvent::Packet(tuple) => match self.routes.route(&tuple, packet) {
                Destination::Local(slot) => slot,
                Destination::Member(member) if !self.handed => {
                    if tuple.protocol == TransportProtocol::Tcp {
                        *self.handed_over += 1;
                        return Delivery::Elsewhere(member);
                    }
                    let handed = Handed::Datagram {
                        tuple,
                        bytes: packet.to_vec(),
                    };
                    if self.shared.hand_over(member, handed) {
                        *self.handed_over += 1;
                    } else {
                        self.unrouted.count(packet);
                    }
                    return Delivery::Unvalidated;
                }
                Destination::Member(_) | Destination::Unrouted => {
                    self.unrouted.count(packet);
                    return Delivery::Unvalidated;
                }
            },
        };
        let Some(state) = self
            .transports
            .get_mut(slot)
            .and_then(Option::as_mut)
            .and_then(|entry| entry.transport.webrtc_state())
        else {
            return Delivery::Unvalidated;
        };
        let received = state.handle(event, packet, self.now, sink);
        queue_media(self.forward, slot, received, packet);
        if !self.touched.contains(&slot) {
            self.touched.push(slot);
        }
        let SocketEvent::Packet(tuple) = event else {
            return Delivery::Unvalidated;
        };
        let ice = state.connection.ice();
        if !ice.is_valid_tuple(&tuple) {
            return Delivery::Unvalidated;
        }
        if self.routes.learn_tuple(tuple, slot, ice.tuples())
            && tuple.protocol == TransportProtocol::Udp
        {
            self.learned.push(tuple);
        }
        Delivery::Validated
    }
}

/// Borrows what a [`ServerDelivery`] needs from the worker and one of its servers (a macro:
/// the borrows are of fields, so the server's sockets stay usable beside it).
macro_rules! server_delivery {
    ($worker:ident, $server:ident, $touched:ident, $learned:ident, $now:expr, $handed:expr) => {
        ServerDelivery {
            shared: &$server.shared,
            routes: &mut $server.routes,
            unrouted: &mut $server.unrouted,
            handed_over: &mut $server.handed_over,
            transports: &mut $worker.transports,
            forward: &mut $worker.forward,
            touched: &mut $touched,
            learned: &mut $learned,
            now: $now,
            handed: $handed,
        }
    };
}

impl Worker {
    /// How other members of a server reach this worker: its command channel.
    fn mailbox(&self) -> Mailbox {
        let commands = self.own_commands.clone();
        let waker = Arc::clone(&self.waker);
        Box::new(move |handoff| {
            commands.send(Command::Handoff(handoff)).is_ok() && waker.wake().is_ok()
        })
    }

    fn server_token_base(slot: usize) -> usize {
        SERVER_TOKEN_BASE + slot * TOKENS_PER_SERVER
    }

    pub(super) fn create_webrtc_server(
        &mut self,
        server_id: String,
        listens: &[ListenAddress],
    ) -> Result<Response, RequestError> {
        let taken = || {
            RequestError::invalid(
                "webrtc_server_id",
                format!("a WebRtcServer with id \"{server_id}\" already exists"),
            )
        };
        if self.servers_by_id.contains_key(&server_id) {
            return Err(taken());
        }
        let mut sockets = self.bind_socket_set(listens, MAX_SERVER_TCP_CONNECTIONS, true)?;
        let locals = sockets.locals();
        let Some(shared) = SharedWebRtcServer::publish(
            server_id.clone(),
            sockets.udp(),
            locals.clone(),
            self.mailbox(),
        ) else {
            self.release_socket_set(&mut sockets);
            return Err(taken());
        };
        let slot = free_slot(&self.servers);
        if let Err(error) = sockets.register(self.poll.registry(), Self::server_token_base(slot)) {
            self.release_socket_set(&mut sockets);
            return Err(RequestError::Resource(error.to_string()));
        }
        self.put_server(slot, server_id, WorkerWebRtcServer::new(shared, 0, sockets));
        Ok(Response::WebRtcServerCreated { locals })
    }

    pub(super) fn join_webrtc_server(
        &mut self,
        server_id: String,
    ) -> Result<Response, RequestError> {
        if self.servers_by_id.contains_key(&server_id) {
            return Err(RequestError::invalid(
                "webrtc_server_id",
                format!("this worker already uses the WebRtcServer \"{server_id}\""),
            ));
        }
        let (shared, member) = SharedWebRtcServer::join(&server_id, self.mailbox())
            .ok_or_else(|| RequestError::not_found("WebRtcServer", &server_id))?;
        let locals = shared.locals().to_vec();
        let sockets = SocketSet::sending_from(shared.udp(), MAX_SERVER_TCP_CONNECTIONS);
        let slot = free_slot(&self.servers);
        self.put_server(
            slot,
            server_id,
            WorkerWebRtcServer::new(shared, member, sockets),
        );
        Ok(Response::WebRtcServerCreated { locals })
    }

    fn put_server(&mut self, slot: usize, server_id: String, server: WorkerWebRtcServer) {
        if slot == self.servers.len() {
            self.servers.push(Some(server));
        } else {
            self.servers[slot] = Some(server);
        }
        self.servers_by_id.insert(server_id, slot);
    }

    /// Takes the place of the member that read the server's port (its worker died): binds
    /// the port's addresses again (sharing the UDP port with the members' connected sockets)
    /// and reads them; every member then sends from the new UDP sockets.
    pub(super) fn rehome_webrtc_server(
        &mut self,
        server_id: &str,
    ) -> Result<Response, RequestError> {
        let slot = *self
            .servers_by_id
            .get(server_id)
            .ok_or_else(|| RequestError::not_found("WebRtcServer", server_id))?;
        let Some(Some(server)) = self.servers.get_mut(slot) else {
            return Err(RequestError::not_found("WebRtcServer", server_id));
        };
        if server.home {
            return Ok(Response::Done);
        }
        let resource = |error: std::io::Error| RequestError::Resource(error.to_string());
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        for (protocol, local) in server.shared.locals() {
            match protocol {
                TransportProtocol::Udp => udp.push(bind_shared_udp(*local).map_err(resource)?),
                TransportProtocol::Tcp => tcp.push(mio::net::TcpListener::from_std(
                    bind_shared_tcp(*local).map_err(resource)?,
                )),
            }
        }
        server.sockets.read_from(udp, tcp);
        server
            .sockets
            .register(self.poll.registry(), Self::server_token_base(slot))
            .map_err(resource)?;
        server.home = true;
        server.shared.rehome(server.member, server.sockets.udp());
        Ok(Response::Done)
    }

    pub(super) fn close_webrtc_server(
        &mut self,
        server_id: &str,
    ) -> Result<Response, RequestError> {
        let server_slot = self
            .servers_by_id
            .remove(server_id)
            .ok_or_else(|| RequestError::not_found("WebRtcServer", server_id))?;
        let users: Vec<String> = self
            .transports
            .iter()
            .flatten()
            .filter(|entry| entry.transport.webrtc_server() == Some(server_slot))
            .map(|entry| entry.transport.id().to_owned())
            .collect();
        let now = Instant::now();
        for transport_id in users {
            self.remove_transport(&transport_id, now);
        }
        if let Some(mut server) = self.servers.get_mut(server_slot).and_then(Option::take) {
            server.shared.leave(server.member);
            server.routes.forget_all();
            server.tuple_sockets.close_all(self.poll.registry());
            if server.home {
                self.release_socket_set(&mut server.sockets);
            } else {
                server.sockets.deregister(self.poll.registry());
            }
        }
        Ok(Response::Done)
    }

    /// What a server member dropped and handed over.
    pub(super) fn dump_webrtc_server(&self, server_id: &str) -> Result<Response, RequestError> {
        let server = self
            .servers_by_id
            .get(server_id)
            .and_then(|&slot| self.servers.get(slot)?.as_ref())
            .ok_or_else(|| RequestError::not_found("WebRtcServer", server_id))?;
        Ok(Response::WebRtcServerDump {
            unrouted: server.unrouted,
            handed_over: server.handed_over,
            tuple_sockets: server.tuple_sockets.len(),
        })
    }

    /// Forgets a closed transport of a server and closes its connected sockets.
    pub(super) fn forget_server_transport(&mut self, server_slot: usize, slot: usize) {
        if let Some(Some(server)) = self.servers.get_mut(server_slot) {
            server.routes.forget(slot);
            let routes = &server.routes;
            server
                .tuple_sockets
                .retain(self.poll.registry(), |tuple| routes.knows_tuple(tuple));
        }
    }

    /// One read of a WebRtcServer socket, each packet going to the transport it routes to;
    /// returns whether more may be waiting.
    pub(super) fn read_server(
        &mut self,
        server_token: usize,
        writable: bool,
        now: Instant,
    ) -> bool {
        let (server_slot, index) = (
            server_token / TOKENS_PER_SERVER,
            server_token % TOKENS_PER_SERVER,
        );
        let Some(Some(server)) = self.servers.get_mut(server_slot) else {
            return false;
        };
        let mut touched = std::mem::take(&mut self.touched);
        let mut learned = std::mem::take(&mut self.learned);
        touched.clear();
        learned.clear();
        let mut delivery = server_delivery!(self, server, touched, learned, now, false);
        let more = if index >= FIRST_TUPLE_SOCKET_INDEX {
            let mut sink = server.sockets.sink(&mut self.send);
            let more = server.tuple_sockets.read(
                index - FIRST_TUPLE_SOCKET_INDEX,
                &mut self.receive,
                |tuple, packet| {
                    delivery.deliver(SocketEvent::Packet(tuple), packet, &mut sink);
                },
            );
            sink.flush();
            more
        } else {
            server.sockets.on_ready(
                index,
                writable,
                self.poll.registry(),
                Self::server_token_base(server_slot),
                &mut self.receive,
                &mut self.send,
                now,
                |event, packet, sink| delivery.deliver(event, packet, sink),
            )
        };
        for departure in server.sockets.take_departures() {
            let handed = Handed::Connection {
                connection: departure.connection,
                frames: departure.frames,
            };
            // A member that left cannot take it: the connection closes as it drops.
            server.shared.hand_over(departure.member, handed);
        }
        self.after_delivery(server_slot, &touched, &learned);
        self.touched = touched;
        self.learned = learned;
        more
    }

    /// Takes in what another member handed over: a datagram it read for one of this
    /// worker's transports, or an ICE-TCP connection whose frames are.
    pub(super) fn take_handoff(&mut self, handoff: Handoff, now: Instant) {
        let Some(&server_slot) = self.servers_by_id.get(&handoff.server_id) else {
            return;
        };
        let Some(Some(server)) = self.servers.get_mut(server_slot) else {
            return;
        };
        let mut touched = std::mem::take(&mut self.touched);
        let mut learned = std::mem::take(&mut self.learned);
        touched.clear();
        learned.clear();
        let mut delivery = server_delivery!(self, server, touched, learned, now, true);
        match handoff.handed {
            Handed::Datagram { tuple, mut bytes } => {
                let mut sink = server.sockets.sink(&mut self.send);
                delivery.deliver(SocketEvent::Packet(tuple), &mut bytes, &mut sink);
                sink.flush();
            }
            Handed::Sockets(udp) => server.sockets.send_from(udp),
            Handed::Connection { connection, frames } => {
                let tuple = TransportTuple {
                    local: connection.local,
                    remote: connection.remote,
                    protocol: TransportProtocol::Tcp,
                };
                if server.sockets.adopt(
                    connection,
                    self.poll.registry(),
                    Self::server_token_base(server_slot),
                ) {
                    let mut sink = server.sockets.sink(&mut self.send);
                    for mut frame in frames {
                        delivery.deliver(SocketEvent::Packet(tuple), &mut frame, &mut sink);
                    }
                    sink.flush();
                }
            }
        }
        self.after_delivery(server_slot, &touched, &learned);
        self.touched = touched;
        self.learned = learned;
        self.route(now);
    }

    /// After a server delivered packets: the tuples ICE newly validated get connected
    /// sockets (and those it forgot lose theirs), and the transports' events go out.
    fn after_delivery(
        &mut self,
        server_slot: usize,
        touched: &[usize],
        learned: &[TransportTuple],
    ) {
        if !learned.is_empty() {
            if let Some(Some(server)) = self.servers.get_mut(server_slot) {
                let token_base = Self::server_token_base(server_slot) + FIRST_TUPLE_SOCKET_INDEX;
                for tuple in learned {
                    // Without one the client is still served through the shared socket.
                    let _ = server
                        .tuple_sockets
                        .open(*tuple, self.poll.registry(), token_base);
                }
                let routes = &server.routes;
                server
                    .tuple_sockets
                    .retain(self.poll.registry(), |tuple| routes.knows_tuple(tuple));
            }
        }
        for &slot in touched {
            self.publish_transport_events(slot);
        }
    }
}

/// The first free slot of `slots` (maybe one past the end).
fn free_slot<T>(slots: &[Option<T>]) -> usize {
    slots
        .iter()
        .position(Option::is_none)
        .unwrap_or(slots.len())
}
