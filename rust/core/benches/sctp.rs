//! SCTP cost per data channel message, without DTLS or sockets: one association pair
//! carrying 1 KiB messages (send, packetize, receive, reassemble, acknowledge), and the SFU's
//! fan-out of one incoming message to ten consumer associations (the SCTP-to-SCTP path of a
//! DataProducer with ten DataConsumers).
//! Run: cargo bench -p mediasoup-py-core --bench sctp

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mediasoup_core::sctp::{
    Ppid, SctpAssociation, SctpConfig, SctpEvent, SctpRole, StreamReliability,
};

const MESSAGE_LEN: usize = 1024;
/// Messages per measured round: enough to fill packets and exercise delayed SACKs.
const ROUND: usize = 64;
const CONSUMERS: usize = 10;
/// Time passed after each round, past the delayed-SACK timer (RFC 9260: at most 500 ms).
const SACK_DELAY: Duration = Duration::from_millis(250);

struct Pair {
    client: SctpAssociation,
    server: SctpAssociation,
}

impl Pair {
    fn connected(now: Instant) -> Self {
        let mut pair = Pair {
            client: SctpAssociation::new(SctpConfig::default()),
            server: SctpAssociation::new(SctpConfig::default()),
        };
        pair.server.start(SctpRole::Server);
        pair.client.start(SctpRole::Client);
        pair.exchange(now);
        pair.client
            .open_stream(0, StreamReliability::default())
            .expect("stream");
        pair
    }

    /// Moves packets both ways until quiet; returns the messages the server got.
    fn exchange(&mut self, now: Instant) -> usize {
        let mut received = 0;
        loop {
            let mut moved = false;
            while let Some(packet) = self.client.poll_transmit(now) {
                moved = true;
                self.server.handle_packet(&packet, now);
            }
            while let Some(event) = self.server.poll_event() {
                received += usize::from(matches!(event, SctpEvent::Message { .. }));
            }
            while let Some(packet) = self.server.poll_transmit(now) {
                moved = true;
                self.client.handle_packet(&packet, now);
            }
            while self.client.poll_event().is_some() {}
            if !moved {
                return received;
            }
        }
    }

    /// Fires the timers due at `at` (delayed SACKs), so the sender's queue empties.
    fn settle(&mut self, at: Instant) {
        self.client.handle_timeout(at);
        self.server.handle_timeout(at);
        self.exchange(at);
    }
}

fn bench_sctp(c: &mut Criterion) {
    let message = Bytes::from(vec![0x5a; MESSAGE_LEN]);
    let mut group = c.benchmark_group("sctp");
    group.throughput(Throughput::Elements(ROUND as u64));

    let mut now = Instant::now();
    let mut pair = Pair::connected(now);
    group.bench_function("1KiB_messages_one_pair", |b| {
        b.iter(|| {
            for _ in 0..ROUND {
                pair.client.send(0, Ppid::Binary, &message).expect("send");
            }
            let received = pair.exchange(now);
            now += SACK_DELAY;
            pair.settle(now);
            assert_eq!(received, ROUND);
        })
    });

    // The producer's association receives; each consumer association re-sends the same
    // bytes (shared, not copied) to its own endpoint.
    let mut now = Instant::now();
    let mut producer = Pair::connected(now);
    let mut consumers: Vec<Pair> = (0..CONSUMERS).map(|_| Pair::connected(now)).collect();
    group.bench_function("1KiB_messages_fan_out_to_10", |b| {
        b.iter(|| {
            for _ in 0..ROUND {
                producer
                    .client
                    .send(0, Ppid::Binary, &message)
                    .expect("send");
            }
            let mut incoming = Vec::with_capacity(ROUND);
            loop {
                let mut moved = false;
                while let Some(packet) = producer.client.poll_transmit(now) {
                    moved = true;
                    producer.server.handle_packet(&packet, now);
                }
                while let Some(event) = producer.server.poll_event() {
                    if let SctpEvent::Message { payload, .. } = event {
                        incoming.push(payload);
                    }
                }
                while let Some(packet) = producer.server.poll_transmit(now) {
                    moved = true;
                    producer.client.handle_packet(&packet, now);
                }
                if !moved {
                    break;
                }
            }
            assert_eq!(incoming.len(), ROUND);
            for consumer in &mut consumers {
                for payload in &incoming {
                    consumer
                        .client
                        .send(0, Ppid::Binary, payload)
                        .expect("send");
                }
                assert_eq!(consumer.exchange(now), ROUND);
            }
            now += SACK_DELAY;
            producer.settle(now);
            for consumer in &mut consumers {
                consumer.settle(now);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_sctp);
criterion_main!(benches);
