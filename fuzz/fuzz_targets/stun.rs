//! STUN parser, every accessor, and integrity/fingerprint checks on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediasoup_core::packet::stun::StunMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = StunMessage::parse(data) {
        let _ = (message.class(), message.method(), message.transaction_id());
        let _ = (
            message.username(),
            message.priority(),
            message.use_candidate(),
        );
        let _ = (
            message.ice_controlling(),
            message.ice_controlled(),
            message.nomination(),
        );
        let _ = (message.xor_mapped_address(), message.error_code());
        let _ = message.unknown_comprehension_required();
        for attribute in message.attributes() {
            let _ = (attribute.attribute_type, attribute.value.len());
        }
        let _ = message.verify_fingerprint();
        let _ = message.verify_integrity(b"VOkJxbRl1RmTxUk/WvJxBt");
    }
});
