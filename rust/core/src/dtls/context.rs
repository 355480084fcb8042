//! The OpenSSL context shared by the DTLS sessions of one certificate and profile list.

use openssl::ssl::{SslContext, SslMethod, SslOptions, SslVerifyMode, SslVersion};

use crate::crypto::certificate::DtlsCertificate;
use crate::srtp::SrtpProfile;

/// mediasoup's cipher list: no NULL or anonymous ciphers, no PSK.
const CIPHER_LIST: &str = "DEFAULT:!NULL:!aNULL:!SHA256:!SHA384:!aECDH:!AESGCM+AES256:!aPSK";

/// The OpenSSL context of a worker's DTLS sessions: its certificate and the SRTP profiles it
/// offers, built once and shared by every session (as mediasoup keeps one per worker).
pub struct DtlsContext {
    pub(super) ssl: SslContext,
}

impl std::fmt::Debug for DtlsContext {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("DtlsContext { .. }")
    }
}

impl DtlsContext {
    /// A context presenting `certificate` and offering `srtp_profiles` in preference order.
    pub fn new(
        certificate: &DtlsCertificate,
        srtp_profiles: &[SrtpProfile],
    ) -> Result<Self, openssl::error::ErrorStack> {
        Ok(DtlsContext {
            ssl: dtls_context(certificate, srtp_profiles)?,
        })
    }
}

/// Builds the OpenSSL context.
///
/// Peer verification: the peer must present a certificate (WebRTC requires it), which is
/// self-signed, so OpenSSL's chain check is overridden and the session compares the
/// certificate's fingerprint with the signaled one once the handshake ends.
fn dtls_context(
    certificate: &DtlsCertificate,
    srtp_profiles: &[SrtpProfile],
) -> Result<SslContext, openssl::error::ErrorStack> {
    let mut builder = SslContext::builder(SslMethod::dtls())?;
    builder.set_certificate(certificate.certificate())?;
    builder.set_private_key(certificate.private_key())?;
    builder.check_private_key()?;
    builder.set_cipher_list(CIPHER_LIST)?;
    builder.set_min_proto_version(Some(SslVersion::DTLS1))?;
    // The MTU is set explicitly; querying the (in-memory) BIO for it would fail.
    // No renegotiation: the SRTP keys must not change under the running sessions.
    builder.set_options(
        SslOptions::NO_QUERY_MTU | SslOptions::NO_TICKET | SslOptions::NO_RENEGOTIATION,
    );
    builder.set_verify_callback(
        SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
        |_preverified, _chain| true,
    );
    let profiles: Vec<&str> = srtp_profiles
        .iter()
        .map(|profile| profile.dtls_name())
        .collect();
    builder.set_tlsext_use_srtp(&profiles.join(":"))?;
    Ok(builder.build())
}
