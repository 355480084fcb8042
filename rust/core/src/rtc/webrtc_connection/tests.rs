use std::net::SocketAddr;

use bytes::Bytes;

use super::*;
use crate::crypto::certificate::{DtlsCertificate, FingerprintAlgorithm};
use crate::crypto::hmac_sha1::HmacSha1;
use crate::ice::TransportProtocol;
use crate::packet::stun::{binding_request, BindingRequest, IceRole};
use crate::sctp::{Ppid, SctpEvent, SctpState, StreamReliability};

type Sent = Vec<(TransportTuple, Vec<u8>)>;

const SERVER_ADDRESS: &str = "127.0.0.1:40000";

fn tuple(remote_port: u16) -> TransportTuple {
    TransportTuple {
        local: SERVER_ADDRESS.parse().unwrap(),
        remote: SocketAddr::from(([127, 0, 0, 1], remote_port)),
        protocol: TransportProtocol::Udp,
    }
}

/// The browser side, made of the client halves of the same protocols.
struct Client {
    certificate: DtlsCertificate,
    dtls: Option<DtlsSession>,
    context: DtlsContext,
    send: Option<SrtpSession>,
    receive: Option<SrtpSession>,
}

impl Client {
    fn new() -> Self {
        let certificate = DtlsCertificate::generate().unwrap();
        let context = DtlsContext::new(&certificate, &SrtpProfile::ALL).unwrap();
        Client {
            certificate,
            dtls: None,
            context,
            send: None,
            receive: None,
        }
    }

    fn check(&self, server: &IceParameters, use_candidate: bool, password: &str) -> Vec<u8> {
        let mut out = Vec::new();
        binding_request(
            &BindingRequest {
                transaction_id: [3; 12],
                remote_ufrag: &server.username_fragment,
                local_ufrag: "clientufrag",
                priority: 100,
                role: IceRole::Controlling { tiebreaker: 1 },
                use_candidate,
                nomination: None,
            },
            &HmacSha1::new(password.as_bytes()),
            &mut out,
        )
        .unwrap();
        out
    }

    fn start_dtls_server(&mut self, server_fingerprint: DtlsFingerprint, now: Instant) {
        self.dtls = Some(
            DtlsSession::new(&self.context, DtlsRole::Server, server_fingerprint, now).unwrap(),
        );
    }

    fn fingerprint(&self) -> DtlsFingerprint {
        self.certificate
            .fingerprint(FingerprintAlgorithm::Sha256)
            .clone()
    }

    fn take_keys(&mut self) {
        let dtls = self.dtls.as_mut().unwrap();
        while let Some(event) = dtls.poll_event() {
            if let DtlsEvent::Connected {
                srtp_profile,
                keying_material,
                ..
            } = event
            {
                let (local, remote) =
                    split_dtls_keying_material(srtp_profile, &keying_material, false).unwrap();
                self.send = Some(SrtpSession::new(srtp_profile, &local.key, &local.salt).unwrap());
                self.receive =
                    Some(SrtpSession::new(srtp_profile, &remote.key, &remote.salt).unwrap());
            }
        }
    }
}

fn rtp(sequence: u16) -> Vec<u8> {
    let mut packet = vec![0x80, 96];
    packet.extend(sequence.to_be_bytes());
    packet.extend([0, 0, 0, 1, 0xAA, 0xBB, 0xCC, 0xDD]);
    packet.extend([7u8; 100]);
    packet
}

/// Runs ICE and DTLS to completion between a client and the connection; returns them.
fn connect() -> (WebRtcConnection, Client, Instant) {
    connect_with(None)
}

/// [`connect`], with SCTP on the connection when `sctp` is given.
fn connect_with(sctp: Option<SctpConfig>) -> (WebRtcConnection, Client, Instant) {
    let now = Instant::now();
    let certificate = DtlsCertificate::generate().unwrap();
    let server_fingerprint = certificate
        .fingerprint(FingerprintAlgorithm::Sha256)
        .clone();
    let context = Arc::new(DtlsContext::new(&certificate, &SrtpProfile::ALL).unwrap());
    let parameters = IceParameters::generate().unwrap();
    let mut connection =
        WebRtcConnection::new(parameters.clone(), Some(Duration::from_secs(30)), context);
    if let Some(config) = sctp {
        connection = connection.with_sctp(config);
    }
    let mut client = Client::new();
    let mut sent = Sent::new();

    // The client announces the DTLS "server" role, so we are the DTLS client.
    connection
        .connect(
            RemoteDtlsParameters {
                role: RemoteDtlsRole::Server,
                fingerprint: client.fingerprint(),
            },
            now,
            &mut sent,
        )
        .unwrap();
    assert!(sent.is_empty(), "no DTLS before ICE");
    let mut check = client.check(&parameters, true, &parameters.password);
    assert_eq!(
        connection.handle_datagram(tuple(5000), &mut check, now, &mut sent),
        Received::Nothing
    );
    // STUN response, then our ClientHello, both to the client's tuple.
    assert!(sent.len() >= 2);
    assert!(sent.iter().all(|(to, _)| *to == tuple(5000)));
    client.start_dtls_server(server_fingerprint, now);
    let mut pending: Vec<Vec<u8>> = sent.drain(1..).map(|(_, datagram)| datagram).collect();
    for _ in 0..10 {
        let dtls = client.dtls.as_mut().unwrap();
        for datagram in pending.drain(..) {
            let _ = dtls.handle_datagram(&datagram, now);
        }
        let mut replies: Vec<Vec<u8>> = std::iter::from_fn(|| dtls.poll_datagram()).collect();
        for reply in &mut replies {
            connection.handle_datagram(tuple(5000), reply, now, &mut sent);
        }
        pending.extend(sent.drain(..).map(|(_, datagram)| datagram));
        if pending.is_empty() && replies.is_empty() {
            break;
        }
    }
    client.take_keys();
    (connection, client, now)
}

#[test]
fn ice_then_dtls_then_media_both_ways() {
    let (mut connection, mut client, now) = connect();
    assert_eq!(connection.dtls_state(), DtlsState::Connected);
    assert_eq!(connection.srtp_profile(), Some(SrtpProfile::AeadAes256Gcm));
    let events: Vec<_> = std::iter::from_fn(|| connection.poll_event()).collect();
    assert_eq!(
        events,
        [
            WebRtcConnectionEvent::IceSelectedTupleChanged(tuple(5000)),
            WebRtcConnectionEvent::IceStateChanged(IceState::Completed),
            WebRtcConnectionEvent::DtlsStateChanged(DtlsState::Connecting),
            WebRtcConnectionEvent::DtlsStateChanged(DtlsState::Connected),
        ]
    );

    // Client -> SFU.
    let plain = rtp(1);
    let mut packet = plain.clone();
    packet.resize(plain.len() + 16, 0);
    let len = client
        .send
        .as_mut()
        .unwrap()
        .protect_rtp(&mut packet, plain.len())
        .unwrap();
    packet.truncate(len);
    let mut sent = Sent::new();
    let mut from_unknown_tuple = packet.clone();
    assert_eq!(
        connection.handle_datagram(tuple(6666), &mut from_unknown_tuple, now, &mut sent),
        Received::Nothing,
        "media from a tuple that never passed a check is dropped"
    );
    assert_eq!(
        connection.handle_datagram(tuple(5000), &mut packet, now, &mut sent),
        Received::Rtp(plain.len())
    );
    assert_eq!(&packet[..plain.len()], &plain[..]);

    // SFU -> client, to the selected tuple only.
    let mut outgoing = rtp(2);
    let outgoing_len = outgoing.len();
    outgoing.resize(outgoing_len + 16, 0);
    connection
        .send_rtp(&mut outgoing, outgoing_len, &mut sent)
        .unwrap();
    let (to, mut datagram) = sent.pop().unwrap();
    assert_eq!(to, tuple(5000));
    let len = client
        .receive
        .as_mut()
        .unwrap()
        .unprotect_rtp(&mut datagram)
        .unwrap();
    assert_eq!(&datagram[..len], &rtp(2)[..]);

    // SFU -> client RTCP (a PLI), as SRTCP.
    let pli = [0x81, 206, 0, 2, 0, 0, 0, 1, 0xAA, 0xBB, 0xCC, 0xDD];
    let mut outgoing = pli.to_vec();
    outgoing.resize(pli.len() + 4 + 16, 0);
    connection
        .send_rtcp(&mut outgoing, pli.len(), &mut sent)
        .unwrap();
    let (to, mut datagram) = sent.pop().unwrap();
    assert_eq!(to, tuple(5000));
    let len = client
        .receive
        .as_mut()
        .unwrap()
        .unprotect_rtcp(&mut datagram)
        .unwrap();
    assert_eq!(&datagram[..len], &pli[..]);

    let drops = connection.drops();
    assert_eq!(drops.media_not_ready, 1);
    assert_eq!(drops.srtp, 0);
}

#[test]
fn consent_expiry_stops_media_and_a_new_check_resumes_it() {
    let (mut connection, _client, now) = connect();
    let mut sent = Sent::new();
    let later = now + Duration::from_secs(31);
    assert!(connection
        .poll_timeout()
        .is_some_and(|deadline| deadline <= later));
    connection.handle_timeout(later, &mut sent);
    assert_eq!(connection.ice().state(), IceState::Disconnected);
    let mut packet = rtp(3);
    let len = packet.len();
    packet.resize(len + 16, 0);
    assert_eq!(
        connection.send_rtp(&mut packet, len, &mut sent),
        Err(SendError::NoSelectedTuple)
    );
    assert!(sent.is_empty());

    let parameters = connection.ice().parameters().clone();
    let mut check = Client::new().check(&parameters, false, &parameters.password);
    connection.handle_datagram(tuple(5001), &mut check, later, &mut sent);
    assert_eq!(connection.ice().state(), IceState::Connected);
    sent.clear();
    connection.send_rtp(&mut packet, len, &mut sent).unwrap();
    assert_eq!(sent[0].0, tuple(5001));
}

#[test]
fn unauthenticated_and_unknown_datagrams_are_counted_not_answered_with_media() {
    let certificate = DtlsCertificate::generate().unwrap();
    let context = Arc::new(DtlsContext::new(&certificate, &SrtpProfile::ALL).unwrap());
    let parameters = IceParameters::generate().unwrap();
    let mut connection = WebRtcConnection::new(parameters.clone(), None, context);
    let mut sent = Sent::new();
    let now = Instant::now();
    let mut bad_check = Client::new().check(&parameters, true, "wrong password");
    let request_len = bad_check.len();
    connection.handle_datagram(tuple(5000), &mut bad_check, now, &mut sent);
    assert_eq!(sent.len(), 1, "a 401 goes back");
    assert!(sent[0].1.len() <= request_len);
    let mut garbage = vec![0xFF; 40];
    connection.handle_datagram(tuple(5000), &mut garbage, now, &mut sent);
    let mut client_hello = vec![22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    connection.handle_datagram(tuple(5000), &mut client_hello, now, &mut sent);
    assert_eq!(sent.len(), 1);
    let drops = connection.drops();
    assert_eq!((drops.stun, drops.unknown, drops.dtls), (1, 1, 1));
    assert_eq!(connection.ice().state(), IceState::New);
}

#[test]
fn replayed_and_tampered_srtp_from_the_selected_tuple_are_counted_and_dropped() {
    let (mut connection, mut client, now) = connect();
    let plain = rtp(9);
    let mut packet = plain.clone();
    packet.resize(plain.len() + 16, 0);
    let len = client
        .send
        .as_mut()
        .unwrap()
        .protect_rtp(&mut packet, plain.len())
        .unwrap();
    packet.truncate(len);
    let mut sent = Sent::new();
    let mut first = packet.clone();
    assert_eq!(
        connection.handle_datagram(tuple(5000), &mut first, now, &mut sent),
        Received::Rtp(plain.len())
    );
    let mut replayed = packet.clone();
    assert_eq!(
        connection.handle_datagram(tuple(5000), &mut replayed, now, &mut sent),
        Received::Nothing
    );
    let mut tampered = packet;
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    tampered[2..4].copy_from_slice(&10u16.to_be_bytes());
    assert_eq!(
        connection.handle_datagram(tuple(5000), &mut tampered, now, &mut sent),
        Received::Nothing
    );
    assert_eq!(connection.drops().srtp, 2);
    assert!(sent.is_empty(), "nothing is answered to bad media");
}

/// Moves datagrams between the connection and the client until both are quiet; the
/// client's DTLS application data goes to and from `peer`, its SCTP association.
fn pump(
    connection: &mut WebRtcConnection,
    client: &mut Client,
    peer: &mut SctpAssociation,
    now: Instant,
    sent: &mut Sent,
) {
    for _ in 0..500 {
        let mut moved = false;
        let dtls = client.dtls.as_mut().unwrap();
        for (_, datagram) in sent.drain(..) {
            moved = true;
            let _ = dtls.handle_datagram(&datagram, now);
        }
        while let Some(event) = dtls.poll_event() {
            if let DtlsEvent::ApplicationData(packet) = event {
                peer.handle_packet(&packet, now);
            }
        }
        while let Some(packet) = peer.poll_transmit(now) {
            dtls.send_application_data(&packet).unwrap();
        }
        let replies: Vec<Vec<u8>> = std::iter::from_fn(|| dtls.poll_datagram()).collect();
        for mut reply in replies {
            moved = true;
            connection.handle_datagram(tuple(5000), &mut reply, now, sent);
        }
        if !moved {
            return;
        }
    }
}

#[test]
fn data_channel_messages_ride_dtls_both_ways() {
    let (mut connection, mut client, now) = connect_with(Some(SctpConfig::default()));
    let mut peer = SctpAssociation::new(SctpConfig::default());
    // The client is the DTLS server, so its SCTP answers our INIT.
    peer.start(SctpRole::Server);
    let mut sent = Sent::new();
    // The first INIT went out with the last DTLS flight, before the client's association
    // existed; the retransmission finds it.
    let later = now + Duration::from_secs(2);
    connection.handle_timeout(later, &mut sent);
    pump(&mut connection, &mut client, &mut peer, later, &mut sent);
    assert_eq!(peer.state(), SctpState::Connected);
    assert_eq!(
        connection.sctp().map(SctpAssociation::state),
        Some(SctpState::Connected)
    );

    connection
        .with_sctp_association(later, &mut sent, |sctp| {
            sctp.open_stream(1, StreamReliability::default())
        })
        .unwrap()
        .unwrap();
    connection
        .with_sctp_association(later, &mut sent, |sctp| {
            sctp.send(1, Ppid::String, &Bytes::from_static(b"hello"))
        })
        .unwrap()
        .unwrap();
    pump(&mut connection, &mut client, &mut peer, later, &mut sent);
    let to_peer: Vec<SctpEvent> = std::iter::from_fn(|| peer.poll_event()).collect();
    assert!(to_peer.contains(&SctpEvent::Message {
        stream_id: 1,
        ppid: Ppid::String,
        payload: Bytes::from_static(b"hello"),
    }));

    let large = Bytes::from(vec![42u8; 100_000]);
    peer.open_stream(2, StreamReliability::default()).unwrap();
    peer.send(2, Ppid::Binary, &large).unwrap();
    pump(&mut connection, &mut client, &mut peer, later, &mut sent);
    let from_peer: Vec<SctpEvent> = connection
        .with_sctp_association(later, &mut sent, |sctp| {
            std::iter::from_fn(|| sctp.poll_event()).collect()
        })
        .unwrap();
    assert!(from_peer.contains(&SctpEvent::Message {
        stream_id: 2,
        ppid: Ppid::Binary,
        payload: large,
    }));

    // Closing the transport ends the association and leaves nothing of it.
    connection.close(&mut sent);
    assert!(connection.sctp().unwrap().is_released());
    assert_eq!(connection.sctp().unwrap().state(), SctpState::Closed);
}

#[test]
fn application_data_without_sctp_is_counted() {
    let (mut connection, mut client, now) = connect();
    let dtls = client.dtls.as_mut().unwrap();
    dtls.send_application_data(b"not for anyone").unwrap();
    let mut sent = Sent::new();
    for mut datagram in std::iter::from_fn(|| dtls.poll_datagram()).collect::<Vec<_>>() {
        connection.handle_datagram(tuple(5000), &mut datagram, now, &mut sent);
    }
    assert_eq!(connection.drops().application_data, 1);
    assert!(connection.sctp().is_none());
}
