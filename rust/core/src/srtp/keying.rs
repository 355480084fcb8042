//! DTLS-SRTP key extraction (RFC 5764 §4.2): the exporter output is client write key,
//! server write key, client write salt, server write salt, in that order.

use super::{SrtpError, SrtpProfile};

/// A master key and salt for one direction.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpMasterKey {
    /// The master key.
    pub key: Vec<u8>,
    /// The master salt.
    pub salt: Vec<u8>,
}

impl std::fmt::Debug for SrtpMasterKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SrtpMasterKey { .. }")
    }
}

/// Splits the `EXTRACTOR-dtls_srtp` output into (ours, theirs): the keys we protect with and
/// the keys we unprotect with, depending on whether we were the DTLS client.
pub fn split_dtls_keying_material(
    profile: SrtpProfile,
    material: &[u8],
    is_dtls_client: bool,
) -> Result<(SrtpMasterKey, SrtpMasterKey), SrtpError> {
    let (key_len, salt_len) = (profile.key_len(), profile.salt_len());
    if material.len() != profile.keying_material_len() {
        return Err(SrtpError::KeyingMaterialLength {
            profile: profile.name(),
            expected: profile.keying_material_len(),
            got: material.len(),
        });
    }
    let (client_key, rest) = material.split_at(key_len);
    let (server_key, rest) = rest.split_at(key_len);
    let (client_salt, server_salt) = rest.split_at(salt_len);
    let client = SrtpMasterKey {
        key: client_key.to_vec(),
        salt: client_salt.to_vec(),
    };
    let server = SrtpMasterKey {
        key: server_key.to_vec(),
        salt: server_salt.to_vec(),
    };
    Ok(if is_dtls_client {
        (client, server)
    } else {
        (server, client)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_in_rfc5764_order_for_both_roles() {
        let profile = SrtpProfile::AesCm128HmacSha1_80;
        let material: Vec<u8> = (0..60).collect();
        let (ours, theirs) = split_dtls_keying_material(profile, &material, true).unwrap();
        assert_eq!(ours.key, (0..16).collect::<Vec<u8>>());
        assert_eq!(theirs.key, (16..32).collect::<Vec<u8>>());
        assert_eq!(ours.salt, (32..46).collect::<Vec<u8>>());
        assert_eq!(theirs.salt, (46..60).collect::<Vec<u8>>());
        let (server_ours, server_theirs) =
            split_dtls_keying_material(profile, &material, false).unwrap();
        assert_eq!((server_ours, server_theirs), (theirs, ours));
        assert!(matches!(
            split_dtls_keying_material(profile, &material[..59], true),
            Err(SrtpError::KeyingMaterialLength {
                expected: 60,
                got: 59,
                ..
            })
        ));
    }
}
