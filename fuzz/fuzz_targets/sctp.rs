//! SCTP packets into an established association, as a transport feeds what DTLS decrypts:
//! never panics, keeps exchanging with its peer afterwards, and closing it releases every
//! stream, queued packet and timer.
//!
//! Input: a mode byte, then packets as (u16 big-endian length, bytes). In the header-patching
//! modes each packet gets the association's ports and verification tag and a valid CRC32c,
//! so mutations reach chunk parsing, DATA reassembly and DCEP instead of stopping at the
//! checksum. Mode 2 sends the packets' bytes instead as PPID 50 messages (DCEP parsing).
//! Mode 3 is the plain and pipe transports' input path: each packet (header-patched) arrives
//! as a UDP datagram at a PlainConnection with SCTP, told apart from RTP by its ports, from
//! the tuple's address or (when its last byte is odd) a stranger's.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;

use mediasoup_core::ice::TransportTuple;
use mediasoup_core::rtc::plain_connection::{is_sctp_packet, PlainConnection, PlainSocket};
use mediasoup_core::sctp::{
    Ppid, SctpAssociation, SctpConfig, SctpRole, SctpState, StreamReliability,
};

const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

struct Pair {
    client: SctpAssociation,
    server: SctpAssociation,
    now: Instant,
}

impl Pair {
    fn exchange(&mut self) {
        for _ in 0..16 {
            let mut moved = false;
            while let Some(packet) = self.client.poll_transmit(self.now) {
                moved = true;
                self.server.handle_packet(&packet, self.now);
            }
            while let Some(packet) = self.server.poll_transmit(self.now) {
                moved = true;
                self.client.handle_packet(&packet, self.now);
            }
            if !moved {
                return;
            }
            self.now += Duration::from_millis(5);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
        }
    }
}

fn connected() -> (Pair, [u8; 8]) {
    let now = Instant::now();
    let mut pair = Pair {
        client: SctpAssociation::new(SctpConfig::default()),
        server: SctpAssociation::new(SctpConfig::default()),
        now,
    };
    pair.server.start(SctpRole::Server);
    pair.client.start(SctpRole::Client);
    pair.exchange();
    pair.client
        .open_stream(1, StreamReliability::default())
        .expect("stream");
    pair.client
        .send(1, Ppid::String, &Bytes::from_static(b"x"))
        .expect("send");
    // The client's DATA packet carries the header the server accepts.
    let data = pair.client.poll_transmit(pair.now).expect("a DATA packet");
    let mut header = [0u8; 8];
    header.copy_from_slice(&data[..8]);
    pair.server.handle_packet(&data, pair.now);
    pair.exchange();
    while pair.server.poll_event().is_some() {}
    (pair, header)
}

/// Gives `packet` the association's ports and verification tag and a valid checksum.
fn patch_header(packet: &mut [u8], header: &[u8; 8]) {
    if packet.len() >= 12 {
        packet[..8].copy_from_slice(header);
        packet[8..12].fill(0);
        let checksum = CRC32C.checksum(packet);
        packet[8..12].copy_from_slice(&checksum.to_le_bytes());
    }
}

fn address(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

type Wire = Vec<(TransportTuple, Vec<u8>)>;

/// Two PlainConnections with SCTP, as two piped routers' transports are.
struct PlainPair {
    a: PlainConnection,
    b: PlainConnection,
    now: Instant,
}

impl PlainPair {
    fn new() -> Self {
        let now = Instant::now();
        let mut a = PlainConnection::new(address(4000), None, false, false)
            .with_sctp(SctpConfig::default());
        let mut b = PlainConnection::new(address(4100), None, false, false)
            .with_sctp(SctpConfig::default());
        a.connect(Some(address(4100)), None, None).expect("connect");
        b.connect(Some(address(4000)), None, None).expect("connect");
        let mut pair = PlainPair { a, b, now };
        let (mut to_a, mut to_b) = (Wire::new(), Wire::new());
        pair.b.start_sctp(now, &mut to_a);
        pair.a.start_sctp(now, &mut to_b);
        pair.exchange(to_a, to_b);
        pair
    }

    fn exchange(&mut self, mut to_a: Wire, mut to_b: Wire) {
        for _ in 0..16 {
            if to_a.is_empty() && to_b.is_empty() {
                self.now += Duration::from_millis(5);
                self.a.handle_timeout(self.now, &mut to_b);
                self.b.handle_timeout(self.now, &mut to_a);
                if to_a.is_empty() && to_b.is_empty() {
                    return;
                }
            }
            for (_, datagram) in std::mem::take(&mut to_b) {
                self.b
                    .handle_sctp_datagram(address(4000), &datagram, self.now, &mut to_a);
            }
            for (_, datagram) in std::mem::take(&mut to_a) {
                self.a
                    .handle_sctp_datagram(address(4100), &datagram, self.now, &mut to_b);
            }
        }
    }

    /// A datagram from `source` at `b`'s RTP socket, demultiplexed as the worker does.
    fn deliver_to_b(&mut self, source: SocketAddr, mut datagram: Vec<u8>) {
        let mut to_a = Wire::new();
        if is_sctp_packet(&datagram) {
            self.b
                .handle_sctp_datagram(source, &datagram, self.now, &mut to_a);
        } else {
            let _ = self
                .b
                .handle_datagram(PlainSocket::Rtp, source, &mut datagram);
        }
        self.exchange(to_a, Wire::new());
    }
}

fn plain_path(mut rest: &[u8]) {
    let mut pair = PlainPair::new();
    let mut to_b = Wire::new();
    pair.a.with_sctp_association(pair.now, &mut to_b, |sctp| {
        sctp.open_stream(1, StreamReliability::default())
            .expect("stream");
        sctp.send(1, Ppid::String, &Bytes::from_static(b"x"))
            .expect("send");
    });
    let mut header = [0u8; 8];
    if let Some((_, data)) = to_b.first() {
        header.copy_from_slice(&data[..8]);
    }
    pair.exchange(Wire::new(), to_b);
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let mut packet = rest[2..2 + len].to_vec();
        rest = &rest[2 + len..];
        let stranger = packet.last().is_some_and(|byte| byte % 2 == 1);
        patch_header(&mut packet, &header);
        pair.deliver_to_b(address(if stranger { 9999 } else { 4000 }), packet);
    }
    pair.b.close();
    assert!(pair.b.sctp().expect("SCTP").is_released());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    if mode % 4 == 3 {
        plain_path(rest);
        return;
    }
    let (mut pair, header) = connected();
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let mut packet = rest[2..2 + len].to_vec();
        rest = &rest[2 + len..];
        match mode % 4 {
            0 => {}
            1 => patch_header(&mut packet, &header),
            _ => {
                let _ = pair.client.send(1, Ppid::Dcep, &Bytes::from(packet));
                pair.exchange();
                continue;
            }
        }
        pair.server.handle_packet(&packet, pair.now);
        pair.exchange();
    }
    while pair.server.poll_event().is_some() {}
    if pair.server.state() == SctpState::Connected && pair.client.state() == SctpState::Connected {
        // Whatever came before, a fresh stream still carries a message both ways.
        let _ = pair.server.open_stream(2, StreamReliability::default());
        let _ = pair
            .server
            .send(2, Ppid::Binary, &Bytes::from_static(b"after"));
        pair.exchange();
    }
    pair.server.close();
    assert!(pair.server.is_released());
});
