//! The connection of a PlainTransport: plain RTP/RTCP (optionally SRTP with keys exchanged in
//! signaling), to a remote address given by `connect()` or learned from the first packet
//! (`comedia`). This is how ffmpeg and GStreamer send media into a router and record it.
//!
//! mediasoup's rules: before the remote address is known nothing is sent and (without
//! comedia) nothing is accepted; once known, packets from any other address are dropped, so
//! a third party cannot inject media into the stream. With SRTP, comedia learns the address
//! of the first packet that authenticates: anyone can send the first datagram, and a forged
//! one must not take the transport from the sender that holds the key.
//!
//! With SCTP enabled (`enableSctp`), SCTP packets travel on the RTP tuple as plain UDP
//! payloads, as mediasoup's plain and pipe transports send them; the association starts
//! once the tuple is known, and only the tuple's remote address may feed it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use super::datagram_sink::DatagramSink;
use super::webrtc_connection::Received;
use crate::ice::{TransportProtocol, TransportTuple};
use crate::packet::demux::{classify, DatagramKind};
use crate::sctp::{SctpAssociation, SctpConfig, SctpRole};
use crate::srtp::{SrtpError, SrtpProfile, SrtpSession};

/// The SCTP port both ends use for data channels (RFC 8841 §5 default; mediasoup's too).
const SCTP_PORT: [u8; 2] = 5000u16.to_be_bytes();

/// Whether a UDP payload is an SCTP packet between the data channel ports: source and
/// destination port 5000. (RTP and RTCP start at 128 and above, STUN at 0-3, DTLS at 20-63;
/// port 5000's high byte is 19.)
pub fn is_sctp_packet(datagram: &[u8]) -> bool {
    datagram.len() >= 12 && datagram[..2] == SCTP_PORT && datagram[2..4] == SCTP_PORT
}

/// Which of the transport's sockets a datagram arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainSocket {
    /// The RTP socket (also RTCP with rtcp-mux).
    Rtp,
    /// The separate RTCP socket (without rtcp-mux).
    Rtcp,
}

/// A change to report (mediasoup's `tuple` and `rtcptuple` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainConnectionEvent {
    /// The RTP tuple is known (connect or comedia).
    Tuple(TransportTuple),
    /// The RTCP tuple is known (without rtcp-mux).
    RtcpTuple(TransportTuple),
}

/// Dropped datagrams by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlainDropCounters {
    /// From an address other than the connected one, or before any is known.
    pub unknown_source: u64,
    /// SRTP that failed authentication or replay checks.
    pub srtp: u64,
    /// Not RTP or RTCP.
    pub not_media: u64,
    /// SCTP from an address other than the tuple's, or on a transport without SCTP.
    pub sctp_unexpected: u64,
}

/// Why a send or connect was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlainConnectionError {
    /// `connect()` with an address on a comedia transport, or twice.
    #[error("{0}")]
    InvalidState(&'static str),
    /// The remote SRTP key does not fit the suite.
    #[error(transparent)]
    Srtp(#[from] SrtpError),
    /// No remote address known yet.
    #[error("the remote address is not known yet")]
    NotConnected,
}

/// Where a datagram's source stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The connected (or learned) remote address of that socket.
    Connected,
    /// No address yet, and comedia learns this one if the packet is genuine.
    Comedia,
    /// Anyone else.
    Foreign,
}

/// The plain (S)RTP connection of one PlainTransport or PipeTransport.
#[derive(Debug)]
pub struct PlainConnection {
    local_rtp: SocketAddr,
    local_rtcp: Option<SocketAddr>,
    comedia: bool,
    tuple: Option<TransportTuple>,
    rtcp_tuple: Option<TransportTuple>,
    /// Set by `connect` when SRTP is enabled: (protect with ours, unprotect with theirs).
    srtp: Option<(SrtpSession, SrtpSession)>,
    srtp_enabled: bool,
    connected: bool,
    events: VecDeque<PlainConnectionEvent>,
    drops: PlainDropCounters,
    /// DataChannels, when the transport enabled SCTP.
    sctp: Option<SctpAssociation>,
}

impl PlainConnection {
    /// A connection on `local_rtp` (and `local_rtcp` without rtcp-mux). With `srtp_enabled`,
    /// media flows only after `connect` provided the remote key.
    pub fn new(
        local_rtp: SocketAddr,
        local_rtcp: Option<SocketAddr>,
        comedia: bool,
        srtp_enabled: bool,
    ) -> Self {
        PlainConnection {
            local_rtp,
            local_rtcp,
            comedia,
            tuple: None,
            rtcp_tuple: None,
            srtp: None,
            srtp_enabled,
            connected: false,
            events: VecDeque::new(),
            drops: PlainDropCounters::default(),
            sctp: None,
        }
    }

    /// Carries DataChannels: an SCTP association over the RTP tuple.
    pub fn with_sctp(mut self, config: SctpConfig) -> Self {
        self.sctp = Some(SctpAssociation::new(config));
        self
    }

    /// The SCTP association, when SCTP is enabled.
    pub fn sctp(&self) -> Option<&SctpAssociation> {
        self.sctp.as_ref()
    }

    /// Starts SCTP once the tuple is known (after `connect`, or the comedia `Tuple` event).
    /// Both ends of a plain link may connect; the one whose address sorts lower sends the
    /// INIT, so two of our transports piped together agree without a role in signaling, and
    /// a peer that always connects (mediasoup) meets a server or resolves the collision.
    pub fn start_sctp(&mut self, now: Instant, out: &mut impl DatagramSink) {
        let (Some(sctp), Some(tuple)) = (self.sctp.as_mut(), self.tuple) else {
            return;
        };
        let role = if tuple.local < tuple.remote {
            SctpRole::Client
        } else {
            SctpRole::Server
        };
        sctp.start(role);
        self.flush_sctp(now, out);
    }

    /// Handles an SCTP packet (see [`is_sctp_packet`]) that arrived on the RTP socket.
    pub fn handle_sctp_datagram(
        &mut self,
        source: SocketAddr,
        datagram: &[u8],
        now: Instant,
        out: &mut impl DatagramSink,
    ) {
        let from_tuple = self.tuple.is_some_and(|tuple| tuple.remote == source);
        match self.sctp.as_mut() {
            Some(sctp) if from_tuple => sctp.handle_packet(datagram, now),
            _ => {
                self.drops.sctp_unexpected += 1;
                return;
            }
        }
        self.flush_sctp(now, out);
    }

    /// Runs `operation` on the SCTP association and sends what it queued; `None` when SCTP
    /// is not enabled.
    pub fn with_sctp_association<R>(
        &mut self,
        now: Instant,
        out: &mut impl DatagramSink,
        operation: impl FnOnce(&mut SctpAssociation) -> R,
    ) -> Option<R> {
        let result = operation(self.sctp.as_mut()?);
        self.flush_sctp(now, out);
        Some(result)
    }

    /// When [`Self::handle_timeout`] must run (SCTP retransmission).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sctp.as_ref().and_then(SctpAssociation::poll_timeout)
    }

    /// Runs SCTP's timers.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut impl DatagramSink) {
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.handle_timeout(now);
        }
        self.flush_sctp(now, out);
    }

    /// Ends SCTP (transport close): nothing of it remains.
    pub fn close(&mut self) {
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.close();
        }
    }

    fn flush_sctp(&mut self, now: Instant, out: &mut impl DatagramSink) {
        let (Some(sctp), Some(tuple)) = (self.sctp.as_mut(), self.tuple) else {
            return;
        };
        while let Some(packet) = sctp.poll_transmit(now) {
            out.send(&tuple, &packet);
        }
    }

    /// The RTP tuple, once known.
    pub fn tuple(&self) -> Option<TransportTuple> {
        self.tuple
    }

    /// The RTCP tuple, once known (without rtcp-mux).
    pub fn rtcp_tuple(&self) -> Option<TransportTuple> {
        self.rtcp_tuple
    }

    /// Dropped datagrams by reason.
    pub fn drops(&self) -> PlainDropCounters {
        self.drops
    }

    /// The next change to report.
    pub fn poll_event(&mut self) -> Option<PlainConnectionEvent> {
        self.events.pop_front()
    }

    /// mediasoup's `connect({ip, port, rtcpPort, srtpParameters})`: the remote address
    /// (not with comedia) and, with SRTP, the suite, our key and the remote key.
    pub fn connect(
        &mut self,
        remote_rtp: Option<SocketAddr>,
        remote_rtcp: Option<SocketAddr>,
        srtp: Option<SrtpKeys<'_>>,
    ) -> Result<(), PlainConnectionError> {
        if self.connected {
            return Err(PlainConnectionError::InvalidState(
                "connect() already called",
            ));
        }
        if self.comedia && remote_rtp.is_some() {
            return Err(PlainConnectionError::InvalidState(
                "cannot give ip/port to connect() with comedia enabled",
            ));
        }
        if !self.comedia && remote_rtp.is_none() {
            return Err(PlainConnectionError::InvalidState(
                "connect() needs ip and port when comedia is off",
            ));
        }
        match (self.srtp_enabled, srtp) {
            (true, Some(keys)) => {
                let send = session_from_key_and_salt(keys.profile, keys.local)?;
                let receive = session_from_key_and_salt(keys.profile, keys.remote)?;
                self.srtp = Some((send, receive));
            }
            (true, None) => {
                return Err(PlainConnectionError::InvalidState(
                    "SRTP is enabled: connect() needs srtpParameters",
                ))
            }
            (false, Some(_)) => {
                return Err(PlainConnectionError::InvalidState(
                    "SRTP is not enabled on this transport",
                ))
            }
            (false, None) => {}
        }
        self.connected = true;
        if let Some(remote) = remote_rtp {
            self.set_tuple(remote);
        }
        if let (Some(remote), Some(local)) = (remote_rtcp, self.local_rtcp) {
            self.set_rtcp_tuple(local, remote);
        }
        Ok(())
    }

    fn set_tuple(&mut self, remote: SocketAddr) {
        let tuple = TransportTuple {
            local: self.local_rtp,
            remote,
            protocol: TransportProtocol::Udp,
        };
        self.tuple = Some(tuple);
        self.events.push_back(PlainConnectionEvent::Tuple(tuple));
    }

    fn set_rtcp_tuple(&mut self, local: SocketAddr, remote: SocketAddr) {
        let tuple = TransportTuple {
            local,
            remote,
            protocol: TransportProtocol::Udp,
        };
        self.rtcp_tuple = Some(tuple);
        self.events
            .push_back(PlainConnectionEvent::RtcpTuple(tuple));
    }

    /// Handles one received datagram (decrypted in place with SRTP).
    pub fn handle_datagram(
        &mut self,
        socket: PlainSocket,
        source: SocketAddr,
        buffer: &mut [u8],
    ) -> Received {
        let kind = classify(buffer);
        if !matches!(kind, DatagramKind::Rtp | DatagramKind::Rtcp) {
            self.drops.not_media += 1;
            return Received::Nothing;
        }
        let standing = self.source_standing(socket, source, kind);
        if standing == Source::Foreign || (self.srtp_enabled && self.srtp.is_none()) {
            self.drops.unknown_source += 1;
            return Received::Nothing;
        }
        let unprotected = match (&mut self.srtp, kind) {
            (None, DatagramKind::Rtp) => Ok(Received::Rtp(buffer.len())),
            (None, _) => Ok(Received::Rtcp(buffer.len())),
            (Some((_, receive)), DatagramKind::Rtp) => {
                receive.unprotect_rtp(buffer).map(Received::Rtp)
            }
            (Some((_, receive)), _) => receive.unprotect_rtcp(buffer).map(Received::Rtcp),
        };
        let Ok(received) = unprotected else {
            self.drops.srtp += 1;
            return Received::Nothing;
        };
        if standing == Source::Comedia {
            match (socket, self.local_rtcp) {
                (PlainSocket::Rtp, _) => self.set_tuple(source),
                (PlainSocket::Rtcp, Some(local)) => self.set_rtcp_tuple(local, source),
                (PlainSocket::Rtcp, None) => {}
            }
        }
        received
    }

    /// Whether a datagram from `source` on `socket` comes from the connected address, may
    /// teach comedia its address, or comes from anyone else.
    fn source_standing(
        &self,
        socket: PlainSocket,
        source: SocketAddr,
        kind: DatagramKind,
    ) -> Source {
        let known = match socket {
            PlainSocket::Rtp => self.tuple,
            PlainSocket::Rtcp => self.rtcp_tuple,
        };
        let learnable = match socket {
            PlainSocket::Rtp => kind == DatagramKind::Rtp,
            PlainSocket::Rtcp => self.local_rtcp.is_some(),
        };
        match known {
            Some(tuple) if tuple.remote == source => Source::Connected,
            None if self.comedia && learnable => Source::Comedia,
            _ => Source::Foreign,
        }
    }

    /// Sends an RTP packet `buffer[..len]` (protected in place with SRTP) to the tuple.
    pub fn send_rtp(
        &mut self,
        buffer: &mut [u8],
        len: usize,
        out: &mut impl DatagramSink,
    ) -> Result<(), PlainConnectionError> {
        let tuple = self.tuple.ok_or(PlainConnectionError::NotConnected)?;
        let len = match &mut self.srtp {
            Some((send, _)) => send.protect_rtp(buffer, len)?,
            None => len,
        };
        out.send(&tuple, buffer.get(..len).unwrap_or_default());
        Ok(())
    }

    /// Sends an RTCP compound `buffer[..len]` (protected in place with SRTCP) to the RTCP
    /// tuple, or the RTP tuple with rtcp-mux.
    pub fn send_rtcp(
        &mut self,
        buffer: &mut [u8],
        len: usize,
        out: &mut impl DatagramSink,
    ) -> Result<(), PlainConnectionError> {
        let tuple = match self.local_rtcp {
            Some(_) => self.rtcp_tuple,
            None => self.tuple,
        }
        .ok_or(PlainConnectionError::NotConnected)?;
        let len = match &mut self.srtp {
            Some((send, _)) => send.protect_rtcp(buffer, len)?,
            None => len,
        };
        out.send(&tuple, buffer.get(..len).unwrap_or_default());
        Ok(())
    }
}

/// A session from mediasoup's `keyBase64` layout: master key then master salt.
fn session_from_key_and_salt(
    profile: SrtpProfile,
    key_and_salt: &[u8],
) -> Result<SrtpSession, SrtpError> {
    let expected = profile.key_len() + profile.salt_len();
    if key_and_salt.len() != expected {
        return Err(SrtpError::KeyLength {
            profile: profile.name(),
            expected,
            got: key_and_salt.len(),
        });
    }
    let (key, salt) = key_and_salt.split_at(profile.key_len());
    SrtpSession::new(profile, key, salt)
}

/// The SRTP keys `connect` installs: one suite, our master key+salt and the remote's
/// (mediasoup's `keyBase64` is key || salt).
#[derive(Debug, Clone, Copy)]
pub struct SrtpKeys<'a> {
    /// The crypto suite both sides use.
    pub profile: SrtpProfile,
    /// Our key || salt, announced in `srtpParameters`.
    pub local: &'a [u8],
    /// The remote key || salt from `connect`.
    pub remote: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn rtp(sequence: u16) -> Vec<u8> {
        let mut packet = vec![0x80, 96];
        packet.extend(sequence.to_be_bytes());
        packet.extend([0, 0, 0, 1, 0, 0, 0, 9]);
        packet.extend([5u8; 40]);
        packet
    }

    #[test]
    fn two_connections_carry_data_channels_over_plain_udp() {
        use crate::sctp::{Ppid, SctpEvent, SctpState, StreamReliability};
        use bytes::Bytes;

        let now = Instant::now();
        let mut a = PlainConnection::new(address(4000), None, false, false)
            .with_sctp(SctpConfig::default());
        let mut b = PlainConnection::new(address(4100), None, false, false)
            .with_sctp(SctpConfig::default());
        a.connect(Some(address(4100)), None, None).unwrap();
        b.connect(Some(address(4000)), None, None).unwrap();
        let mut to_b: Vec<(TransportTuple, Vec<u8>)> = Vec::new();
        let mut to_a: Vec<(TransportTuple, Vec<u8>)> = Vec::new();
        a.start_sctp(now, &mut to_b);
        b.start_sctp(now, &mut to_a);
        let pump = |a: &mut PlainConnection,
                    b: &mut PlainConnection,
                    to_a: &mut Vec<(TransportTuple, Vec<u8>)>,
                    to_b: &mut Vec<(TransportTuple, Vec<u8>)>| {
            for _ in 0..100 {
                if to_a.is_empty() && to_b.is_empty() {
                    break;
                }
                for (_, datagram) in std::mem::take(to_b) {
                    assert!(is_sctp_packet(&datagram));
                    b.handle_sctp_datagram(address(4000), &datagram, now, to_a);
                }
                for (_, datagram) in std::mem::take(to_a) {
                    a.handle_sctp_datagram(address(4100), &datagram, now, to_b);
                }
            }
        };
        pump(&mut a, &mut b, &mut to_a, &mut to_b);
        assert_eq!(a.sctp().unwrap().state(), SctpState::Connected);
        assert_eq!(b.sctp().unwrap().state(), SctpState::Connected);
        a.with_sctp_association(now, &mut to_b, |sctp| {
            sctp.open_stream(0, StreamReliability::default()).unwrap();
            sctp.send(0, Ppid::String, &Bytes::from_static(b"piped"))
                .unwrap();
        });
        pump(&mut a, &mut b, &mut to_a, &mut to_b);
        let received = b
            .with_sctp_association(now, &mut to_a, |sctp| {
                std::iter::from_fn(|| sctp.poll_event()).collect::<Vec<_>>()
            })
            .unwrap();
        assert!(received.contains(&SctpEvent::Message {
            stream_id: 0,
            ppid: Ppid::String,
            payload: Bytes::from_static(b"piped"),
        }));
        // SCTP from anyone but the tuple's remote is counted and ignored.
        let mut stray = Vec::new();
        a.with_sctp_association(now, &mut stray, |sctp| {
            sctp.send(0, Ppid::String, &Bytes::from_static(b"x"))
                .unwrap();
        });
        b.handle_sctp_datagram(address(9999), &stray[0].1, now, &mut to_a);
        assert_eq!(b.drops().sctp_unexpected, 1);
        a.close();
        assert!(a.sctp().unwrap().is_released());
    }

    #[test]
    fn comedia_learns_the_first_sender_and_ignores_others() {
        let mut connection = PlainConnection::new(address(4000), None, true, false);
        connection.connect(None, None, None).unwrap();
        let mut first = rtp(1);
        assert_eq!(
            connection.handle_datagram(PlainSocket::Rtp, address(5000), &mut first),
            Received::Rtp(first.len())
        );
        assert_eq!(
            connection.poll_event(),
            Some(PlainConnectionEvent::Tuple(TransportTuple {
                local: address(4000),
                remote: address(5000),
                protocol: TransportProtocol::Udp
            }))
        );
        let mut intruder = rtp(2);
        assert_eq!(
            connection.handle_datagram(PlainSocket::Rtp, address(6000), &mut intruder),
            Received::Nothing
        );
        let mut garbage = vec![1, 2, 3];
        connection.handle_datagram(PlainSocket::Rtp, address(5000), &mut garbage);
        assert_eq!(
            connection.drops(),
            PlainDropCounters {
                unknown_source: 1,
                srtp: 0,
                not_media: 1,
                sctp_unexpected: 0,
            }
        );
        let mut sent = Vec::new();
        let mut packet = rtp(3);
        let len = packet.len();
        connection.send_rtp(&mut packet, len, &mut sent).unwrap();
        assert_eq!(sent[0].0.remote, address(5000));
    }

    #[test]
    fn connect_rules_and_srtp_both_ways() {
        let mut plain = PlainConnection::new(address(4000), None, false, false);
        assert!(plain.connect(None, None, None).is_err());
        let mut early = rtp(1);
        assert_eq!(
            plain.handle_datagram(PlainSocket::Rtp, address(5000), &mut early),
            Received::Nothing
        );
        plain.connect(Some(address(5000)), None, None).unwrap();
        assert!(plain.connect(Some(address(5000)), None, None).is_err());

        let profile = SrtpProfile::AesCm128HmacSha1_80;
        let ours = [1u8; 30];
        let theirs = [2u8; 30];
        let mut secure = PlainConnection::new(address(4000), None, true, true);
        assert!(secure.connect(None, None, None).is_err());
        let short = [0u8; 29];
        assert!(matches!(
            secure.connect(
                None,
                None,
                Some(SrtpKeys {
                    profile,
                    local: &ours,
                    remote: &short
                })
            ),
            Err(PlainConnectionError::Srtp(SrtpError::KeyLength {
                expected: 30,
                got: 29,
                ..
            }))
        ));
        secure
            .connect(
                None,
                None,
                Some(SrtpKeys {
                    profile,
                    local: &ours,
                    remote: &theirs,
                }),
            )
            .unwrap();
        let mut remote_sender = SrtpSession::new(profile, &theirs[..16], &theirs[16..]).unwrap();
        let plain_packet = rtp(7);
        let mut packet = plain_packet.clone();
        packet.resize(plain_packet.len() + 10, 0);
        let len = remote_sender
            .protect_rtp(&mut packet, plain_packet.len())
            .unwrap();
        packet.truncate(len);
        let mut tampered = packet.clone();
        tampered[20] ^= 1;
        assert_eq!(
            secure.handle_datagram(PlainSocket::Rtp, address(5000), &mut packet),
            Received::Rtp(plain_packet.len())
        );
        assert_eq!(&packet[..plain_packet.len()], &plain_packet[..]);
        assert_eq!(
            secure.handle_datagram(PlainSocket::Rtp, address(5000), &mut tampered),
            Received::Nothing
        );
        assert_eq!(secure.drops().srtp, 1);

        let mut sent = Vec::new();
        let mut outgoing = rtp(8);
        let outgoing_len = outgoing.len();
        outgoing.resize(outgoing_len + 10, 0);
        secure
            .send_rtp(&mut outgoing, outgoing_len, &mut sent)
            .unwrap();
        let mut remote_receiver = SrtpSession::new(profile, &ours[..16], &ours[16..]).unwrap();
        let mut received = sent[0].1.clone();
        let len = remote_receiver.unprotect_rtp(&mut received).unwrap();
        assert_eq!(&received[..len], &rtp(8)[..]);
    }

    #[test]
    fn comedia_with_srtp_learns_the_first_sender_that_authenticates() {
        let profile = SrtpProfile::AesCm128HmacSha1_80;
        let (ours, theirs) = ([1u8; 30], [2u8; 30]);
        let mut connection = PlainConnection::new(address(4000), None, true, true);
        let keys = SrtpKeys {
            profile,
            local: &ours,
            remote: &theirs,
        };
        connection.connect(None, None, Some(keys)).unwrap();
        let mut sender = SrtpSession::new(profile, &theirs[..16], &theirs[16..]).unwrap();
        let mut protect = |sequence: u16| {
            let mut packet = rtp(sequence);
            let len = packet.len();
            packet.resize(len + 10, 0);
            let protected = sender.protect_rtp(&mut packet, len).unwrap();
            packet.truncate(protected);
            packet
        };

        // An attacker gets there first with a forged packet: it fails, and teaches nothing.
        let mut forged = protect(1);
        forged[20] ^= 1;
        assert_eq!(
            connection.handle_datagram(PlainSocket::Rtp, address(6000), &mut forged),
            Received::Nothing
        );
        assert_eq!(connection.tuple(), None);
        assert_eq!(connection.poll_event(), None);

        // The sender with the key is learned, and from then on only it is accepted.
        let mut genuine = protect(2);
        assert!(matches!(
            connection.handle_datagram(PlainSocket::Rtp, address(5000), &mut genuine),
            Received::Rtp(_)
        ));
        assert_eq!(
            connection.tuple().map(|tuple| tuple.remote),
            Some(address(5000))
        );
        let mut from_attacker = protect(3);
        assert_eq!(
            connection.handle_datagram(PlainSocket::Rtp, address(6000), &mut from_attacker),
            Received::Nothing
        );
        assert_eq!(
            connection.drops(),
            PlainDropCounters {
                unknown_source: 1,
                srtp: 1,
                not_media: 0,
                sctp_unexpected: 0,
            }
        );
    }
}
