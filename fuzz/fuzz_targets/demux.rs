//! Demultiplexer on arbitrary bytes, then the STUN parser on what it classifies as STUN.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediasoup_core::packet::demux::{classify, DatagramKind};
use mediasoup_core::packet::stun::StunMessage;

fuzz_target!(|data: &[u8]| {
    match classify(data) {
        DatagramKind::Stun => {
            if let Ok(message) = StunMessage::parse(data) {
                let _ = (message.username(), message.verify_fingerprint());
            }
        }
        // A STUN header in RFC 7983's range must never be classified as anything else.
        _ => assert!(data.len() < 20 || data.first().is_none_or(|&first| first > 3)),
    }
});
