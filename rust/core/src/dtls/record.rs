//! A structural check of the DTLS record layer (RFC 6347 §4.1) before a datagram reaches
//! OpenSSL.
//!
//! OpenSSL silently discards records it cannot use, so without this check a caller could not
//! tell garbage from a retransmission. Every record in the datagram must have a complete
//! 13-byte header, a DTLS 1.2 content type, a DTLS 1.0 or 1.2 version and a body that fits.

use super::session::DtlsError;

/// Type (1), version (2), epoch (2), sequence number (6), length (2).
const RECORD_HEADER_LEN: usize = 13;

/// RFC 6347 §4.1.1 (by reference to RFC 5246 §6.2.3): a record carries at most 2^14 + 2048
/// bytes of ciphertext.
const MAX_RECORD_BODY_LEN: usize = (1 << 14) + 2048;

/// change_cipher_spec (20), alert (21), handshake (22), application_data (23).
const CONTENT_TYPES: std::ops::RangeInclusive<u8> = 20..=23;

/// DTLS versions are the one's complement of their number: 254.255 is 1.0, 254.253 is 1.2.
const DTLS_MAJOR: u8 = 0xfe;
const DTLS_1_0_MINOR: u8 = 0xff;
const DTLS_1_2_MINOR: u8 = 0xfd;

/// Checks that `datagram` is a sequence of well-formed DTLS records, and that every protected
/// record (epoch above 0) has at least `min_protected_len` body bytes: OpenSSL 3.0 fails the
/// whole connection on a record too short for its cipher instead of discarding it as RFC 6347
/// §4.1.2.7 asks, so such records must never reach it.
pub(crate) fn validate_datagram(
    datagram: &[u8],
    min_protected_len: usize,
) -> Result<(), DtlsError> {
    if datagram.is_empty() {
        return Err(DtlsError::EmptyDatagram);
    }
    let mut offset = 0;
    while let Some(rest) = datagram.get(offset..).filter(|rest| !rest.is_empty()) {
        let Some(header) = rest.first_chunk::<RECORD_HEADER_LEN>() else {
            return Err(DtlsError::RecordTruncated {
                offset,
                needed: RECORD_HEADER_LEN,
                remaining: rest.len(),
            });
        };
        let [content_type, major, minor, epoch_high, epoch_low, .., high, low] = *header;
        if !CONTENT_TYPES.contains(&content_type) {
            return Err(DtlsError::UnknownContentType {
                offset,
                content_type,
            });
        }
        if major != DTLS_MAJOR || !matches!(minor, DTLS_1_0_MINOR | DTLS_1_2_MINOR) {
            return Err(DtlsError::UnsupportedVersion {
                offset,
                major,
                minor,
            });
        }
        let body_len = usize::from(u16::from_be_bytes([high, low]));
        if body_len > MAX_RECORD_BODY_LEN {
            return Err(DtlsError::RecordTooLong {
                offset,
                len: body_len,
                max: MAX_RECORD_BODY_LEN,
            });
        }
        if u16::from_be_bytes([epoch_high, epoch_low]) > 0 && body_len < min_protected_len {
            return Err(DtlsError::ProtectedRecordTooShort {
                offset,
                len: body_len,
                min: min_protected_len,
            });
        }
        let record_len = RECORD_HEADER_LEN + body_len;
        if record_len > rest.len() {
            return Err(DtlsError::RecordTruncated {
                offset,
                needed: record_len,
                remaining: rest.len(),
            });
        }
        offset += record_len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn record(content_type: u8, minor: u8, body: &[u8]) -> Vec<u8> {
        let mut record = vec![content_type, DTLS_MAJOR, minor, 0, 0, 0, 0, 0, 0, 0, 1];
        record.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        record.extend_from_slice(body);
        record
    }

    #[test]
    fn accepts_several_records_in_one_datagram() {
        let mut datagram = record(22, DTLS_1_0_MINOR, &[1, 2, 3]);
        datagram.extend(record(20, DTLS_1_2_MINOR, &[1]));
        datagram.extend(record(23, DTLS_1_2_MINOR, &[]));
        assert_eq!(validate_datagram(&datagram, 0), Ok(()));
    }

    #[test]
    fn rejects_each_malformation_with_its_offset() {
        assert_eq!(validate_datagram(&[], 0), Err(DtlsError::EmptyDatagram));

        let first = record(22, DTLS_1_2_MINOR, &[0; 4]);
        let mut truncated_header = first.clone();
        truncated_header.extend_from_slice(&[22, DTLS_MAJOR]);
        assert_eq!(
            validate_datagram(&truncated_header, 0),
            Err(DtlsError::RecordTruncated {
                offset: 17,
                needed: 13,
                remaining: 2
            })
        );

        let mut truncated_body = record(22, DTLS_1_2_MINOR, &[0; 10]);
        truncated_body.truncate(20);
        assert_eq!(
            validate_datagram(&truncated_body, 0),
            Err(DtlsError::RecordTruncated {
                offset: 0,
                needed: 23,
                remaining: 20
            })
        );
        assert_eq!(
            validate_datagram(&truncated_body, 0)
                .unwrap_err()
                .to_string(),
            "DTLS record at offset 0 truncated: needs 23 bytes, 20 remain"
        );

        assert_eq!(
            validate_datagram(&record(24, DTLS_1_2_MINOR, &[]), 0),
            Err(DtlsError::UnknownContentType {
                offset: 0,
                content_type: 24
            })
        );
        // TLS 1.2 (3,3) and DTLS 1.3's version (254,252) are not DTLS 1.0/1.2.
        let mut tls = record(22, 0x03, &[]);
        tls[1] = 0x03;
        assert_eq!(
            validate_datagram(&tls, 0),
            Err(DtlsError::UnsupportedVersion {
                offset: 0,
                major: 3,
                minor: 3
            })
        );
        assert!(matches!(
            validate_datagram(&record(22, 0xfc, &[]), 0),
            Err(DtlsError::UnsupportedVersion { .. })
        ));

        let mut too_long = record(23, DTLS_1_2_MINOR, &[]);
        too_long[11..13].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(
            validate_datagram(&too_long, 0),
            Err(DtlsError::RecordTooLong {
                offset: 0,
                len: 65535,
                max: 18432
            })
        );
    }

    #[test]
    fn short_protected_records_are_rejected_but_short_plain_ones_pass() {
        let mut protected = record(23, DTLS_1_2_MINOR, &[0; 10]);
        protected[4] = 1;
        assert_eq!(
            validate_datagram(&protected, 24),
            Err(DtlsError::ProtectedRecordTooShort {
                offset: 0,
                len: 10,
                min: 24
            })
        );
        assert_eq!(validate_datagram(&protected, 10), Ok(()));
        assert_eq!(
            validate_datagram(&record(22, DTLS_1_2_MINOR, &[0; 10]), 24),
            Ok(())
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(datagram in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = validate_datagram(&datagram, 0);
        }

        #[test]
        fn well_formed_records_always_pass(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..5),
            content_type in 20u8..=23,
        ) {
            let datagram: Vec<u8> = bodies
                .iter()
                .flat_map(|body| record(content_type, DTLS_1_2_MINOR, body))
                .collect();
            prop_assert_eq!(validate_datagram(&datagram, 0), Ok(()));
        }
    }
}
