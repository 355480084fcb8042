//! Arbitrary datagrams into a DTLS server session (as a transport would feed what arrives on
//! a validated tuple): never panics, never reports a connection.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use mediasoup_core::crypto::certificate::{DtlsCertificate, DtlsFingerprint, FingerprintAlgorithm};
use mediasoup_core::dtls::{DtlsContext, DtlsRole, DtlsSession, DtlsState};
use mediasoup_core::srtp::SrtpProfile;

fn server() -> &'static (DtlsContext, DtlsFingerprint) {
    static SERVER: OnceLock<(DtlsContext, DtlsFingerprint)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let certificate = DtlsCertificate::generate().expect("certificate");
        let peer = DtlsCertificate::generate().expect("certificate");
        (
            DtlsContext::new(&certificate, &SrtpProfile::ALL).expect("context"),
            peer.fingerprint(FingerprintAlgorithm::Sha256).clone(),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let (context, fingerprint) = server();
    let now = Instant::now();
    let mut session =
        DtlsSession::new(context, DtlsRole::Server, fingerprint.clone(), now).expect("session");
    // The input is one datagram, delivered twice as a retransmitted flight would be.
    for _ in 0..2 {
        let _ = session.handle_datagram(data, now);
        while session.poll_datagram().is_some() {}
    }
    assert_ne!(session.state(), DtlsState::Connected);
});
