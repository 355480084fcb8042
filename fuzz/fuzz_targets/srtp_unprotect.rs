//! SRTP/SRTCP unprotect of arbitrary datagrams, for every profile: must fail cleanly (it
//! cannot authenticate without the key) and never panic. The first byte picks the profile so
//! the corpus covers all four.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediasoup_core::srtp::{SrtpProfile, SrtpSession};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, datagram)) = data.split_first() else {
        return;
    };
    let profile = SrtpProfile::ALL[usize::from(selector) % SrtpProfile::ALL.len()];
    let key = vec![0x11; profile.key_len()];
    let salt = vec![0x22; profile.salt_len()];
    let mut session = SrtpSession::new(profile, &key, &salt).expect("valid key lengths");
    let mut buffer = datagram.to_vec();
    let _ = session.unprotect_rtp(&mut buffer);
    let mut buffer = datagram.to_vec();
    let _ = session.unprotect_rtcp(&mut buffer);

    // Protecting then unprotecting the same bytes with matching keys must round-trip whenever
    // protect accepts them.
    let mut sender = SrtpSession::new(profile, &key, &salt).expect("valid key lengths");
    let mut buffer = datagram.to_vec();
    buffer.resize(datagram.len() + profile.rtp_tag_len(), 0);
    if let Ok(len) = sender.protect_rtp(&mut buffer, datagram.len()) {
        buffer.truncate(len);
        let plain_len = session
            .unprotect_rtp(&mut buffer)
            .expect("own packet authenticates");
        assert_eq!(&buffer[..plain_len], datagram);
    }
});
