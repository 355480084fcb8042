use proptest::prelude::*;

use super::*;
use crate::test_support::hex;

/// A session whose RTP and RTCP *session* keys are given directly, as the RFC 7714
/// vectors are (they skip the key derivation).
fn with_session_keys(profile: SrtpProfile, key: &[u8], salt: &[u8]) -> SrtpSession {
    let cipher = || Cipher::aead(AesGcm::new(key).unwrap(), salt.try_into().unwrap());
    SrtpSession {
        profile,
        rtp: cipher(),
        rtcp: cipher(),
        streams: Streams::new(MAX_SSRCS_PER_SESSION),
    }
}

const RFC7714_KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
const RFC7714_KEY_256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// "Quid pro quo".
const RFC7714_SALT: &str = "517569642070726f2071756f";
const RFC7714_RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973
                           20646976 69736120 696e2070 61727465 73207472 6573";
const RFC7714_RTCP: &str = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930
                            4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";
const RFC7714_RTCP_SSRC: u32 = 0x4d61_7273;
const RFC7714_RTCP_INDEX: u32 = 0x5d4;

fn protect_rtp(session: &mut SrtpSession, plain: &[u8]) -> Vec<u8> {
    let mut buffer = plain.to_vec();
    buffer.resize(plain.len() + 16, 0);
    let len = session.protect_rtp(&mut buffer, plain.len()).unwrap();
    buffer.truncate(len);
    buffer
}

fn protect_rtcp(session: &mut SrtpSession, plain: &[u8]) -> Vec<u8> {
    let mut buffer = plain.to_vec();
    buffer.resize(plain.len() + 4 + 16, 0);
    let len = session.protect_rtcp(&mut buffer, plain.len()).unwrap();
    buffer.truncate(len);
    buffer
}

fn unprotect_rtp(session: &mut SrtpSession, protected: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut buffer = protected.to_vec();
    let len = session.unprotect_rtp(&mut buffer)?;
    buffer.truncate(len);
    Ok(buffer)
}

fn unprotect_rtcp(session: &mut SrtpSession, protected: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut buffer = protected.to_vec();
    let len = session.unprotect_rtcp(&mut buffer)?;
    buffer.truncate(len);
    Ok(buffer)
}

/// RFC 7714 §16.1 and §16.2: SRTP with AEAD_AES_128_GCM and AEAD_AES_256_GCM.
#[test]
fn rfc7714_rtp_known_answers() {
    let cases = [
        (
            SrtpProfile::AeadAes128Gcm,
            RFC7714_KEY_128,
            "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f
             42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
        ),
        (
            SrtpProfile::AeadAes256Gcm,
            RFC7714_KEY_256,
            "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238 9a58e2f3
             b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13",
        ),
    ];
    for (profile, key, expected) in cases {
        let (key, salt, expected) = (hex(key), hex(RFC7714_SALT), hex(expected));
        let mut sender = with_session_keys(profile, &key, &salt);
        assert_eq!(protect_rtp(&mut sender, &hex(RFC7714_RTP)), expected);
        let mut receiver = with_session_keys(profile, &key, &salt);
        assert_eq!(
            unprotect_rtp(&mut receiver, &expected).unwrap(),
            hex(RFC7714_RTP)
        );
    }
}

/// RFC 7714 §17.1 (encrypt, 128) and §17.2 (decrypt, 256): SRTCP at index 0x5d4.
#[test]
fn rfc7714_srtcp_known_answers() {
    let cases = [
        (
            SrtpProfile::AeadAes128Gcm,
            RFC7714_KEY_128,
            "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1
             730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4",
        ),
        (
            SrtpProfile::AeadAes256Gcm,
            RFC7714_KEY_256,
            "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1
             110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4",
        ),
    ];
    for (profile, key, expected) in cases {
        let (key, salt, expected) = (hex(key), hex(RFC7714_SALT), hex(expected));
        let mut sender = with_session_keys(profile, &key, &salt);
        sender.stream(RFC7714_RTCP_SSRC).unwrap().srtcp_sent = Some(RFC7714_RTCP_INDEX - 1);
        assert_eq!(protect_rtcp(&mut sender, &hex(RFC7714_RTCP)), expected);
        let mut receiver = with_session_keys(profile, &key, &salt);
        assert_eq!(
            unprotect_rtcp(&mut receiver, &expected).unwrap(),
            hex(RFC7714_RTCP)
        );
    }
}

/// RFC 7714 §17.3 and §17.4: authenticated but unencrypted SRTCP (E flag clear) verifies.
#[test]
fn rfc7714_unencrypted_srtcp_verifies() {
    let cases = [
        (
            RFC7714_KEY_128,
            SrtpProfile::AeadAes128Gcm,
            "841dd968 3dd78ec9 2ae58790 125f62b3",
        ),
        (
            RFC7714_KEY_256,
            SrtpProfile::AeadAes256Gcm,
            "91db4afb feee5a97 8fab4393 ed2615fe",
        ),
    ];
    for (key, profile, tag) in cases {
        let mut wire = hex(RFC7714_RTCP);
        wire.extend(hex(tag));
        wire.extend(hex("000005d4"));
        let mut receiver = with_session_keys(profile, &hex(key), &hex(RFC7714_SALT));
        assert_eq!(
            unprotect_rtcp(&mut receiver, &wire).unwrap(),
            hex(RFC7714_RTCP)
        );
        wire[20] ^= 1;
        let mut receiver = with_session_keys(profile, &hex(key), &hex(RFC7714_SALT));
        assert!(matches!(
            unprotect_rtcp(&mut receiver, &wire),
            Err(SrtpError::AuthenticationFailed { .. })
        ));
    }
}

fn session_pair(profile: SrtpProfile) -> (SrtpSession, SrtpSession) {
    let key: Vec<u8> = (0..profile.key_len() as u8).collect();
    let salt: Vec<u8> = (100..100 + profile.salt_len() as u8).collect();
    (
        SrtpSession::new(profile, &key, &salt).unwrap(),
        SrtpSession::new(profile, &key, &salt).unwrap(),
    )
}

fn rtp(sequence: u16, payload_len: usize) -> Vec<u8> {
    let mut packet = vec![0x90, 96];
    packet.extend(sequence.to_be_bytes());
    packet.extend(1234u32.to_be_bytes());
    packet.extend(0x1122_3344u32.to_be_bytes());
    // A one-byte header extension block (MID "0"): authenticated, never encrypted.
    packet.extend([0xBE, 0xDE, 0x00, 0x01, 0x10, b'0', 0, 0]);
    packet.extend((0..payload_len).map(|i| i as u8));
    packet
}

#[test]
fn every_profile_round_trips_across_the_rollover_and_keeps_headers_clear() {
    for profile in SrtpProfile::ALL {
        let (mut sender, mut receiver) = session_pair(profile);
        for step in 0..40u32 {
            let sequence = (65_520 + step) as u16;
            let plain = rtp(sequence, 100 + step as usize);
            let protected = protect_rtp(&mut sender, &plain);
            assert_eq!(protected.len(), plain.len() + profile.rtp_tag_len());
            assert_eq!(protected[..20], plain[..20], "{profile}: header changed");
            assert_ne!(
                protected[20..plain.len()],
                plain[20..],
                "{profile}: not encrypted"
            );
            assert_eq!(unprotect_rtp(&mut receiver, &protected).unwrap(), plain);
        }
        let rtcp = hex(RFC7714_RTCP);
        for _ in 0..3 {
            let protected = protect_rtcp(&mut sender, &rtcp);
            assert_eq!(protected.len(), rtcp.len() + 4 + profile.rtcp_tag_len());
            assert_eq!(unprotect_rtcp(&mut receiver, &protected).unwrap(), rtcp);
        }
    }
}

#[test]
fn replays_stale_packets_and_tampering_are_rejected_and_do_not_move_state() {
    for profile in SrtpProfile::ALL {
        let (mut sender, mut receiver) = session_pair(profile);
        let packets: Vec<Vec<u8>> = (0..1200)
            .map(|sequence| protect_rtp(&mut sender, &rtp(sequence, 20)))
            .collect();
        // Out of order within the window is fine.
        for sequence in [1, 0, 3, 2] {
            unprotect_rtp(&mut receiver, &packets[sequence]).unwrap();
        }
        assert!(matches!(
            unprotect_rtp(&mut receiver, &packets[3]),
            Err(SrtpError::Replayed { index: 3, .. })
        ));
        for sequence in [1100, 500] {
            unprotect_rtp(&mut receiver, &packets[sequence]).unwrap();
        }
        assert!(matches!(
            unprotect_rtp(&mut receiver, &packets[50]),
            Err(SrtpError::TooOld {
                index: 50,
                highest: 1100,
                ..
            })
        ));
        for byte in [1, 12, 20, packets[1199].len() - 1] {
            let mut tampered = packets[1199].clone();
            tampered[byte] ^= 0x40;
            assert!(
                unprotect_rtp(&mut receiver, &tampered).is_err(),
                "{profile}: flipped byte {byte} accepted"
            );
        }
        // The forgeries did not mark 1199 as received.
        unprotect_rtp(&mut receiver, &packets[1199]).unwrap();

        let rtcp = protect_rtcp(&mut sender, &hex(RFC7714_RTCP));
        let mut tampered = rtcp.clone();
        tampered[9] ^= 1;
        assert!(matches!(
            unprotect_rtcp(&mut receiver, &tampered),
            Err(SrtpError::AuthenticationFailed { .. })
        ));
        unprotect_rtcp(&mut receiver, &rtcp).unwrap();
        assert!(matches!(
            unprotect_rtcp(&mut receiver, &rtcp),
            Err(SrtpError::Replayed { .. })
        ));
    }
}

#[test]
fn wrong_lengths_and_short_buffers_are_typed_errors() {
    let profile = SrtpProfile::AesCm128HmacSha1_80;
    assert_eq!(
        SrtpSession::new(profile, &[0; 15], &[0; 14]).unwrap_err(),
        SrtpError::KeyLength {
            profile: "AES_CM_128_HMAC_SHA1_80",
            expected: 16,
            got: 15
        }
    );
    assert!(matches!(
        SrtpSession::new(SrtpProfile::AeadAes256Gcm, &[0; 32], &[0; 14]),
        Err(SrtpError::SaltLength {
            expected: 12,
            got: 14,
            ..
        })
    ));
    let (mut sender, mut receiver) = session_pair(profile);
    let plain = rtp(1, 10);
    let mut exact = plain.clone();
    assert!(matches!(
        sender.protect_rtp(&mut exact, plain.len()),
        Err(SrtpError::BufferTooSmall { .. })
    ));
    assert!(matches!(
        receiver.unprotect_rtp(&mut [0x80; 11]),
        Err(SrtpError::TooShort { .. })
    ));
    assert!(matches!(
        receiver.unprotect_rtp(&mut [0x40; 40]),
        Err(SrtpError::BadVersion(1))
    ));
}

#[test]
fn ssrc_state_is_bounded() {
    let (mut sender, _) = session_pair(SrtpProfile::AeadAes128Gcm);
    let mut packet = rtp(1, 10);
    packet.resize(packet.len() + 16, 0);
    let len = packet.len() - 16;
    for ssrc in 0..MAX_SSRCS_PER_SESSION as u32 {
        let mut copy = packet.clone();
        copy[8..12].copy_from_slice(&ssrc.to_be_bytes());
        sender.protect_rtp(&mut copy, len).unwrap();
    }
    packet[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        sender.protect_rtp(&mut packet, len),
        Err(SrtpError::TooManySsrcs {
            limit: MAX_SSRCS_PER_SESSION
        })
    );
}

proptest! {
    /// Arbitrary bytes never panic and never authenticate.
    #[test]
    fn unprotect_of_arbitrary_bytes_fails_cleanly(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        profile_index in 0usize..4,
    ) {
        let (_, mut receiver) = session_pair(SrtpProfile::ALL[profile_index]);
        let mut rtp_copy = data.clone();
        prop_assert!(receiver.unprotect_rtp(&mut rtp_copy).is_err());
        let mut rtcp_copy = data;
        prop_assert!(receiver.unprotect_rtcp(&mut rtcp_copy).is_err());
    }

    /// Any RTP packet round-trips through protect and unprotect for every profile.
    #[test]
    fn random_packets_round_trip(
        sequence in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..1400),
        profile_index in 0usize..4,
    ) {
        let (mut sender, mut receiver) = session_pair(SrtpProfile::ALL[profile_index]);
        let mut plain = rtp(sequence, 0);
        plain.extend(&payload);
        let protected = protect_rtp(&mut sender, &plain);
        prop_assert_eq!(unprotect_rtp(&mut receiver, &protected).unwrap(), plain);
    }
}

/// Packets libsrtp 2 (through pylibsrtp) produced for fixed keys: they pin the key
/// derivation of the AEAD profiles' 12-byte salt, which RFC 7714 has no vector for. libsrtp
/// numbers SRTCP from 1, so the sender is started there.
#[test]
fn libsrtp_produces_the_same_packets() {
    let rtp = hex("806000010102030412345678 696e7465726f70207061796c6f616421");
    let rtcp = hex("81c8000612345678 000102030405060708090a0b0c0d0e0f10111213");
    let cases = [
        (
            SrtpProfile::AeadAes128Gcm,
            "7243963a781353507a356c72e21b754ded7e5442fe61a2ca387650c6041a6d82",
            "e021f69f9fedcc8901fde097b9a3a6d70be67ae8ef19b7aff0a8224f4ab42702bd399d4780000001",
        ),
        (
            SrtpProfile::AeadAes256Gcm,
            "29cf7c758684788d1cfc4307cc4a23786e2bbcae8a2f2dafb83eebb9508d4bae",
            "b87d266b3ba51bd97b7646b14294430326a799c5a18399dd03ae70a137b790b8f853321680000001",
        ),
        (
            SrtpProfile::AesCm128HmacSha1_80,
            "fec07d33f3e2cc95338f47eb8d2c8f13667dbed855ceba16643e",
            "4b712d54a202f1b9c04dc8ad7de13ae3b7e17cec800000016a9851704692442a3b3e",
        ),
        (
            SrtpProfile::AesCm128HmacSha1_32,
            "fec07d33f3e2cc95338f47eb8d2c8f13667dbed8",
            "4b712d54a202f1b9c04dc8ad7de13ae3b7e17cec800000016a9851704692442a3b3e",
        ),
    ];
    for (profile, rtp_tail, rtcp_tail) in cases {
        let key: Vec<u8> = (1..=profile.key_len() as u8).collect();
        let salt: Vec<u8> = (100..100 + profile.salt_len() as u8).collect();
        let mut sender = SrtpSession::new(profile, &key, &salt).unwrap();
        sender.stream(0x1234_5678).unwrap().srtcp_sent = Some(0);
        let mut receiver = SrtpSession::new(profile, &key, &salt).unwrap();

        let expected = [&rtp[..12], &hex(rtp_tail)[..]].concat();
        assert_eq!(protect_rtp(&mut sender, &rtp), expected, "{profile} SRTP");
        assert_eq!(
            unprotect_rtp(&mut receiver, &expected).unwrap(),
            rtp,
            "{profile} SRTP"
        );

        let expected = [&rtcp[..8], &hex(rtcp_tail)[..]].concat();
        assert_eq!(
            protect_rtcp(&mut sender, &rtcp),
            expected,
            "{profile} SRTCP"
        );
        assert_eq!(
            unprotect_rtcp(&mut receiver, &expected).unwrap(),
            rtcp,
            "{profile} SRTCP"
        );
    }
}
