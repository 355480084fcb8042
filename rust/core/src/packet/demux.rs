//! Datagram demultiplexing on a shared 5-tuple (RFC 7983 §7, RFC 5761 §4).
//!
//! A WebRTC transport receives STUN, DTLS, RTP and RTCP on one socket. The first byte tells
//! them apart; for RTP versus RTCP the second byte (payload type) decides, because RTCP packet
//! types 192..=223 never collide with the RTP payload types in use (RFC 5761 §4).

/// What a received datagram is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramKind {
    /// STUN message (first byte 0..=3, at least a 20-byte header).
    Stun,
    /// DTLS record (first byte 20..=63, at least a 13-byte record header).
    Dtls,
    /// RTP packet (first byte 128..=191, at least a 12-byte header).
    Rtp,
    /// RTCP packet (first byte 128..=191, packet type 192..=223, at least 4 bytes).
    Rtcp,
    /// Anything else: empty, too short, ZRTP (16..=19), TURN channel data (64..=79), ...
    Unknown,
}

/// STUN fixed header length (RFC 8489 §5).
const STUN_HEADER_LEN: usize = 20;
/// DTLS record header length (RFC 6347 §4.1).
const DTLS_RECORD_HEADER_LEN: usize = 13;
/// RTP fixed header length (RFC 3550 §5.1).
const RTP_HEADER_LEN: usize = 12;
/// RTCP common header length (RFC 3550 §6.4.1).
const RTCP_HEADER_LEN: usize = 4;

/// Classifies a datagram per RFC 7983 §7 and RFC 5761 §4; never panics.
pub fn classify(datagram: &[u8]) -> DatagramKind {
    let Some(&first) = datagram.first() else {
        return DatagramKind::Unknown;
    };
    match first {
        0..=3 if datagram.len() >= STUN_HEADER_LEN => DatagramKind::Stun,
        20..=63 if datagram.len() >= DTLS_RECORD_HEADER_LEN => DatagramKind::Dtls,
        128..=191 => classify_rtp_or_rtcp(datagram),
        _ => DatagramKind::Unknown,
    }
}

/// RFC 5761 §4: with the marker bit masked off, RTCP packet types 192..=223 map to 64..=95,
/// a range RTP payload types must avoid when muxed.
fn classify_rtp_or_rtcp(datagram: &[u8]) -> DatagramKind {
    let Some(&second) = datagram.get(1) else {
        return DatagramKind::Unknown;
    };
    let is_rtcp_type = (64..=95).contains(&(second & 0x7f));
    if is_rtcp_type {
        if datagram.len() >= RTCP_HEADER_LEN {
            DatagramKind::Rtcp
        } else {
            DatagramKind::Unknown
        }
    } else if datagram.len() >= RTP_HEADER_LEN {
        DatagramKind::Rtp
    } else {
        DatagramKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn datagram(first: u8, second: u8, len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        bytes[0] = first;
        if len > 1 {
            bytes[1] = second;
        }
        bytes
    }

    #[test]
    fn stun_needs_header() {
        assert_eq!(classify(&datagram(0, 1, 20)), DatagramKind::Stun);
        assert_eq!(classify(&datagram(3, 1, 20)), DatagramKind::Stun);
        assert_eq!(classify(&datagram(0, 1, 19)), DatagramKind::Unknown);
    }

    #[test]
    fn dtls_needs_record_header() {
        assert_eq!(classify(&datagram(22, 0xfe, 13)), DatagramKind::Dtls);
        assert_eq!(classify(&datagram(63, 0, 13)), DatagramKind::Dtls);
        assert_eq!(classify(&datagram(20, 0, 12)), DatagramKind::Unknown);
    }

    #[test]
    fn rtp_and_rtcp_split_on_payload_type() {
        assert_eq!(classify(&datagram(0x80, 96, 12)), DatagramKind::Rtp);
        assert_eq!(classify(&datagram(0x80, 96 | 0x80, 12)), DatagramKind::Rtp);
        assert_eq!(classify(&datagram(0x80, 111, 11)), DatagramKind::Unknown);
        assert_eq!(classify(&datagram(0x80, 200, 4)), DatagramKind::Rtcp);
        assert_eq!(classify(&datagram(0x81, 205, 8)), DatagramKind::Rtcp);
        assert_eq!(classify(&datagram(0xbf, 223, 4)), DatagramKind::Rtcp);
        assert_eq!(classify(&datagram(0x80, 72, 4)), DatagramKind::Rtcp);
        assert_eq!(classify(&datagram(0x80, 200, 3)), DatagramKind::Unknown);
        assert_eq!(classify(&datagram(0x80, 224, 12)), DatagramKind::Rtp);
    }

    #[test]
    fn others_are_unknown() {
        assert_eq!(classify(&[]), DatagramKind::Unknown);
        assert_eq!(classify(&[0x80]), DatagramKind::Unknown);
        assert_eq!(classify(&datagram(16, 0, 100)), DatagramKind::Unknown);
        assert_eq!(classify(&datagram(19, 0, 100)), DatagramKind::Unknown);
        assert_eq!(classify(&datagram(64, 0, 100)), DatagramKind::Unknown);
        assert_eq!(classify(&datagram(79, 0, 100)), DatagramKind::Unknown);
        assert_eq!(classify(&datagram(4, 0, 100)), DatagramKind::Unknown);
        assert_eq!(classify(&datagram(192, 0, 100)), DatagramKind::Unknown);
    }

    proptest! {
        #[test]
        fn classification_matches_first_byte(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let kind = classify(&bytes);
            match kind {
                DatagramKind::Stun => prop_assert!(bytes[0] <= 3 && bytes.len() >= 20),
                DatagramKind::Dtls => prop_assert!((20..=63).contains(&bytes[0]) && bytes.len() >= 13),
                DatagramKind::Rtp => prop_assert!((128..=191).contains(&bytes[0]) && bytes.len() >= 12),
                DatagramKind::Rtcp => prop_assert!(
                    (128..=191).contains(&bytes[0]) && (64..=95).contains(&(bytes[1] & 0x7f))
                ),
                DatagramKind::Unknown => {}
            }
        }
    }
}
