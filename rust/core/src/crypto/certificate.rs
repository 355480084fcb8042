//! The DTLS certificate a worker presents, and certificate fingerprints (RFC 8122 §5): what
//! the two ends of WebRTC exchange through signaling instead of trusting a CA.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

use super::hmac_sha1::constant_time_eq;

/// Days a generated certificate is valid (as mediasoup: far beyond any process lifetime; peers
/// authenticate it by fingerprint, not by dates).
const VALIDITY_DAYS: u32 = 3650;
/// Subject common name of generated certificates.
const COMMON_NAME: &str = "mediasoup_py";

/// Why a certificate could not be generated or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The PEM certificate did not parse.
    #[error("invalid DTLS certificate PEM: {0}")]
    InvalidCertificate(String),
    /// The PEM private key did not parse.
    #[error("invalid DTLS private key PEM: {0}")]
    InvalidPrivateKey(String),
    /// The private key is not the certificate's.
    #[error("the DTLS private key does not match the certificate")]
    KeyMismatch,
    /// OpenSSL failed while generating.
    #[error("cannot generate the DTLS certificate: {0}")]
    Generation(String),
}

fn generation_error(error: openssl::error::ErrorStack) -> CertificateError {
    CertificateError::Generation(error.to_string())
}

/// The hash functions of certificate fingerprints (RFC 8122 §5, the ones mediasoup accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FingerprintAlgorithm {
    /// "sha-1"
    Sha1,
    /// "sha-224"
    Sha224,
    /// "sha-256"
    Sha256,
    /// "sha-384"
    Sha384,
    /// "sha-512"
    Sha512,
}

impl FingerprintAlgorithm {
    /// Every algorithm, in the order mediasoup publishes fingerprints.
    pub const ALL: [FingerprintAlgorithm; 5] = [
        FingerprintAlgorithm::Sha1,
        FingerprintAlgorithm::Sha224,
        FingerprintAlgorithm::Sha256,
        FingerprintAlgorithm::Sha384,
        FingerprintAlgorithm::Sha512,
    ];

    /// The name used in `dtlsParameters` and SDP, e.g. "sha-256".
    pub fn name(self) -> &'static str {
        match self {
            FingerprintAlgorithm::Sha1 => "sha-1",
            FingerprintAlgorithm::Sha224 => "sha-224",
            FingerprintAlgorithm::Sha256 => "sha-256",
            FingerprintAlgorithm::Sha384 => "sha-384",
            FingerprintAlgorithm::Sha512 => "sha-512",
        }
    }

    /// Parses a name, case-insensitively (SDP writers differ).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|algorithm| algorithm.name().eq_ignore_ascii_case(name))
    }

    fn digest(self) -> MessageDigest {
        match self {
            FingerprintAlgorithm::Sha1 => MessageDigest::sha1(),
            FingerprintAlgorithm::Sha224 => MessageDigest::sha224(),
            FingerprintAlgorithm::Sha256 => MessageDigest::sha256(),
            FingerprintAlgorithm::Sha384 => MessageDigest::sha384(),
            FingerprintAlgorithm::Sha512 => MessageDigest::sha512(),
        }
    }
}

/// A certificate fingerprint as signaling carries it: algorithm and uppercase hex bytes
/// separated by colons ("AB:CD:...").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DtlsFingerprint {
    /// The hash function.
    pub algorithm: FingerprintAlgorithm,
    /// The hex value.
    pub value: String,
}

impl DtlsFingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of_der(algorithm: FingerprintAlgorithm, der: &[u8]) -> Self {
        let digest = openssl::hash::hash(algorithm.digest(), der)
            .map(|digest| digest.to_vec())
            .unwrap_or_default();
        DtlsFingerprint {
            algorithm,
            value: hex_with_colons(&digest),
        }
    }

    /// Whether the DER certificate has this fingerprint (hex compared case-insensitively,
    /// bytes in constant time).
    pub fn matches_der(&self, der: &[u8]) -> bool {
        let expected = decode_hex_with_colons(&self.value);
        let actual = openssl::hash::hash(self.algorithm.digest(), der);
        match (expected, actual) {
            (Some(expected), Ok(actual)) => constant_time_eq(&expected, &actual),
            _ => false,
        }
    }
}

fn hex_with_colons(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn decode_hex_with_colons(text: &str) -> Option<Vec<u8>> {
    text.split(':')
        .map(|pair| {
            if pair.len() == 2 {
                u8::from_str_radix(pair, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

/// A certificate and its private key, with fingerprints computed once.
#[derive(Clone)]
pub struct DtlsCertificate {
    certificate: X509,
    private_key: PKey<Private>,
    fingerprints: Vec<DtlsFingerprint>,
}

impl std::fmt::Debug for DtlsCertificate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of logs.
        formatter
            .debug_struct("DtlsCertificate")
            .field("fingerprints", &self.fingerprints)
            .finish_non_exhaustive()
    }
}

impl DtlsCertificate {
    /// A fresh self-signed ECDSA P-256 certificate signed with SHA-256, as mediasoup makes.
    pub fn generate() -> Result<Self, CertificateError> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(generation_error)?;
        let private_key = EcKey::generate(&group)
            .and_then(PKey::from_ec_key)
            .map_err(generation_error)?;
        let mut name = X509NameBuilder::new().map_err(generation_error)?;
        name.append_entry_by_nid(Nid::COMMONNAME, COMMON_NAME)
            .map_err(generation_error)?;
        let name = name.build();
        let mut serial = BigNum::new().map_err(generation_error)?;
        serial
            .rand(64, MsbOption::MAYBE_ZERO, false)
            .map_err(generation_error)?;
        let mut builder = X509Builder::new().map_err(generation_error)?;
        builder.set_version(2).map_err(generation_error)?;
        let serial = serial.to_asn1_integer().map_err(generation_error)?;
        builder
            .set_serial_number(&serial)
            .map_err(generation_error)?;
        builder.set_subject_name(&name).map_err(generation_error)?;
        builder.set_issuer_name(&name).map_err(generation_error)?;
        builder.set_pubkey(&private_key).map_err(generation_error)?;
        // Start a day early so peers with a skewed clock accept it.
        let not_before = Asn1Time::from_unix(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs() as i64)
                - 86_400,
        )
        .map_err(generation_error)?;
        builder
            .set_not_before(&not_before)
            .map_err(generation_error)?;
        let not_after = Asn1Time::days_from_now(VALIDITY_DAYS).map_err(generation_error)?;
        builder
            .set_not_after(&not_after)
            .map_err(generation_error)?;
        builder
            .sign(&private_key, MessageDigest::sha256())
            .map_err(generation_error)?;
        Ok(Self::from_parts(builder.build(), private_key))
    }

    /// Loads a PEM certificate and its PEM private key (mediasoup's `dtlsCertificateFile` and
    /// `dtlsPrivateKeyFile`), checking that they belong together.
    pub fn from_pem(
        certificate_pem: &[u8],
        private_key_pem: &[u8],
    ) -> Result<Self, CertificateError> {
        let certificate = X509::from_pem(certificate_pem)
            .map_err(|error| CertificateError::InvalidCertificate(error.to_string()))?;
        let private_key = PKey::private_key_from_pem(private_key_pem)
            .map_err(|error| CertificateError::InvalidPrivateKey(error.to_string()))?;
        let public_key = certificate
            .public_key()
            .map_err(|error| CertificateError::InvalidCertificate(error.to_string()))?;
        if !private_key.public_eq(&public_key) {
            return Err(CertificateError::KeyMismatch);
        }
        Ok(Self::from_parts(certificate, private_key))
    }

    fn from_parts(certificate: X509, private_key: PKey<Private>) -> Self {
        let der = certificate.to_der().unwrap_or_default();
        let fingerprints = FingerprintAlgorithm::ALL
            .into_iter()
            .map(|algorithm| DtlsFingerprint::of_der(algorithm, &der))
            .collect();
        DtlsCertificate {
            certificate,
            private_key,
            fingerprints,
        }
    }

    /// The certificate.
    pub fn certificate(&self) -> &X509 {
        &self.certificate
    }

    /// The private key.
    pub fn private_key(&self) -> &PKey<Private> {
        &self.private_key
    }

    /// Fingerprints for sha-1, sha-224, sha-256, sha-384 and sha-512, in that order.
    pub fn fingerprints(&self) -> &[DtlsFingerprint] {
        &self.fingerprints
    }

    /// The fingerprint for one algorithm.
    pub fn fingerprint(&self, algorithm: FingerprintAlgorithm) -> &DtlsFingerprint {
        let index = FingerprintAlgorithm::ALL
            .iter()
            .position(|candidate| *candidate == algorithm)
            .unwrap_or(0);
        &self.fingerprints[index]
    }

    /// The certificate as PEM (mediasoup reports the peer's as `dtlsRemoteCert`).
    pub fn certificate_pem(&self) -> Vec<u8> {
        self.certificate.to_pem().unwrap_or_default()
    }

    /// The private key as PKCS#8 PEM (to save a generated certificate).
    pub fn private_key_pem(&self) -> Vec<u8> {
        self.private_key
            .private_key_to_pem_pkcs8()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_have_fingerprints_of_every_length() {
        let certificate = DtlsCertificate::generate().unwrap();
        let lengths: Vec<(&str, usize)> = certificate
            .fingerprints()
            .iter()
            .map(|fingerprint| (fingerprint.algorithm.name(), fingerprint.value.len()))
            .collect();
        // n bytes are 2n hex digits and n - 1 colons.
        assert_eq!(
            lengths,
            [
                ("sha-1", 59),
                ("sha-224", 83),
                ("sha-256", 95),
                ("sha-384", 143),
                ("sha-512", 191)
            ]
        );
        let sha256 = certificate.fingerprint(FingerprintAlgorithm::Sha256);
        assert!(sha256
            .value
            .chars()
            .all(|c| c == ':' || c.is_ascii_digit() || c.is_ascii_uppercase()));
        let der = certificate.certificate().to_der().unwrap();
        assert!(sha256.matches_der(&der));
        let lowercase = DtlsFingerprint {
            algorithm: FingerprintAlgorithm::Sha256,
            value: sha256.value.to_lowercase(),
        };
        assert!(lowercase.matches_der(&der));
        let other = DtlsCertificate::generate().unwrap();
        assert!(!other
            .fingerprint(FingerprintAlgorithm::Sha256)
            .matches_der(&der));
        assert!(!DtlsFingerprint {
            algorithm: FingerprintAlgorithm::Sha256,
            value: "not hex".into()
        }
        .matches_der(&der));
    }

    #[test]
    fn pem_round_trip_and_mismatched_key() {
        let certificate = DtlsCertificate::generate().unwrap();
        let loaded = DtlsCertificate::from_pem(
            &certificate.certificate_pem(),
            &certificate.private_key_pem(),
        )
        .unwrap();
        assert_eq!(loaded.fingerprints(), certificate.fingerprints());
        let other = DtlsCertificate::generate().unwrap();
        assert_eq!(
            DtlsCertificate::from_pem(&certificate.certificate_pem(), &other.private_key_pem())
                .unwrap_err(),
            CertificateError::KeyMismatch
        );
        assert!(matches!(
            DtlsCertificate::from_pem(b"garbage", &other.private_key_pem()),
            Err(CertificateError::InvalidCertificate(_))
        ));
    }

    #[test]
    fn algorithm_names() {
        for algorithm in FingerprintAlgorithm::ALL {
            assert_eq!(
                FingerprintAlgorithm::from_name(algorithm.name()),
                Some(algorithm)
            );
        }
        assert_eq!(
            FingerprintAlgorithm::from_name("SHA-256"),
            Some(FingerprintAlgorithm::Sha256)
        );
        assert_eq!(FingerprintAlgorithm::from_name("md5"), None);
    }
}
