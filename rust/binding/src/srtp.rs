//! `SrtpSession` for Python over `mediasoup_core::srtp`. Protect writes straight into the new
//! `bytes` object (its length is known from the profile); unprotect works in a scratch buffer
//! the session keeps, so neither allocates beyond the result.

use mediasoup_core::srtp::{self as core_srtp, SrtpProfile};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{type_error, SrtpAuthenticationError, SrtpError, SrtpReplayError};

/// The SRTCP index field (E flag and 31-bit index) appended before the tag (RFC 3711 §3.4).
const SRTCP_INDEX_LEN: usize = 4;

fn srtp_error(error: core_srtp::SrtpError) -> PyErr {
    match error {
        core_srtp::SrtpError::AuthenticationFailed { .. } => {
            SrtpAuthenticationError::new_err(error.to_string())
        }
        core_srtp::SrtpError::Replayed { .. } | core_srtp::SrtpError::TooOld { .. } => {
            SrtpReplayError::new_err(error.to_string())
        }
        core_srtp::SrtpError::KeyLength { .. } => type_error("key", error.to_string()),
        core_srtp::SrtpError::SaltLength { .. } => type_error("salt", error.to_string()),
        other => SrtpError::new_err(other.to_string()),
    }
}

pub fn profile_from_name(name: &str) -> PyResult<SrtpProfile> {
    SrtpProfile::from_name(name).map_err(|error| type_error("profile", error.to_string()))
}

/// An SRTP/SRTCP crypto context for one direction (RFC 3711, RFC 7714).
#[pyclass(module = "mediasoup_py._core", name = "SrtpSession")]
pub struct PySrtpSession {
    session: core_srtp::SrtpSession,
    /// Reused by unprotect: the packet is decrypted in place here, then copied out once.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for PySrtpSession {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        formatter
            .debug_struct("SrtpSession")
            .field("profile", &self.session.profile().name())
            .finish_non_exhaustive()
    }
}

impl PySrtpSession {
    /// Protects `data` into a new `bytes` of exactly `data.len() + overhead` bytes.
    fn protect_into<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
        overhead: usize,
        protect: fn(
            &mut core_srtp::SrtpSession,
            &mut [u8],
            usize,
        ) -> Result<usize, core_srtp::SrtpError>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let expected_len = data.len() + overhead;
        let mut outcome = Ok(expected_len);
        let session = &mut self.session;
        let protected = PyBytes::new_with(py, expected_len, |buffer| {
            buffer[..data.len()].copy_from_slice(data);
            outcome = protect(session, buffer, data.len());
            Ok(())
        })?;
        match outcome {
            Ok(len) if len == expected_len => Ok(protected),
            Ok(len) => Err(SrtpError::new_err(format!(
                "SRTP protect produced {len} bytes, expected {expected_len}"
            ))),
            Err(error) => Err(srtp_error(error)),
        }
    }

    fn unprotect_into<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
        unprotect: fn(
            &mut core_srtp::SrtpSession,
            &mut [u8],
        ) -> Result<usize, core_srtp::SrtpError>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.scratch.clear();
        self.scratch.extend_from_slice(data);
        let len = unprotect(&mut self.session, &mut self.scratch).map_err(srtp_error)?;
        Ok(PyBytes::new(py, &self.scratch[..len]))
    }
}

#[pymethods]
impl PySrtpSession {
    #[new]
    fn new(profile: &str, key: &[u8], salt: &[u8]) -> PyResult<Self> {
        let profile = profile_from_name(profile)?;
        Ok(Self {
            session: core_srtp::SrtpSession::new(profile, key, salt).map_err(srtp_error)?,
            scratch: Vec::with_capacity(1500),
        })
    }

    /// The profile's name, e.g. "AEAD_AES_128_GCM".
    #[getter]
    fn profile(&self) -> &'static str {
        self.session.profile().name()
    }

    /// Encrypts and authenticates an RTP packet.
    fn protect<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let overhead = self.session.profile().rtp_tag_len();
        self.protect_into(py, data, overhead, core_srtp::SrtpSession::protect_rtp)
    }

    /// Checks and decrypts an SRTP packet; raises `SrtpAuthenticationError` for a bad tag and
    /// `SrtpReplayError` for a packet already seen or older than the replay window.
    fn unprotect<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        self.unprotect_into(py, data, core_srtp::SrtpSession::unprotect_rtp)
    }

    /// Encrypts and authenticates an RTCP compound packet (SRTCP).
    fn protect_rtcp<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let overhead = SRTCP_INDEX_LEN + self.session.profile().rtcp_tag_len();
        self.protect_into(py, data, overhead, core_srtp::SrtpSession::protect_rtcp)
    }

    /// Checks and decrypts an SRTCP packet.
    fn unprotect_rtcp<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.unprotect_into(py, data, core_srtp::SrtpSession::unprotect_rtcp)
    }

    fn __repr__(&self) -> String {
        format!("SrtpSession({:?})", self.session.profile().name())
    }
}

/// Master key and salt lengths in bytes of an SRTP profile.
#[pyfunction]
pub fn srtp_key_and_salt_lengths(profile: &str) -> PyResult<(usize, usize)> {
    let profile = profile_from_name(profile)?;
    Ok((profile.key_len(), profile.salt_len()))
}

/// The names of the supported SRTP profiles, in mediasoup's preference order.
pub fn profile_names() -> Vec<&'static str> {
    SrtpProfile::ALL
        .iter()
        .map(|profile| profile.name())
        .collect()
}
