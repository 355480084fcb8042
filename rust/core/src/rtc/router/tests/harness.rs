//! A virtual-time test bench for a [`Router`] (str0m's `tests/common.rs` is the model): every
//! transport has a simulated endpoint behind a link with delay, jitter (so reordering) and
//! loss, all drawn from a seed; time only moves when the bench moves it, to the next thing
//! due (a datagram arriving, a router timer, an endpoint's NACK). No threads, no sockets.
//!
//! Endpoints do what a client's RTP stack does, enough for routing to be tested end to end:
//! they keep what they sent and answer NACKs with RTX, NACK gaps in what they receive and
//! restore RTX repairs, and record every packet they get.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use super::super::{Router, RouterOutput, TransportIndex, TransportKey};
use crate::packet::rtcp::{parse_compound, serialize_compound, Nack, RtcpPacket};
use crate::packet::rtp::{rtx_decapsulate, rtx_encapsulate, RtpPacket};

/// Seeded randomness for the links (SplitMix64).
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Self {
        Dice(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One direction of a path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly up to this, per datagram (so datagrams overtake each
    /// other).
    pub jitter: Duration,
    /// Share of datagrams lost, 0..1.
    pub loss: f64,
}

/// How a simulated endpoint treats what it receives.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    /// NACK gaps in received media (after `nack_delay`, up to 10 times each).
    pub nacks: bool,
    /// How long a gap waits before it is NACKed (reordering may fill it first).
    pub nack_delay: Duration,
    /// Resend NACKed packets it sent, on this RTX (payload type, SSRC).
    pub rtx: Option<(u8, u32)>,
    /// Its RTX payload type -> media payload type and its media SSRC, to restore repairs
    /// it receives.
    pub restores_rtx: Option<(u8, u8, u32)>,
}

/// What an endpoint has seen.
#[derive(Debug, Default)]
pub struct Endpoint {
    pub uplink: Link,
    pub downlink: Link,
    pub behaviour: Behaviour,
    /// RTP received, in arrival order: (arrival, packet), RTX restored.
    pub rtp: Vec<(Instant, Vec<u8>)>,
    /// RTCP compounds received.
    pub rtcp: Vec<Vec<RtcpPacket>>,
    /// What it sent, by sequence number, to answer NACKs.
    sent: HashMap<u16, Vec<u8>>,
    rtx_sequence: u16,
    /// Missing sequence numbers per SSRC: (next NACK time, NACKs sent).
    missing: HashMap<u32, BTreeMap<u16, (Instant, u8)>>,
    highest: HashMap<u32, u16>,
}

impl Endpoint {
    /// Sequence numbers received on `ssrc`, in arrival order.
    pub fn sequences(&self, ssrc: u32) -> Vec<u16> {
        self.rtp
            .iter()
            .filter_map(|(_, packet)| {
                let view = RtpPacket::parse(&packet[..]).ok()?;
                (view.ssrc() == ssrc).then_some(view.sequence_number())
            })
            .collect()
    }

    /// RTCP packets received, flattened.
    pub fn rtcp_packets(&self) -> impl Iterator<Item = &RtcpPacket> {
        self.rtcp.iter().flatten()
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Destination {
    /// To the router, from the endpoint of this transport.
    Router { transport: usize, rtcp: bool },
    /// To the endpoint of this transport.
    Endpoint { transport: usize, rtcp: bool },
}

/// A datagram on its way: when it arrives, its place in send order (to break ties), where
/// it goes, and its bytes.
type Datagram = (Instant, u64, Destination, Vec<u8>);

/// Datagrams in flight, in arrival order (ties in send order).
#[derive(Debug, Default)]
struct InFlight {
    queue: BinaryHeap<Reverse<Datagram>>,
    sent: u64,
}

/// The router's output, captured.
#[derive(Debug, Default)]
struct Outbox(Vec<(TransportKey, bool, Vec<u8>)>);

impl RouterOutput for Outbox {
    fn send_rtp(&mut self, transport: TransportKey, buffer: &mut [u8], len: usize) {
        self.0.push((transport, false, buffer[..len].to_vec()));
    }

    fn send_rtcp(&mut self, transport: TransportKey, buffer: &mut [u8], len: usize) {
        self.0.push((transport, true, buffer[..len].to_vec()));
    }
}

/// A router, its transports' endpoints, and the network between them.
#[derive(Debug)]
pub struct Bench {
    pub router: Router,
    pub now: Instant,
    /// Indexed by the transport key.
    pub endpoints: Vec<Endpoint>,
    transports: Vec<TransportIndex>,
    in_flight: InFlight,
    dice: Dice,
    outbox: Outbox,
}

/// The wall clock the bench's router starts at: 2026-01-01T00:00:00Z.
pub const WALL_CLOCK_START: Duration = Duration::from_secs(1_767_225_600);

impl Bench {
    /// A router with `transports` transports, each with an endpoint behind a perfect link.
    pub fn new(transports: usize, seed: u64) -> Self {
        let start = Instant::now();
        let mut router = Router::new(start, WALL_CLOCK_START, seed);
        let indices = (0..transports)
            .map(|key| router.add_transport(TransportKey(key)))
            .collect();
        Bench {
            router,
            now: start,
            endpoints: (0..transports).map(|_| Endpoint::default()).collect(),
            transports: indices,
            in_flight: InFlight::default(),
            dice: Dice::new(seed ^ 0xD1CE),
            outbox: Outbox::default(),
        }
    }

    /// The router's index of transport `key`.
    pub fn transport(&self, key: usize) -> TransportIndex {
        self.transports[key]
    }

    /// Endpoint `key` sends an RTP packet now (kept to answer NACKs).
    pub fn send_rtp(&mut self, key: usize, packet: Vec<u8>) {
        if let Ok(view) = RtpPacket::parse(&packet[..]) {
            self.endpoints[key]
                .sent
                .insert(view.sequence_number(), packet.clone());
        }
        self.transmit(
            Destination::Router {
                transport: key,
                rtcp: false,
            },
            packet,
        );
    }

    /// Endpoint `key` sends RTCP now.
    pub fn send_rtcp(&mut self, key: usize, packets: &[RtcpPacket]) {
        let mut compound = Vec::new();
        serialize_compound(packets, &mut compound).expect("valid RTCP");
        self.transmit(
            Destination::Router {
                transport: key,
                rtcp: true,
            },
            compound,
        );
    }

    fn transmit(&mut self, destination: Destination, datagram: Vec<u8>) {
        let link = match destination {
            Destination::Router { transport, .. } => self.endpoints[transport].uplink,
            Destination::Endpoint { transport, .. } => self.endpoints[transport].downlink,
        };
        if self.dice.unit() < link.loss {
            return;
        }
        let jitter = link.jitter.mul_f64(self.dice.unit());
        let at = self.now + link.delay + jitter;
        self.in_flight.sent += 1;
        self.in_flight
            .queue
            .push(Reverse((at, self.in_flight.sent, destination, datagram)));
    }

    /// Runs everything due up to `until`, in time order.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            let arrival = self.in_flight.queue.peek().map(|Reverse((at, ..))| *at);
            let nack = self.next_endpoint_nack();
            let next = [Some(self.router.poll_timeout()), arrival, nack]
                .into_iter()
                .flatten()
                .min()
                .expect("the router always has a timeout");
            if next > until {
                break;
            }
            self.now = next.max(self.now);
            if arrival == Some(next) {
                let Some(Reverse((_, _, destination, datagram))) = self.in_flight.queue.pop()
                else {
                    continue;
                };
                self.deliver(destination, datagram);
            } else if nack == Some(next) {
                self.send_endpoint_nacks();
            } else {
                self.router.handle_timeout(self.now, &mut self.outbox);
            }
            self.flush_outbox();
        }
        self.now = until.max(self.now);
    }

    /// Runs for `duration` from now.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(self.now + duration);
    }

    fn deliver(&mut self, destination: Destination, mut datagram: Vec<u8>) {
        match destination {
            Destination::Router {
                transport,
                rtcp: false,
            } => {
                let index = self.transports[transport];
                self.router
                    .handle_rtp(index, &mut datagram, self.now, &mut self.outbox);
            }
            Destination::Router {
                transport,
                rtcp: true,
            } => {
                let index = self.transports[transport];
                self.router
                    .handle_rtcp(index, &datagram, self.now, &mut self.outbox);
            }
            Destination::Endpoint {
                transport,
                rtcp: false,
            } => {
                self.endpoint_receives_rtp(transport, datagram);
            }
            Destination::Endpoint {
                transport,
                rtcp: true,
            } => {
                let Ok(packets) = parse_compound(&datagram) else {
                    panic!("the router sent RTCP that does not parse");
                };
                self.answer_nacks(transport, &packets);
                self.endpoints[transport].rtcp.push(packets);
            }
        }
    }

    fn flush_outbox(&mut self) {
        for (key, rtcp, datagram) in std::mem::take(&mut self.outbox.0) {
            self.transmit(
                Destination::Endpoint {
                    transport: key.0,
                    rtcp,
                },
                datagram,
            );
        }
    }

    fn endpoint_receives_rtp(&mut self, key: usize, mut packet: Vec<u8>) {
        let now = self.now;
        let endpoint = &mut self.endpoints[key];
        if let Some((rtx_payload_type, media_payload_type, media_ssrc)) =
            endpoint.behaviour.restores_rtx
        {
            let is_rtx = RtpPacket::parse(&packet[..])
                .is_ok_and(|view| view.payload_type() == rtx_payload_type);
            if is_rtx {
                let len = packet.len();
                match rtx_decapsulate(&mut packet, len, media_payload_type, media_ssrc) {
                    Ok(original) => packet.truncate(original),
                    Err(_) => return,
                }
            }
        }
        let Ok(view) = RtpPacket::parse(&packet[..]) else {
            return;
        };
        let (ssrc, sequence) = (view.ssrc(), view.sequence_number());
        if endpoint.behaviour.nacks {
            let missing = endpoint.missing.entry(ssrc).or_default();
            missing.remove(&sequence);
            match endpoint.highest.get(&ssrc) {
                Some(&highest) if is_newer(sequence, highest) => {
                    let mut gap = highest.wrapping_add(1);
                    while gap != sequence {
                        missing.insert(gap, (now + endpoint.behaviour.nack_delay, 0));
                        gap = gap.wrapping_add(1);
                    }
                    endpoint.highest.insert(ssrc, sequence);
                }
                Some(_) => {}
                None => {
                    endpoint.highest.insert(ssrc, sequence);
                }
            }
        }
        endpoint.rtp.push((now, packet));
    }

    fn next_endpoint_nack(&self) -> Option<Instant> {
        self.endpoints
            .iter()
            .flat_map(|endpoint| endpoint.missing.values())
            .flat_map(|missing| missing.values().map(|(at, _)| *at))
            .min()
    }

    fn send_endpoint_nacks(&mut self) {
        let now = self.now;
        for key in 0..self.endpoints.len() {
            let mut nacks = Vec::new();
            for (&ssrc, missing) in &mut self.endpoints[key].missing {
                let mut lost = Vec::new();
                missing.retain(|&sequence, (at, sent)| {
                    if *at > now {
                        return true;
                    }
                    if *sent >= 10 {
                        return false;
                    }
                    *sent += 1;
                    *at = now + Duration::from_millis(40);
                    lost.push(sequence);
                    true
                });
                if !lost.is_empty() {
                    nacks.push(RtcpPacket::Nack(Nack::from_lost(9, ssrc, &lost)));
                }
            }
            if !nacks.is_empty() {
                self.send_rtcp(key, &nacks);
            }
        }
    }

    /// An endpoint that keeps what it sends resends what a NACK asks for, on its RTX stream.
    fn answer_nacks(&mut self, key: usize, packets: &[RtcpPacket]) {
        let Some((rtx_payload_type, rtx_ssrc)) = self.endpoints[key].behaviour.rtx else {
            return;
        };
        for packet in packets {
            let RtcpPacket::Nack(nack) = packet else {
                continue;
            };
            for sequence in nack.lost_sequence_numbers() {
                let endpoint = &mut self.endpoints[key];
                let Some(original) = endpoint.sent.get(&sequence) else {
                    continue;
                };
                let mut repair = original.clone();
                let len = repair.len();
                repair.resize(len + 2, 0);
                let rtx_sequence = endpoint.rtx_sequence;
                endpoint.rtx_sequence = rtx_sequence.wrapping_add(1);
                let Ok(repaired_len) =
                    rtx_encapsulate(&mut repair, len, rtx_payload_type, rtx_ssrc, rtx_sequence)
                else {
                    continue;
                };
                repair.truncate(repaired_len);
                self.transmit(
                    Destination::Router {
                        transport: key,
                        rtcp: false,
                    },
                    repair,
                );
            }
        }
    }
}

/// RFC 3550 sequence number order: `a` is after `b` (within half the space).
fn is_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}
