//! SCTP packets into an established association, as a transport feeds what DTLS decrypts:
//! never panics, keeps exchanging with its peer afterwards, and closing it releases every
//! stream, queued packet and timer.
//!
//! Input: a mode byte, then packets as (u16 big-endian length, bytes). In the header-patching
//! modes each packet gets the association's ports and verification tag and a valid CRC32c,
//! so mutations reach chunk parsing, DATA reassembly and DCEP instead of stopping at the
//! checksum. Mode 2 sends the packets' bytes instead as PPID 50 messages (DCEP parsing).
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
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

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let (mut pair, header) = connected();
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let mut packet = rest[2..2 + len].to_vec();
        rest = &rest[2 + len..];
        match mode % 3 {
            0 => {}
            1 => {
                if packet.len() >= 12 {
                    packet[..8].copy_from_slice(&header);
                    packet[8..12].fill(0);
                    let checksum = CRC32C.checksum(&packet);
                    packet[8..12].copy_from_slice(&checksum.to_le_bytes());
                }
            }
            _ => {
                let _ = pair
                    .client
                    .send(1, Ppid::Dcep, &Bytes::from(packet));
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
        let _ = pair
            .server
            .open_stream(2, StreamReliability::default());
        let _ = pair
            .server
            .send(2, Ppid::Binary, &Bytes::from_static(b"after"));
        pair.exchange();
    }
    pair.server.close();
    assert!(pair.server.is_released());
});
