//! Known answers from RFC 5769, round trips and properties.

use std::net::SocketAddr;

use proptest::prelude::*;

use super::*;

/// RFC 5769 §2: password of all three samples.
const RFC5769_PASSWORD: &[u8] = b"VOkJxbRl1RmTxUk/WvJxBt";

/// RFC 5769 §2.1 sample request.
const RFC5769_REQUEST: [u8; 108] = [
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
];

/// RFC 5769 §2.2 sample IPv4 response.
const RFC5769_IPV4_RESPONSE: [u8; 80] = [
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
];

/// RFC 5769 §2.3 sample IPv6 response.
const RFC5769_IPV6_RESPONSE: [u8; 92] = [
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
];

const TRANSACTION_ID: TransactionId = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

/// Flips each byte in turn and checks the message no longer authenticates.
fn assert_every_flip_detected(bytes: &[u8], key: &[u8]) {
    for index in 0..bytes.len() {
        let mut tampered = bytes.to_vec();
        tampered[index] ^= 0x01;
        if let Ok(message) = StunMessage::parse(&tampered) {
            assert!(
                !(message.verify_integrity(key) && message.verify_fingerprint()),
                "flip at {index} not detected"
            );
        }
    }
}

#[test]
fn rfc5769_request() {
    let message = StunMessage::parse(&RFC5769_REQUEST).unwrap();
    assert_eq!(message.class(), StunClass::Request);
    assert_eq!(message.method(), StunMethod::Binding);
    assert_eq!(message.username(), Some("evtj:h6vY"));
    assert_eq!(message.priority(), Some(0x6e00_01ff));
    assert_eq!(message.ice_controlled(), Some(0x932f_f9b1_5126_3b36));
    assert_eq!(message.ice_controlling(), None);
    assert!(!message.use_candidate());
    assert_eq!(message.message_integrity_offset(), Some(76));
    assert_eq!(message.fingerprint_offset(), Some(100));
    assert!(message.verify_fingerprint());
    assert!(message.verify_integrity(RFC5769_PASSWORD));
    assert!(!message.verify_integrity(b"wrong password"));
    let types: Vec<u16> = message.attributes().map(|a| a.attribute_type).collect();
    assert_eq!(
        types,
        [
            attribute::SOFTWARE,
            attribute::PRIORITY,
            attribute::ICE_CONTROLLED,
            attribute::USERNAME,
            attribute::MESSAGE_INTEGRITY,
            attribute::FINGERPRINT
        ]
    );
    assert_every_flip_detected(&RFC5769_REQUEST, RFC5769_PASSWORD);
}

#[test]
fn rfc5769_ipv4_response() {
    let message = StunMessage::parse(&RFC5769_IPV4_RESPONSE).unwrap();
    assert_eq!(message.class(), StunClass::SuccessResponse);
    assert_eq!(
        message.xor_mapped_address(),
        Some("192.0.2.1:32853".parse().unwrap())
    );
    assert!(message.verify_fingerprint());
    assert!(message.verify_integrity(RFC5769_PASSWORD));
    assert_every_flip_detected(&RFC5769_IPV4_RESPONSE, RFC5769_PASSWORD);
}

#[test]
fn rfc5769_ipv6_response() {
    let message = StunMessage::parse(&RFC5769_IPV6_RESPONSE).unwrap();
    assert_eq!(
        message.xor_mapped_address(),
        Some(
            "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                .parse()
                .unwrap()
        )
    );
    assert!(message.verify_fingerprint());
    assert!(message.verify_integrity(RFC5769_PASSWORD));
    assert_every_flip_detected(&RFC5769_IPV6_RESPONSE, RFC5769_PASSWORD);
}

#[test]
fn header_errors() {
    assert_eq!(
        StunMessage::parse(&RFC5769_REQUEST[..7]).unwrap_err(),
        StunError::Truncated { needed: 20, got: 7 }
    );
    let mut bytes = RFC5769_REQUEST;
    bytes[0] = 0x40;
    assert!(matches!(
        StunMessage::parse(&bytes),
        Err(StunError::NotStun { .. })
    ));
    let mut bytes = RFC5769_REQUEST;
    bytes[4] = 0;
    assert!(matches!(
        StunMessage::parse(&bytes),
        Err(StunError::BadMagicCookie { .. })
    ));
    let mut bytes = RFC5769_REQUEST;
    bytes[3] = 0x57;
    assert_eq!(
        StunMessage::parse(&bytes).unwrap_err(),
        StunError::LengthNotAligned { length: 0x57 }
    );
    assert_eq!(
        StunMessage::parse(&RFC5769_REQUEST[..104]).unwrap_err(),
        StunError::LengthMismatch {
            declared: 88,
            actual: 84
        }
    );
}

#[test]
fn attribute_past_the_end_is_rejected() {
    let mut bytes = RFC5769_REQUEST;
    // USERNAME length 9 -> 0x40.
    bytes[63] = 0x40;
    assert!(matches!(
        StunMessage::parse(&bytes),
        Err(StunError::AttributeTruncated {
            attribute_type: attribute::USERNAME,
            ..
        })
    ));
}

#[test]
fn attribute_after_fingerprint_is_rejected() {
    let mut out = Vec::new();
    let mut builder = StunMessageBuilder::new(
        &mut out,
        StunMethod::Binding,
        StunClass::Indication,
        &TRANSACTION_ID,
    )
    .unwrap();
    builder.priority(1).unwrap();
    builder.finish_with_fingerprint().unwrap();
    out.extend_from_slice(&[0x00, 0x25, 0x00, 0x00]);
    let length = u16::from_be_bytes([out[2], out[3]]) + 4;
    out[2..4].copy_from_slice(&length.to_be_bytes());
    assert_eq!(
        StunMessage::parse(&out).unwrap_err(),
        StunError::AttributeAfterFingerprint {
            attribute_type: attribute::USE_CANDIDATE
        }
    );
}

#[test]
fn attributes_after_integrity_are_ignored() {
    let mut out = Vec::new();
    let mut builder = StunMessageBuilder::new(
        &mut out,
        StunMethod::Binding,
        StunClass::Request,
        &TRANSACTION_ID,
    )
    .unwrap();
    builder.username("a:b").unwrap();
    builder
        .finish_with_integrity_and_fingerprint(b"key")
        .unwrap();
    // Insert PRIORITY and USE-CANDIDATE between MESSAGE-INTEGRITY and FINGERPRINT.
    let fingerprint = out.split_off(out.len() - 8);
    out.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 0, 0, 0, 9, 0x00, 0x25, 0x00, 0x00]);
    out.extend_from_slice(&fingerprint);
    let length = u16::from_be_bytes([out[2], out[3]]) + 12;
    out[2..4].copy_from_slice(&length.to_be_bytes());
    let message = StunMessage::parse(&out).unwrap();
    assert_eq!(message.priority(), None);
    assert!(!message.use_candidate());
    assert!(message.verify_integrity(b"key"));
    let types: Vec<u16> = message.attributes().map(|a| a.attribute_type).collect();
    assert_eq!(
        types,
        [
            attribute::USERNAME,
            attribute::MESSAGE_INTEGRITY,
            attribute::FINGERPRINT
        ]
    );
}

#[test]
fn invalid_known_attributes_are_rejected() {
    let build = |attribute_type: u16, value: &[u8]| {
        let mut out = Vec::new();
        let mut builder = StunMessageBuilder::new(
            &mut out,
            StunMethod::Binding,
            StunClass::Request,
            &TRANSACTION_ID,
        )
        .unwrap();
        builder.attribute(attribute_type, value).unwrap();
        out
    };
    assert_eq!(
        StunMessage::parse(&build(attribute::PRIORITY, &[1, 2, 3])).unwrap_err(),
        StunError::InvalidAttributeLength {
            attribute_type: attribute::PRIORITY,
            len: 3
        }
    );
    assert_eq!(
        StunMessage::parse(&build(attribute::USERNAME, &[0xff])).unwrap_err(),
        StunError::InvalidUtf8 {
            attribute_type: attribute::USERNAME
        }
    );
    assert_eq!(
        StunMessage::parse(&build(attribute::USERNAME, &[b'a'; 514])).unwrap_err(),
        StunError::InvalidAttributeLength {
            attribute_type: attribute::USERNAME,
            len: 514
        }
    );
    assert_eq!(
        StunMessage::parse(&build(
            attribute::XOR_MAPPED_ADDRESS,
            &[0, 3, 0, 0, 0, 0, 0, 0]
        ))
        .unwrap_err(),
        StunError::InvalidAddressFamily { family: 3 }
    );
    assert_eq!(
        StunMessage::parse(&build(attribute::ERROR_CODE, &[0, 0, 2, 0])).unwrap_err(),
        StunError::InvalidErrorCode { code: 200 }
    );
    let unknown = build(0x7001, &[]);
    let message = StunMessage::parse(&unknown).unwrap();
    assert_eq!(message.unknown_comprehension_required(), Some(0x7001));
}

#[test]
fn nomination_accepts_both_types() {
    for attribute_type in [attribute::NOMINATION, attribute::NOMINATION_LEGACY] {
        let mut out = Vec::new();
        let mut builder = StunMessageBuilder::new(
            &mut out,
            StunMethod::Binding,
            StunClass::Request,
            &TRANSACTION_ID,
        )
        .unwrap();
        builder
            .attribute(attribute_type, &7u32.to_be_bytes())
            .unwrap();
        let message = StunMessage::parse(&out).unwrap();
        assert_eq!(message.nomination(), Some(7));
        assert_eq!(message.unknown_comprehension_required(), None);
    }
}

#[test]
fn binding_request_and_success_response() {
    let remote_password = HmacSha1::new(b"remote-password");
    let request = BindingRequest {
        transaction_id: TRANSACTION_ID,
        remote_ufrag: "remoteUfrag",
        local_ufrag: "localUfrag",
        priority: 0x7e00_1eff,
        role: IceRole::Controlling {
            tiebreaker: 0x1122_3344_5566_7788,
        },
        use_candidate: true,
        nomination: Some(3),
    };
    let mut out = Vec::new();
    binding_request(&request, &remote_password, &mut out).unwrap();
    let parsed = StunMessage::parse(&out).unwrap();
    assert_eq!(parsed.class(), StunClass::Request);
    assert_eq!(parsed.username(), Some("remoteUfrag:localUfrag"));
    assert_eq!(parsed.priority(), Some(0x7e00_1eff));
    assert_eq!(parsed.ice_controlling(), Some(0x1122_3344_5566_7788));
    assert!(parsed.use_candidate());
    assert_eq!(parsed.nomination(), Some(3));
    assert!(parsed.verify_integrity(b"remote-password"));
    assert!(parsed.verify_fingerprint());
    assert_every_flip_detected(&out, b"remote-password");

    let source: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
    let mut response = Vec::with_capacity(128);
    let capacity = response.capacity();
    binding_success_response(&parsed, source, &remote_password, &mut response).unwrap();
    assert_eq!(response.capacity(), capacity);
    let parsed_response = StunMessage::parse(&response).unwrap();
    assert_eq!(parsed_response.class(), StunClass::SuccessResponse);
    assert_eq!(parsed_response.transaction_id(), TRANSACTION_ID);
    assert_eq!(parsed_response.xor_mapped_address(), Some(source));
    assert!(parsed_response.verify_integrity(b"remote-password"));
    assert!(parsed_response.verify_fingerprint());
}

#[test]
fn unauthenticated_error_response_never_amplifies() {
    let request = StunMessage::parse(&RFC5769_REQUEST).unwrap();
    let mut out = Vec::new();
    binding_error_response(&request, 401, None, &mut out).unwrap();
    let response = StunMessage::parse(&out).unwrap();
    assert_eq!(response.class(), StunClass::ErrorResponse);
    assert_eq!(response.error_code(), Some((401, "Unauthorized")));
    assert_eq!(response.message_integrity_offset(), None);
    assert!(response.verify_fingerprint());
    assert_eq!(
        response.attributes().count(),
        2,
        "only ERROR-CODE and FINGERPRINT"
    );

    // A 40-byte request leaves room for ERROR-CODE without its reason only.
    let mut small = Vec::new();
    let mut builder = StunMessageBuilder::new(
        &mut small,
        StunMethod::Binding,
        StunClass::Request,
        &TRANSACTION_ID,
    )
    .unwrap();
    builder.attribute(0x8050, &[0; 16]).unwrap();
    let small_request = StunMessage::parse(&small).unwrap();
    binding_error_response(&small_request, 400, None, &mut out).unwrap();
    assert!(out.len() <= small.len());
    assert_eq!(
        StunMessage::parse(&out).unwrap().error_code(),
        Some((400, ""))
    );

    // A bare 20-byte request gets nothing.
    let mut bare = Vec::new();
    StunMessageBuilder::new(
        &mut bare,
        StunMethod::Binding,
        StunClass::Request,
        &TRANSACTION_ID,
    )
    .unwrap();
    let bare_request = StunMessage::parse(&bare).unwrap();
    assert_eq!(
        binding_error_response(&bare_request, 400, None, &mut out).unwrap_err(),
        StunError::ResponseWouldAmplify {
            response_len: 36,
            request_len: 20
        }
    );
    assert!(out.is_empty());
}

#[test]
fn authenticated_error_response_carries_integrity() {
    let request = StunMessage::parse(&RFC5769_REQUEST).unwrap();
    let mut out = Vec::new();
    let key = HmacSha1::new(b"local");
    binding_error_response(&request, 487, Some(&key), &mut out).unwrap();
    let response = StunMessage::parse(&out).unwrap();
    assert_eq!(response.error_code(), Some((487, "Role Conflict")));
    assert!(response.verify_integrity(b"local"));
    assert!(response.verify_fingerprint());
}

#[test]
fn builder_rejects_what_does_not_fit() {
    let mut out = Vec::new();
    assert_eq!(
        StunMessageBuilder::new(
            &mut out,
            StunMethod::Other(0x1000),
            StunClass::Request,
            &TRANSACTION_ID
        )
        .unwrap_err(),
        StunError::InvalidMethod { method: 0x1000 }
    );
    let mut builder = StunMessageBuilder::new(
        &mut out,
        StunMethod::Other(0xabc),
        StunClass::Indication,
        &TRANSACTION_ID,
    )
    .unwrap();
    assert_eq!(
        builder.error_code(700, "").unwrap_err(),
        StunError::InvalidErrorCode { code: 700 }
    );
    assert!(builder.username(&"u".repeat(514)).is_err());
    builder.attribute(0x8000, &[0; 0xFFF8]).unwrap();
    assert!(matches!(
        builder.attribute(0x8000, &[0; 1]),
        Err(StunError::MessageTooLong { .. })
    ));
    let message = StunMessage::parse(&out).unwrap();
    assert_eq!(message.method(), StunMethod::Other(0xabc));
    assert_eq!(message.class(), StunClass::Indication);
}

#[test]
fn message_type_bits_round_trip() {
    for method in [0x001, 0x002, 0x0ff, 0xabc, 0xfff] {
        for class in [
            StunClass::Request,
            StunClass::Indication,
            StunClass::SuccessResponse,
            StunClass::ErrorResponse,
        ] {
            let message_type = join_message_type(method, class);
            assert_eq!(message_type & 0xC000, 0);
            assert_eq!(
                split_message_type(message_type),
                (StunMethod::from_number(method), class)
            );
        }
    }
    // Binding success response is 0x0101, error response 0x0111 (RFC 8489 §6).
    assert_eq!(join_message_type(1, StunClass::SuccessResponse), 0x0101);
    assert_eq!(join_message_type(1, StunClass::ErrorResponse), 0x0111);
}

/// An attribute the builder can write, for properties.
#[derive(Debug, Clone)]
enum GeneratedAttribute {
    Username(String),
    Priority(u32),
    UseCandidate,
    Controlling(u64),
    Controlled(u64),
    Nomination(u32),
    Address(SocketAddr),
    Error(u16, String),
    Other(u16, Vec<u8>),
}

fn generated_attribute() -> impl Strategy<Value = GeneratedAttribute> {
    prop_oneof![
        "[a-zA-Z0-9+/:]{0,40}".prop_map(GeneratedAttribute::Username),
        any::<u32>().prop_map(GeneratedAttribute::Priority),
        Just(GeneratedAttribute::UseCandidate),
        any::<u64>().prop_map(GeneratedAttribute::Controlling),
        any::<u64>().prop_map(GeneratedAttribute::Controlled),
        any::<u32>().prop_map(GeneratedAttribute::Nomination),
        (any::<std::net::IpAddr>(), any::<u16>())
            .prop_map(|(ip, port)| GeneratedAttribute::Address(SocketAddr::new(ip, port))),
        (300u16..700, "[ -~]{0,30}")
            .prop_map(|(code, reason)| GeneratedAttribute::Error(code, reason)),
        (
            0x8030u16..0x8040,
            proptest::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(attribute_type, value)| GeneratedAttribute::Other(attribute_type, value)),
    ]
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(message) = StunMessage::parse(&bytes) {
            let _ = (message.username(), message.priority(), message.xor_mapped_address());
            let _ = message.attributes().count();
            let _ = (message.verify_fingerprint(), message.verify_integrity(b"key"));
        }
    }

    #[test]
    fn parse_never_panics_on_stun_like_bytes(
        body in proptest::collection::vec(any::<u8>(), 0..50),
        message_type in 0u16..0x4000,
    ) {
        let mut bytes = message_type.to_be_bytes().to_vec();
        let len = (body.len() / 4 * 4) as u16;
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        bytes.extend_from_slice(&TRANSACTION_ID);
        bytes.extend_from_slice(&body[..usize::from(len)]);
        if let Ok(message) = StunMessage::parse(&bytes) {
            let _ = message.attributes().count();
            let _ = (message.verify_fingerprint(), message.verify_integrity(b"key"));
        }
    }

    #[test]
    fn built_attributes_round_trip(
        attributes in proptest::collection::vec(generated_attribute(), 0..8),
        transaction_id in any::<TransactionId>(),
        key in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut out = Vec::new();
        let mut builder =
            StunMessageBuilder::new(&mut out, StunMethod::Binding, StunClass::Request, &transaction_id)
                .unwrap();
        for attribute in &attributes {
            match attribute {
                GeneratedAttribute::Username(name) => builder.username(name),
                GeneratedAttribute::Priority(value) => builder.priority(*value),
                GeneratedAttribute::UseCandidate => builder.use_candidate(),
                GeneratedAttribute::Controlling(value) => builder.ice_controlling(*value),
                GeneratedAttribute::Controlled(value) => builder.ice_controlled(*value),
                GeneratedAttribute::Nomination(value) => builder.nomination(*value),
                GeneratedAttribute::Address(address) => builder.xor_mapped_address(*address),
                GeneratedAttribute::Error(code, reason) => builder.error_code(*code, reason),
                GeneratedAttribute::Other(attribute_type, value) => builder.attribute(*attribute_type, value),
            }
            .unwrap();
        }
        builder.finish_with_integrity_and_fingerprint(&key).unwrap();
        let message = StunMessage::parse(&out).unwrap();
        prop_assert_eq!(message.transaction_id(), transaction_id);
        prop_assert!(message.verify_integrity(&key));
        prop_assert!(message.verify_fingerprint());
        // Every attribute comes back in order, then MESSAGE-INTEGRITY and FINGERPRINT.
        prop_assert_eq!(message.attributes().count(), attributes.len() + 2);
        let first = |pick: fn(&GeneratedAttribute) -> Option<GeneratedAttribute>| {
            attributes.iter().find_map(pick)
        };
        if let Some(GeneratedAttribute::Username(name)) =
            first(|a| matches!(a, GeneratedAttribute::Username(_)).then(|| a.clone()))
        {
            prop_assert_eq!(message.username(), Some(name.as_str()));
        }
        if let Some(GeneratedAttribute::Priority(value)) =
            first(|a| matches!(a, GeneratedAttribute::Priority(_)).then(|| a.clone()))
        {
            prop_assert_eq!(message.priority(), Some(value));
        }
        if let Some(GeneratedAttribute::Controlling(value)) =
            first(|a| matches!(a, GeneratedAttribute::Controlling(_)).then(|| a.clone()))
        {
            prop_assert_eq!(message.ice_controlling(), Some(value));
        }
        if let Some(GeneratedAttribute::Controlled(value)) =
            first(|a| matches!(a, GeneratedAttribute::Controlled(_)).then(|| a.clone()))
        {
            prop_assert_eq!(message.ice_controlled(), Some(value));
        }
        if let Some(GeneratedAttribute::Nomination(value)) =
            first(|a| matches!(a, GeneratedAttribute::Nomination(_)).then(|| a.clone()))
        {
            prop_assert_eq!(message.nomination(), Some(value));
        }
        if let Some(GeneratedAttribute::Address(address)) =
            first(|a| matches!(a, GeneratedAttribute::Address(_)).then(|| a.clone()))
        {
            prop_assert_eq!(message.xor_mapped_address(), Some(address));
        }
        if let Some(GeneratedAttribute::Error(code, reason)) =
            first(|a| matches!(a, GeneratedAttribute::Error(..)).then(|| a.clone()))
        {
            prop_assert_eq!(message.error_code(), Some((code, reason.as_str())));
        }
        prop_assert_eq!(
            message.use_candidate(),
            attributes.iter().any(|a| matches!(a, GeneratedAttribute::UseCandidate))
        );
    }

    #[test]
    fn tampering_breaks_integrity_or_fingerprint(
        username in "[a-z]{1,20}",
        priority in any::<u32>(),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut out = Vec::new();
        let mut builder =
            StunMessageBuilder::new(&mut out, StunMethod::Binding, StunClass::Request, &TRANSACTION_ID)
                .unwrap();
        builder.username(&username).unwrap();
        builder.priority(priority).unwrap();
        builder.finish_with_integrity_and_fingerprint(b"password").unwrap();
        let position = index.index(out.len());
        out[position] ^= flip;
        if let Ok(message) = StunMessage::parse(&out) {
            prop_assert!(!(message.verify_integrity(b"password") && message.verify_fingerprint()));
        }
    }
}
