//! RTCP compound parsing of arbitrary datagrams: never panics; whatever parses serializes
//! and parses back to the same packets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediasoup_core::packet::rtcp::{
    parse_compound, serialize_compound, RtcpCompoundIter, RtcpPacket,
};

fuzz_target!(|data: &[u8]| {
    for item in RtcpCompoundIter::new(data) {
        let Ok((header, body)) = item else { break };
        if let Ok(RtcpPacket::TransportCc(feedback)) = RtcpPacket::parse(header, body) {
            let _ = feedback.arrival_times_us().count();
        }
    }
    if let Ok(packets) = parse_compound(data) {
        let mut out = Vec::new();
        if serialize_compound(&packets, &mut out).is_ok() {
            assert_eq!(
                parse_compound(&out).expect("serialized packets parse"),
                packets
            );
        }
    }
});
