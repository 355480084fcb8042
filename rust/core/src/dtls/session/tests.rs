use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::crypto::certificate::{DtlsCertificate, FingerprintAlgorithm};

struct Peer {
    certificate: DtlsCertificate,
    context: DtlsContext,
}

fn peer(profiles: &[SrtpProfile]) -> Peer {
    let certificate = DtlsCertificate::generate().unwrap();
    let context = DtlsContext::new(&certificate, profiles).unwrap();
    Peer {
        certificate,
        context,
    }
}

fn fingerprint_of(peer: &Peer) -> DtlsFingerprint {
    peer.certificate
        .fingerprint(FingerprintAlgorithm::Sha256)
        .clone()
}

/// Delivers every queued datagram in both directions until both sides are quiet.
fn shuttle(client: &mut DtlsSession, server: &mut DtlsSession, now: Instant) {
    for _ in 0..20 {
        let mut moved = false;
        while let Some(datagram) = client.poll_datagram() {
            moved = true;
            let _ = server.handle_datagram(&datagram, now);
        }
        while let Some(datagram) = server.poll_datagram() {
            moved = true;
            let _ = client.handle_datagram(&datagram, now);
        }
        if !moved {
            return;
        }
    }
}

fn connected(session: &mut DtlsSession) -> Option<(SrtpProfile, Vec<u8>, Vec<u8>)> {
    std::iter::from_fn(|| session.poll_event()).find_map(|event| match event {
        DtlsEvent::Connected {
            srtp_profile,
            keying_material,
            remote_certificate_der,
        } => Some((srtp_profile, keying_material, remote_certificate_der)),
        _ => None,
    })
}

fn pair(
    client_profiles: &[SrtpProfile],
    server_profiles: &[SrtpProfile],
) -> (Peer, Peer, DtlsSession, DtlsSession) {
    let now = Instant::now();
    let client_peer = peer(client_profiles);
    let server_peer = peer(server_profiles);
    let client = DtlsSession::new(
        &client_peer.context,
        DtlsRole::Client,
        fingerprint_of(&server_peer),
        now,
    )
    .unwrap();
    let server = DtlsSession::new(
        &server_peer.context,
        DtlsRole::Server,
        fingerprint_of(&client_peer),
        now,
    )
    .unwrap();
    (client_peer, server_peer, client, server)
}

#[test]
fn handshake_agrees_on_profile_and_keys() {
    let (client_peer, server_peer, mut client, mut server) =
        pair(&SrtpProfile::ALL, &SrtpProfile::ALL);
    assert_eq!(client.state(), DtlsState::Connecting);
    assert!(
        client.poll_timeout().is_some(),
        "ClientHello retransmission is armed"
    );
    shuttle(&mut client, &mut server, Instant::now());
    assert_eq!(
        (client.state(), server.state()),
        (DtlsState::Connected, DtlsState::Connected)
    );
    let (client_profile, client_keys, server_cert) = connected(&mut client).unwrap();
    let (server_profile, server_keys, client_cert) = connected(&mut server).unwrap();
    // The client's first preference wins.
    assert_eq!(client_profile, SrtpProfile::AeadAes256Gcm);
    assert_eq!(server_profile, client_profile);
    assert_eq!(client_keys, server_keys);
    assert_eq!(client_keys.len(), client_profile.keying_material_len());
    assert_eq!(
        server_cert,
        server_peer.certificate.certificate().to_der().unwrap()
    );
    assert_eq!(
        client_cert,
        client_peer.certificate.certificate().to_der().unwrap()
    );
    assert_eq!(client.poll_timeout(), None);

    // Application data (SCTP would be) goes through, then close_notify closes the peer.
    client.send_application_data(b"sctp").unwrap();
    shuttle(&mut client, &mut server, Instant::now());
    assert_eq!(
        server.poll_event(),
        Some(DtlsEvent::ApplicationData(b"sctp".to_vec()))
    );
    client.close();
    shuttle(&mut client, &mut server, Instant::now());
    assert_eq!(server.state(), DtlsState::Closed);
    assert_eq!(server.poll_event(), Some(DtlsEvent::Closed));
}

#[test]
fn every_profile_negotiates_alone() {
    for profile in SrtpProfile::ALL {
        let (_, _, mut client, mut server) = pair(&[profile], &SrtpProfile::ALL);
        shuttle(&mut client, &mut server, Instant::now());
        let (negotiated, keys, _) = connected(&mut server).unwrap();
        assert_eq!(negotiated, profile);
        assert_eq!(keys.len(), profile.keying_material_len());
    }
}

#[test]
fn a_certificate_that_does_not_match_the_fingerprint_fails() {
    let now = Instant::now();
    let client_peer = peer(&SrtpProfile::ALL);
    let server_peer = peer(&SrtpProfile::ALL);
    let impostor = peer(&SrtpProfile::ALL);
    let mut client = DtlsSession::new(
        &client_peer.context,
        DtlsRole::Client,
        fingerprint_of(&impostor),
        now,
    )
    .unwrap();
    let mut server = DtlsSession::new(
        &server_peer.context,
        DtlsRole::Server,
        fingerprint_of(&client_peer),
        now,
    )
    .unwrap();
    shuttle(&mut client, &mut server, now);
    assert_eq!(client.state(), DtlsState::Failed);
    assert!(
        matches!(client.poll_event(), Some(DtlsEvent::Failed(reason)) if reason.contains("fingerprint"))
    );
    assert!(connected(&mut client).is_none());
}

#[test]
fn a_lost_flight_is_retransmitted_when_the_timer_expires() {
    let (_, _, mut client, mut server) = pair(&SrtpProfile::ALL, &SrtpProfile::ALL);
    // Lose the ClientHello.
    while client.poll_datagram().is_some() {}
    let deadline = client.poll_timeout().unwrap();
    let start = Instant::now();
    // OpenSSL's timer runs on the wall clock: wait for it for real (about one second).
    std::thread::sleep(deadline.saturating_duration_since(start) + Duration::from_millis(50));
    client.handle_timeout(Instant::now());
    let resent: Vec<Vec<u8>> = std::iter::from_fn(|| client.poll_datagram()).collect();
    assert!(!resent.is_empty(), "ClientHello resent");
    for datagram in &resent {
        server.handle_datagram(datagram, Instant::now()).unwrap();
    }
    shuttle(&mut client, &mut server, Instant::now());
    assert_eq!(
        (client.state(), server.state()),
        (DtlsState::Connected, DtlsState::Connected)
    );
}

#[test]
fn a_malformed_client_hello_fails_the_server_without_connecting() {
    let server_peer = peer(&SrtpProfile::ALL);
    let client_peer = peer(&SrtpProfile::ALL);
    let mut server = DtlsSession::new(
        &server_peer.context,
        DtlsRole::Server,
        fingerprint_of(&client_peer),
        Instant::now(),
    )
    .unwrap();
    // A handshake record header announcing a ClientHello with a truncated body.
    let garbage = [22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 9];
    let _ = server.handle_datagram(&garbage, Instant::now());
    assert_ne!(server.state(), DtlsState::Connected);
    assert!(connected(&mut server).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary datagrams into a fresh server never panic and never connect it.
    #[test]
    fn arbitrary_datagrams_never_panic(datagrams in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..200), 1..4)
    ) {
        thread_local! {
            static SERVER: (DtlsContext, DtlsFingerprint) = {
                let server = peer(&SrtpProfile::ALL);
                let client = peer(&SrtpProfile::ALL);
                (server.context, fingerprint_of(&client))
            };
        }
        SERVER.with(|(context, fingerprint)| {
            let mut session =
                DtlsSession::new(context, DtlsRole::Server, fingerprint.clone(), Instant::now())
                    .unwrap();
            for datagram in &datagrams {
                let _ = session.handle_datagram(datagram, Instant::now());
            }
            assert_ne!(session.state(), DtlsState::Connected);
        });
    }
}

/// OpenSSL 3.0 fails a whole connection on a protected record too short for its cipher; such
/// records (anyone who can spoof the client's address could send them) are refused first.
#[test]
fn short_protected_records_are_refused_and_the_session_survives() {
    let (_, _, mut client, mut server) = pair(&SrtpProfile::ALL, &SrtpProfile::ALL);
    shuttle(&mut client, &mut server, Instant::now());
    assert_eq!(server.state(), DtlsState::Connected);
    for len in 1..64u16 {
        // application_data, DTLS 1.2, epoch 1, sequence 99, then `len` bytes.
        let mut record = vec![23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 99];
        record.extend(len.to_be_bytes());
        record.extend(std::iter::repeat_n(0xAA, usize::from(len)));
        let outcome = server.handle_datagram(&record, Instant::now());
        // Below every cipher's minimum the record never reaches OpenSSL; above it, OpenSSL
        // discards the forgery (its tag cannot verify).
        if len < 16 {
            assert!(
                matches!(outcome, Err(DtlsError::ProtectedRecordTooShort { .. })),
                "{len}: {outcome:?}"
            );
        }
        assert_eq!(
            server.state(),
            DtlsState::Connected,
            "after a {len}-byte record"
        );
    }
    assert_eq!(server.state(), DtlsState::Connected);
    client.send_application_data(b"still here").unwrap();
    shuttle(&mut client, &mut server, Instant::now());
    assert_eq!(
        std::iter::from_fn(|| server.poll_event()).last(),
        Some(DtlsEvent::ApplicationData(b"still here".to_vec()))
    );
}
