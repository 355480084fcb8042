//! Receivers: one socket per port, read with recvmmsg when mio says it is readable, counting
//! forwarded RTP per port, sequence gaps and reordering per stream, and one-way latency from
//! the send time the sender embedded. In WebRTC mode each port is a transport's: its SRTP is
//! unprotected before counting (failures counted apart) and its consent checked.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mediasoup_core::packet::demux::{classify, DatagramKind};
use mediasoup_core::srtp::{SrtpError, SrtpSession};
use mediasoup_core::worker::{recv_batch, RecvBatch};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::sender::{RTP_HEADER_LEN, SEND_TIME_OFFSET};
use mediasoup_py_loadgen::enlarge_receive_buffer;
use mediasoup_py_loadgen::stats::{LatencyHistogram, SequenceTracker};
use mediasoup_py_loadgen::webrtc::{ConsentCheck, Link, CONSENT_INTERVAL};

/// mediasoup's bandwidth probation packets (padding-only RTP on PT 127), not forwarded media.
const PROBATION_PAYLOAD_TYPE: u8 = 127;
const POLL_TIMEOUT: Duration = Duration::from_millis(5);

/// The window whose packets are measured, as nanoseconds since the run's epoch (the clock
/// the sender stamps packets with).
#[derive(Clone, Copy)]
pub struct Window {
    pub from_nanos: u64,
    pub to_nanos: u64,
}

/// One port's counts.
#[derive(Default)]
struct Port {
    /// Every forwarded RTP packet, warm-up included.
    received: u64,
    /// Packets sent within the measured window.
    received_measured: u64,
    /// Per SSRC: a port may carry several streams (a conference peer's consumers share one).
    streams: Vec<(u32, SequenceTracker)>,
}

pub struct ReceiveReport {
    pub received: u64,
    pub received_measured: u64,
    pub per_port_measured: Vec<u64>,
    pub gaps: u64,
    pub reordered: u64,
    pub lost: u64,
    /// Measured packets whose send time could not be read (an encrypted payload).
    pub unstamped: u64,
    pub latency: LatencyHistogram,
    /// WebRTC mode: SRTP packets whose tag did not verify, and those refused otherwise
    /// (replayed, too old, malformed); none of them is counted as received.
    pub srtp_auth_failures: u64,
    pub srtp_rejected: u64,
}

/// A receive port: its socket and, in WebRTC mode, its transport's SRTP and consent.
pub struct ReceivePort {
    socket: UdpSocket,
    webrtc: Option<(SrtpSession, ConsentCheck)>,
}

impl ReceivePort {
    pub fn plain(socket: UdpSocket) -> Self {
        ReceivePort {
            socket,
            webrtc: None,
        }
    }

    /// A connected WebRTC transport's port.
    pub fn webrtc(link: Link) -> Result<Self, String> {
        Ok(ReceivePort {
            webrtc: Some((link.unprotect_session()?, link.consent)),
            socket: link.socket,
        })
    }
}

/// Where the RTP payload starts (after CSRCs and a header extension), or `None` if `packet`
/// is not RTP media to count: too short, RTCP (told apart by packet type, RFC 5761) or a
/// probation packet.
pub fn media_payload_offset(packet: &[u8]) -> Option<usize> {
    if packet.len() < RTP_HEADER_LEN || packet[0] >> 6 != 2 {
        return None;
    }
    if (192..=223).contains(&packet[1]) || packet[1] & 0x7f == PROBATION_PAYLOAD_TYPE {
        return None;
    }
    let mut offset = RTP_HEADER_LEN + 4 * usize::from(packet[0] & 0x0f);
    if packet[0] & 0x10 != 0 {
        let words = packet.get(offset + 2..offset + 4)?;
        offset += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    (offset <= packet.len()).then_some(offset)
}

fn send_time_nanos(packet: &[u8], payload_offset: usize) -> Option<u64> {
    let start = payload_offset + SEND_TIME_OFFSET;
    let bytes = packet.get(start..start + 8)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

struct Receiver {
    ports: Vec<Port>,
    latency: LatencyHistogram,
    unstamped: u64,
    srtp_auth_failures: u64,
    srtp_rejected: u64,
}

impl Receiver {
    fn new(ports: usize) -> Self {
        Receiver {
            ports: (0..ports).map(|_| Port::default()).collect(),
            latency: LatencyHistogram::default(),
            unstamped: 0,
            srtp_auth_failures: 0,
            srtp_rejected: 0,
        }
    }

    /// Counts an SRTP datagram once it is unprotected (in place); RTCP, STUN and DTLS are
    /// not counted.
    fn count_srtp(
        &mut self,
        port: usize,
        session: &mut SrtpSession,
        datagram: &mut [u8],
        window: Window,
        arrival_nanos: u64,
    ) {
        if classify(datagram) != DatagramKind::Rtp {
            return;
        }
        match session.unprotect_rtp(datagram) {
            Ok(len) => self.count(port, &datagram[..len], window, arrival_nanos),
            Err(SrtpError::AuthenticationFailed { .. }) => self.srtp_auth_failures += 1,
            Err(_) => self.srtp_rejected += 1,
        }
    }

    fn count(&mut self, port: usize, packet: &[u8], window: Window, arrival_nanos: u64) {
        let Some(payload_offset) = media_payload_offset(packet) else {
            return;
        };
        let port = &mut self.ports[port];
        port.received += 1;
        // A send time from the future is not one: the payload was encrypted on the way out.
        // Such a packet is measured by its arrival time instead.
        let send_time =
            send_time_nanos(packet, payload_offset).filter(|&sent| sent <= arrival_nanos);
        let stamp = send_time.unwrap_or(arrival_nanos);
        if stamp < window.from_nanos || stamp >= window.to_nanos {
            return;
        }
        port.received_measured += 1;
        match send_time {
            Some(sent) => self.latency.record((arrival_nanos - sent) / 1000),
            None => self.unstamped += 1,
        }
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        let sequence = u16::from_be_bytes([packet[2], packet[3]]);
        let index = match port.streams.iter().position(|(known, _)| *known == ssrc) {
            Some(index) => index,
            None => {
                port.streams.push((ssrc, SequenceTracker::default()));
                port.streams.len() - 1
            }
        };
        port.streams[index].1.observe(sequence);
    }

    fn report(self) -> ReceiveReport {
        let trackers = || {
            self.ports
                .iter()
                .flat_map(|port| &port.streams)
                .map(|s| &s.1)
        };
        ReceiveReport {
            received: self.ports.iter().map(|port| port.received).sum(),
            received_measured: self.ports.iter().map(|port| port.received_measured).sum(),
            per_port_measured: self.ports.iter().map(|p| p.received_measured).collect(),
            gaps: trackers().map(|tracker| tracker.gaps).sum(),
            reordered: trackers().map(|tracker| tracker.reordered).sum(),
            lost: trackers().map(SequenceTracker::lost).sum(),
            unstamped: self.unstamped,
            latency: self.latency,
            srtp_auth_failures: self.srtp_auth_failures,
            srtp_rejected: self.srtp_rejected,
        }
    }
}

/// Binds every port, non-blocking, with a receive buffer sized for fan-out bursts.
pub fn bind(addresses: &[SocketAddr]) -> Result<Vec<UdpSocket>, String> {
    addresses
        .iter()
        .map(|address| {
            let socket = UdpSocket::bind(address)
                .map_err(|error| format!("receive port {address}: {error}"))?;
            enlarge_receive_buffer(&socket, addresses.len());
            socket
                .set_nonblocking(true)
                .map_err(|error| error.to_string())?;
            Ok(socket)
        })
        .collect()
}

/// Counts on a thread until `until` what arrives at `ports` (bound before, so nothing
/// forwarded before the thread starts is refused).
pub fn spawn(
    ports: Vec<ReceivePort>,
    epoch: Instant,
    window: Window,
    until: Instant,
) -> Result<JoinHandle<ReceiveReport>, String> {
    let poll = Poll::new().map_err(|error| error.to_string())?;
    for (index, port) in ports.iter().enumerate() {
        poll.registry()
            .register(
                &mut SourceFd(&port.socket.as_raw_fd()),
                Token(index),
                Interest::READABLE,
            )
            .map_err(|error| error.to_string())?;
    }
    Ok(std::thread::spawn(move || {
        receive(poll, ports, epoch, window, until)
    }))
}

fn receive(
    mut poll: Poll,
    mut ports: Vec<ReceivePort>,
    epoch: Instant,
    window: Window,
    until: Instant,
) -> ReceiveReport {
    let mut receiver = Receiver::new(ports.len());
    let mut events = Events::with_capacity(1024);
    let mut batch = RecvBatch::default();
    let mut next_consent = epoch + CONSENT_INTERVAL;
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        if now >= next_consent {
            next_consent += CONSENT_INTERVAL;
            for port in &mut ports {
                if let Some((_, consent)) = port.webrtc.as_mut() {
                    consent.send(&port.socket);
                }
            }
        }
        if poll.poll(&mut events, Some(POLL_TIMEOUT)).is_err() {
            continue;
        }
        for event in &events {
            let index = event.token().0;
            let port = &mut ports[index];
            // Edge-triggered: read until the socket is empty.
            while let Ok(count @ 1..) = recv_batch(&port.socket, &mut batch) {
                let arrival_nanos = epoch.elapsed().as_nanos() as u64;
                for datagram in 0..count {
                    let Some((buffer, len, _)) = batch.datagram_mut(datagram) else {
                        continue;
                    };
                    match port.webrtc.as_mut() {
                        Some((session, _)) => receiver.count_srtp(
                            index,
                            session,
                            &mut buffer[..len],
                            window,
                            arrival_nanos,
                        ),
                        None => receiver.count(index, &buffer[..len], window, arrival_nanos),
                    }
                }
            }
        }
    }
    receiver.report()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(second_byte: u8, csrcs: u8, extension_words: Option<u16>, payload: &[u8]) -> Vec<u8> {
        let mut packet = vec![0x80 | csrcs | if extension_words.is_some() { 0x10 } else { 0 }];
        packet.extend_from_slice(&[second_byte, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9]);
        packet.extend(std::iter::repeat_n(0, 4 * usize::from(csrcs)));
        if let Some(words) = extension_words {
            packet.extend_from_slice(&[0xbe, 0xde]);
            packet.extend_from_slice(&words.to_be_bytes());
            packet.extend(std::iter::repeat_n(0, 4 * usize::from(words)));
        }
        packet.extend_from_slice(payload);
        packet
    }

    #[test]
    fn the_payload_starts_after_csrcs_and_the_header_extension() {
        assert_eq!(media_payload_offset(&rtp(96, 0, None, &[1])), Some(12));
        assert_eq!(
            media_payload_offset(&rtp(96, 2, Some(3), &[1])),
            Some(12 + 8 + 4 + 12)
        );
    }

    #[test]
    fn rtcp_probation_and_runts_are_not_media() {
        assert_eq!(media_payload_offset(&rtp(200, 0, None, &[])), None);
        assert_eq!(media_payload_offset(&rtp(127, 0, None, &[1])), None);
        assert_eq!(media_payload_offset(&rtp(0x80 | 127, 0, None, &[1])), None);
        assert_eq!(media_payload_offset(&[0x80, 96, 0]), None);
        // An extension header claiming more words than the packet has.
        let mut truncated = rtp(96, 0, Some(1), &[]);
        truncated.truncate(14);
        assert_eq!(media_payload_offset(&truncated), None);
    }

    #[test]
    fn only_packets_sent_in_the_window_are_measured() {
        let mut receiver = Receiver::new(1);
        let window = Window {
            from_nanos: 1_000_000,
            to_nanos: 2_000_000,
        };
        for (sequence, sent) in [(1u8, 500_000u64), (2, 1_200_000), (4, 1_500_000)] {
            let mut payload = vec![0u8; 24];
            payload[16..].copy_from_slice(&sent.to_be_bytes());
            let mut packet = rtp(96, 0, None, &payload);
            packet[3] = sequence;
            receiver.count(0, &packet, window, sent + 300_000);
        }
        let report = receiver.report();
        assert_eq!((report.received, report.received_measured), (3, 2));
        assert_eq!((report.gaps, report.lost), (1, 1));
        assert_eq!(report.latency.percentile(0.5), Some(300));
    }

    #[test]
    fn srtp_is_counted_once_unprotected_and_forgeries_apart() {
        let profile = mediasoup_py_loadgen::webrtc::SRTP_PROFILE;
        let (key, salt) = (vec![1u8; profile.key_len()], vec![2u8; profile.salt_len()]);
        let mut sender = SrtpSession::new(profile, &key, &salt).unwrap();
        let mut session = SrtpSession::new(profile, &key, &salt).unwrap();
        let mut receiver = Receiver::new(1);
        let window = Window {
            from_nanos: 0,
            to_nanos: u64::MAX,
        };
        let mut protected = |sequence: u8| {
            let mut payload = vec![0u8; 24];
            payload[16..].copy_from_slice(&1_000u64.to_be_bytes());
            let mut packet = rtp(96, 0, None, &payload);
            packet[3] = sequence;
            let len = packet.len();
            packet.resize(len + profile.rtp_tag_len(), 0);
            let len = sender.protect_rtp(&mut packet, len).unwrap();
            packet.truncate(len);
            packet
        };
        let mut good = protected(1);
        let mut forged = protected(2);
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let mut replayed = good.clone();
        let mut rtcp = rtp(200, 0, None, &[0; 20]);
        for datagram in [&mut good, &mut forged, &mut replayed, &mut rtcp] {
            receiver.count_srtp(0, &mut session, datagram, window, 301_000);
        }
        let report = receiver.report();
        assert_eq!(report.received, 1);
        assert_eq!(report.latency.percentile(0.5), Some(300));
        assert_eq!((report.srtp_auth_failures, report.srtp_rejected), (1, 1));
    }
}
