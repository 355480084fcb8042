//! Two associations talking through a virtual network (loss by a seeded generator, time
//! advanced to the next deadline whenever nothing is in flight).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::sctp::reliability::Reliability;

/// Two associations and the wire between them.
struct Link {
    client: SctpAssociation,
    server: SctpAssociation,
    now: Instant,
    /// Packets lost out of 1000, each way.
    loss_per_mille: u64,
    /// Packets swapped with the next one out of 1000 (reordering).
    reorder_per_mille: u64,
    /// Packets delivered twice out of 1000.
    duplicate_per_mille: u64,
    seed: u64,
    lost: usize,
}

impl Link {
    fn new(client: SctpConfig, server: SctpConfig) -> Self {
        Link {
            client: SctpAssociation::new(client),
            server: SctpAssociation::new(server),
            now: Instant::now(),
            loss_per_mille: 0,
            reorder_per_mille: 0,
            duplicate_per_mille: 0,
            seed: 0x9e37_79b9_7f4a_7c15,
            lost: 0,
        }
    }

    fn connected() -> Self {
        let mut link = Link::new(SctpConfig::default(), SctpConfig::default());
        link.connect();
        link
    }

    fn connect(&mut self) {
        self.server.start(SctpRole::Server);
        self.client.start(SctpRole::Client);
        self.run(Duration::from_secs(5));
        assert_eq!(self.client.state(), SctpState::Connected);
        assert_eq!(self.server.state(), SctpState::Connected);
    }

    /// True `per_mille` times out of 1000 (xorshift64*: reproducible).
    fn chance(&mut self, per_mille: u64) -> bool {
        self.seed ^= self.seed >> 12;
        self.seed ^= self.seed << 25;
        self.seed ^= self.seed >> 27;
        let value = self.seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        value % 1000 < per_mille
    }

    /// What the wire does to one flight: loses, swaps neighbours, duplicates.
    fn impair(&mut self, packets: Vec<Bytes>) -> Vec<Bytes> {
        let mut delivered = Vec::with_capacity(packets.len());
        for packet in packets {
            if self.chance(self.loss_per_mille) {
                self.lost += 1;
                continue;
            }
            if self.chance(self.duplicate_per_mille) {
                delivered.push(packet.clone());
            }
            delivered.push(packet);
        }
        for i in 1..delivered.len() {
            if self.chance(self.reorder_per_mille) {
                delivered.swap(i - 1, i);
            }
        }
        delivered
    }

    /// Delivers what is queued each way once; true when something moved.
    fn exchange(&mut self) -> bool {
        let to_server: Vec<Bytes> =
            std::iter::from_fn(|| self.client.poll_transmit(self.now)).collect();
        let to_client: Vec<Bytes> =
            std::iter::from_fn(|| self.server.poll_transmit(self.now)).collect();
        let moved = !to_server.is_empty() || !to_client.is_empty();
        for packet in self.impair(to_server) {
            self.server.handle_packet(&packet, self.now);
        }
        for packet in self.impair(to_client) {
            self.client.handle_packet(&packet, self.now);
        }
        moved
    }

    /// Runs for `duration` of virtual time.
    fn run(&mut self, duration: Duration) {
        let end = self.now + duration;
        // Each pass moves packets; a millisecond passes per pass so delayed SACKs go out.
        while self.now < end {
            if self.exchange() {
                self.now += Duration::from_millis(1);
                self.fire_timers();
                continue;
            }
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(deadline) if deadline < end => {
                    self.now = self.now.max(deadline);
                    self.fire_timers();
                }
                // Nothing due before the end: the rest of the time passes idle.
                _ => {
                    self.now = end;
                    break;
                }
            }
        }
    }

    fn fire_timers(&mut self) {
        if self.client.poll_timeout().is_some_and(|t| t <= self.now) {
            self.client.handle_timeout(self.now);
        }
        if self.server.poll_timeout().is_some_and(|t| t <= self.now) {
            self.server.handle_timeout(self.now);
        }
    }
}

fn messages(association: &mut SctpAssociation) -> Vec<(u16, Ppid, Bytes)> {
    let mut received = Vec::new();
    while let Some(event) = association.poll_event() {
        if let SctpEvent::Message {
            stream_id,
            ppid,
            payload,
        } = event
        {
            received.push((stream_id, ppid, payload));
        }
    }
    received
}

fn events(association: &mut SctpAssociation) -> Vec<SctpEvent> {
    std::iter::from_fn(|| association.poll_event()).collect()
}

/// A message whose bytes say where it belongs: its index, then a pattern of it.
fn numbered(index: u32, len: usize) -> Bytes {
    let mut bytes = vec![0u8; len];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = (i as u32).wrapping_mul(31).wrapping_add(index) as u8;
    }
    let prefix = index.to_be_bytes();
    let n = len.min(4);
    bytes[..n].copy_from_slice(&prefix[..n]);
    Bytes::from(bytes)
}

#[test]
fn handshake_reports_each_state_once() {
    let mut link = Link::new(SctpConfig::default(), SctpConfig::default());
    assert_eq!(link.server.state(), SctpState::New);
    link.connect();
    for side in [&mut link.client, &mut link.server] {
        assert_eq!(
            events(side),
            vec![
                SctpEvent::StateChange(SctpState::Connecting),
                SctpEvent::StateChange(SctpState::Connected),
            ]
        );
    }
}

#[test]
fn ordered_messages_of_every_size_arrive_whole_and_in_order_through_loss() {
    let mut link = Link::connected();
    link.loss_per_mille = 50;
    link.client
        .open_stream(3, StreamReliability::default())
        .unwrap();
    // Sizes from 1 byte to maxSctpMessageSize, small ones more often.
    let sizes: Vec<usize> = (0..120u32)
        .map(|i| match i % 6 {
            0 => 1,
            1 => 1 + (i as usize * 7919) % 1200,
            2 => 1 + (i as usize * 104_729) % 16_384,
            3 => 262_144,
            _ => 1 + (i as usize * 15_485_863) % 262_144,
        })
        .collect();
    let mut sent = 0;
    let mut received = Vec::new();
    while received.len() < sizes.len() {
        while sent < sizes.len() {
            let message = numbered(sent as u32, sizes[sent]);
            match link.client.send(3, Ppid::Binary, &message) {
                Ok(()) => sent += 1,
                Err(SctpSendError::SendBufferFull { .. }) => break,
                Err(other) => panic!("send failed: {other}"),
            }
        }
        link.run(Duration::from_millis(50));
        received.extend(messages(&mut link.server));
    }
    assert!(link.lost > 0, "the link lost nothing");
    for (index, (stream_id, ppid, payload)) in received.iter().enumerate() {
        assert_eq!((*stream_id, *ppid), (3, Ppid::Binary));
        assert_eq!(
            payload,
            &numbered(index as u32, sizes[index]),
            "message {index}"
        );
    }
    assert_eq!(link.server.drops(), SctpDropCounters::default());
}

#[test]
fn unordered_without_retransmissions_delivers_intact_messages_and_loses_some() {
    let mut link = Link::connected();
    link.loss_per_mille = 50;
    let unreliable = StreamReliability {
        ordered: false,
        reliability: Reliability::MaxRetransmits(0),
    };
    link.client.open_stream(1, unreliable).unwrap();
    let count = 2000u32;
    for index in 0..count {
        link.client
            .send(1, Ppid::Binary, &numbered(index, 200))
            .unwrap();
        if index % 50 == 49 {
            link.run(Duration::from_millis(20));
        }
    }
    link.run(Duration::from_secs(10));
    let received = messages(&mut link.server);
    assert!(received.len() < count as usize, "nothing was lost");
    assert!(
        received.len() > count as usize * 8 / 10,
        "{} arrived",
        received.len()
    );
    for (_, _, payload) in &received {
        let index = u32::from_be_bytes(payload[..4].try_into().unwrap());
        assert_eq!(payload, &numbered(index, 200));
    }
    // Abandoned messages leave nothing queued.
    assert_eq!(link.client.buffered_amount(1), 0);
}

#[test]
fn a_message_over_the_limit_is_refused_and_the_stream_keeps_working() {
    let mut link = Link::connected();
    link.client
        .open_stream(0, StreamReliability::default())
        .unwrap();
    let oversize = Bytes::from(vec![7u8; 262_145]);
    assert_eq!(
        link.client.send(0, Ppid::Binary, &oversize),
        Err(SctpSendError::TooLarge {
            len: 262_145,
            max: 262_144
        })
    );
    link.client
        .send(0, Ppid::String, &Bytes::from_static(b"still here"))
        .unwrap();
    link.run(Duration::from_secs(1));
    assert_eq!(
        messages(&mut link.server),
        vec![(0, Ppid::String, Bytes::from_static(b"still here"))]
    );
}

#[test]
fn a_received_message_over_the_limit_is_dropped_and_the_association_kept() {
    let mut link = Link::new(
        SctpConfig::default(),
        SctpConfig {
            max_message_size: 3000,
            ..SctpConfig::default()
        },
    );
    link.connect();
    link.client
        .open_stream(2, StreamReliability::default())
        .unwrap();
    link.client
        .send(2, Ppid::Binary, &Bytes::from(vec![1u8; 4000]))
        .unwrap();
    link.client
        .send(2, Ppid::Binary, &Bytes::from(vec![2u8; 3000]))
        .unwrap();
    link.run(Duration::from_secs(1));
    let events = events(&mut link.server);
    assert!(events.contains(&SctpEvent::MessageDropped {
        stream_id: 2,
        reason: SctpMessageDrop::TooLarge
    }));
    assert!(events.iter().any(|event| matches!(
        event,
        SctpEvent::Message { stream_id: 2, payload, .. } if payload.len() == 3000
    )));
    assert_eq!(link.server.drops().too_large, 1);
    assert_eq!(link.server.state(), SctpState::Connected);
    assert_eq!(link.client.state(), SctpState::Connected);
}

#[test]
fn empty_messages_use_the_empty_ppids_and_arrive_empty() {
    let mut link = Link::connected();
    link.client
        .open_stream(2, StreamReliability::default())
        .unwrap();
    link.client.send(2, Ppid::String, &Bytes::new()).unwrap();
    link.client.send(2, Ppid::Binary, &Bytes::new()).unwrap();
    link.run(Duration::from_secs(1));
    assert_eq!(
        messages(&mut link.server),
        vec![
            (2, Ppid::StringEmpty, Bytes::new()),
            (2, Ppid::BinaryEmpty, Bytes::new()),
        ]
    );
}

#[test]
fn sending_needs_an_open_stream_and_an_established_association() {
    let mut link = Link::new(SctpConfig::default(), SctpConfig::default());
    let message = Bytes::from_static(b"x");
    assert_eq!(
        link.client.send(0, Ppid::Binary, &message),
        Err(SctpSendError::NotConnected(SctpState::New))
    );
    link.connect();
    assert_eq!(
        link.client.send(0, Ppid::Binary, &message),
        Err(SctpSendError::StreamNotOpen(0))
    );
    assert_eq!(
        link.client.open_stream(1024, StreamReliability::default()),
        Err(SctpStreamError::OutOfRange {
            stream_id: 1024,
            os: 1024
        })
    );
    link.client
        .open_stream(5, StreamReliability::default())
        .unwrap();
    assert_eq!(
        link.client.open_stream(5, StreamReliability::default()),
        Err(SctpStreamError::InUse(5))
    );
}

#[test]
fn streams_opened_before_the_handshake_open_with_it() {
    let mut link = Link::new(SctpConfig::default(), SctpConfig::default());
    link.server
        .open_stream(9, StreamReliability::default())
        .unwrap();
    link.connect();
    link.server
        .send(9, Ppid::String, &Bytes::from_static(b"hello"))
        .unwrap();
    link.run(Duration::from_secs(1));
    assert_eq!(
        messages(&mut link.client),
        vec![(9, Ppid::String, Bytes::from_static(b"hello"))]
    );
}

#[test]
fn the_send_buffer_limit_refuses_and_drains() {
    let mut link = Link::new(
        SctpConfig {
            send_buffer_size: 10_000,
            ..SctpConfig::default()
        },
        SctpConfig::default(),
    );
    link.connect();
    link.client
        .open_stream(0, StreamReliability::default())
        .unwrap();
    link.client.set_buffered_amount_low_threshold(0, 1000);
    let message = Bytes::from(vec![1u8; 4000]);
    link.client.send(0, Ppid::Binary, &message).unwrap();
    link.client.send(0, Ppid::Binary, &message).unwrap();
    assert!(matches!(
        link.client.send(0, Ppid::Binary, &message),
        Err(SctpSendError::SendBufferFull {
            buffered: 8000,
            limit: 10_000
        })
    ));
    events(&mut link.client);
    link.run(Duration::from_secs(1));
    assert_eq!(link.client.buffered_amount(0), 0);
    assert!(
        events(&mut link.client).contains(&SctpEvent::BufferedAmountLow {
            stream_id: 0,
            buffered_amount: 0
        })
    );
    link.client.send(0, Ppid::Binary, &message).unwrap();
}

#[test]
fn an_in_band_open_is_acknowledged_and_reported() {
    let mut link = Link::connected();
    let open = DcepOpen {
        reliability: StreamReliability {
            ordered: false,
            reliability: Reliability::MaxPacketLifeTime(500),
        },
        priority: 256,
        label: "chat".to_owned(),
        protocol: "json".to_owned(),
    };
    link.client
        .open_stream(4, StreamReliability::default())
        .unwrap();
    link.client
        .send(4, Ppid::Dcep, &Bytes::from(open.to_bytes()))
        .unwrap();
    link.run(Duration::from_secs(1));
    assert!(
        events(&mut link.server).contains(&SctpEvent::ChannelOpened {
            stream_id: 4,
            open: open.clone()
        })
    );
    // The ACK went back on the same stream (and reads as DCEP, not as a user message).
    assert!(messages(&mut link.client).is_empty());
    assert_eq!(link.client.drops(), SctpDropCounters::default());
}

#[test]
fn a_malformed_or_huge_open_is_counted_and_its_stream_reset() {
    let mut link = Link::connected();
    link.client
        .open_stream(6, StreamReliability::default())
        .unwrap();
    let mut huge = vec![0x03, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
    huge.resize(huge.len() + 65_535, b'l');
    link.client.send(6, Ppid::Dcep, &Bytes::from(huge)).unwrap();
    link.run(Duration::from_secs(2));
    assert_eq!(link.server.drops().invalid_dcep, 1);
    assert!(events(&mut link.client).contains(&SctpEvent::StreamClosed { stream_id: 6 }));
    assert_eq!(link.server.state(), SctpState::Connected);
}

#[test]
fn messages_on_streams_beyond_mis_are_counted_and_dropped() {
    let mut link = Link::new(
        SctpConfig {
            os: 65_535,
            ..SctpConfig::default()
        },
        SctpConfig::default(),
    );
    link.connect();
    link.client
        .open_stream(60_000, StreamReliability::default())
        .unwrap();
    link.client
        .send(60_000, Ppid::Binary, &Bytes::from_static(b"absurd"))
        .unwrap();
    link.client
        .open_stream(1, StreamReliability::default())
        .unwrap();
    link.client
        .send(1, Ppid::Binary, &Bytes::from_static(b"fine"))
        .unwrap();
    link.run(Duration::from_secs(2));
    assert_eq!(
        messages(&mut link.server),
        vec![(1, Ppid::Binary, Bytes::from_static(b"fine"))]
    );
    assert_eq!(link.server.drops().stream_out_of_range, 1);
}

#[test]
fn an_init_flood_and_garbage_are_counted_and_the_association_carries_on() {
    let mut link = Link::connected();
    // INITs of other would-be associations, each with its own tag.
    for _ in 0..500 {
        let mut other = SctpAssociation::new(SctpConfig::default());
        other.start(SctpRole::Client);
        let init = other.poll_transmit(link.now).expect("an INIT");
        link.server.handle_packet(&init, link.now);
    }
    for len in [0usize, 1, 11, 12, 13, 100, 1200] {
        let garbage: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        link.server.handle_packet(&garbage, link.now);
    }
    let drops = link.server.drops();
    assert_eq!(drops.extra_init, 500);
    assert_eq!(drops.malformed, 7);
    assert_eq!(link.server.state(), SctpState::Connected);
    link.client
        .open_stream(0, StreamReliability::default())
        .unwrap();
    link.client
        .send(0, Ppid::String, &Bytes::from_static(b"after"))
        .unwrap();
    link.run(Duration::from_secs(1));
    assert_eq!(messages(&mut link.server).len(), 1);
}

#[test]
fn packets_before_the_transport_is_up_are_counted() {
    let mut link = Link::new(SctpConfig::default(), SctpConfig::default());
    link.client.start(SctpRole::Client);
    let init = link.client.poll_transmit(link.now).unwrap();
    link.server.handle_packet(&init, link.now);
    assert_eq!(link.server.drops().not_connected, 1);
    assert_eq!(link.server.state(), SctpState::New);
}

#[test]
fn closing_mid_transfer_releases_everything() {
    let mut link = Link::connected();
    link.client
        .open_stream(0, StreamReliability::default())
        .unwrap();
    for index in 0..20 {
        link.client
            .send(0, Ppid::Binary, &numbered(index, 10_000))
            .unwrap();
    }
    link.exchange();
    assert!(link.client.poll_timeout().is_some());
    link.client.close();
    link.server.close();
    assert!(link.client.is_released());
    assert!(link.server.is_released());
    assert_eq!(link.client.state(), SctpState::Closed);
    assert_eq!(link.client.buffered_amount(0), 0);
    assert_eq!(
        link.client.send(0, Ppid::Binary, &numbered(0, 1)),
        Err(SctpSendError::NotConnected(SctpState::Closed))
    );
}

#[test]
fn a_stream_closed_by_one_side_is_reported_by_the_other() {
    let mut link = Link::connected();
    link.client
        .open_stream(8, StreamReliability::default())
        .unwrap();
    link.client
        .send(8, Ppid::String, &Bytes::from_static(b"bye"))
        .unwrap();
    link.run(Duration::from_millis(100));
    link.client.close_stream(8);
    link.run(Duration::from_secs(1));
    assert!(events(&mut link.server).contains(&SctpEvent::StreamClosed { stream_id: 8 }));
    // The id can be used again.
    link.client
        .open_stream(8, StreamReliability::default())
        .unwrap();
}

#[test]
fn a_handshake_nobody_answers_fails_and_releases_everything() {
    // (Once established, sctp-proto retransmits DATA for as long as the transport lives: a
    // dead path is ICE consent's to detect.)
    let mut link = Link::new(SctpConfig::default(), SctpConfig::default());
    link.loss_per_mille = 1000;
    link.client.start(SctpRole::Client);
    link.run(Duration::from_secs(600));
    assert_eq!(link.client.state(), SctpState::Failed);
    assert!(link.client.is_released());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Whatever the wire does (loss, reordering, duplication), an ordered reliable stream
    /// delivers every message once, whole and in order, and the receiver counts no drop.
    #[test]
    fn ordered_streams_survive_any_impairment(
        loss in 0u64..150,
        reorder in 0u64..300,
        duplicate in 0u64..200,
        seed in 1u64..u64::MAX,
        sizes in proptest::collection::vec(1usize..6000, 1..25),
    ) {
        let mut link = Link::connected();
        link.loss_per_mille = loss;
        link.reorder_per_mille = reorder;
        link.duplicate_per_mille = duplicate;
        link.seed = seed;
        link.client.open_stream(0, StreamReliability::default()).unwrap();
        for (index, &size) in sizes.iter().enumerate() {
            link.client.send(0, Ppid::Binary, &numbered(index as u32, size)).unwrap();
        }
        link.run(Duration::from_secs(120));
        let received = messages(&mut link.server);
        proptest::prop_assert_eq!(received.len(), sizes.len());
        for (index, (_, _, payload)) in received.iter().enumerate() {
            proptest::prop_assert_eq!(payload, &numbered(index as u32, sizes[index]));
        }
        proptest::prop_assert_eq!(link.server.drops(), SctpDropCounters::default());
    }
}
