//! One DTLS-SRTP association: handshake, fingerprint check, keying material export,
//! retransmission timer, close.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use foreign_types_shared::ForeignTypeRef;
use openssl::ssl::{ErrorCode, HandshakeError, MidHandshakeSslStream, Ssl, SslStream};

use super::channel::DatagramChannel;
use super::context::DtlsContext;
use super::record;
use crate::crypto::certificate::DtlsFingerprint;
use crate::srtp::SrtpProfile;

/// Largest DTLS record OpenSSL may write: leaves room for IP/UDP headers (and TURN, ICE-TCP
/// framing) under a 1280-byte path MTU.
const DTLS_MTU: u32 = 1200;
/// The RFC 5705 exporter label of DTLS-SRTP (RFC 5764 §4.2).
const SRTP_EXPORTER_LABEL: &str = "EXTRACTOR-dtls_srtp";
/// Largest application datagram read back (SCTP over DTLS packets are below the MTU).
const MAX_RECORD_LEN: usize = 16 * 1024;
/// Events queued for the owner; beyond this the oldest application data is dropped.
const MAX_QUEUED_EVENTS: usize = 64;
/// DTLSv1_get_timeout / DTLSv1_handle_timeout are macros over SSL_ctrl (OpenSSL dtls1.h).
const DTLS_CTRL_GET_TIMEOUT: std::os::raw::c_int = 73;
const DTLS_CTRL_HANDLE_TIMEOUT: std::os::raw::c_int = 74;

/// Which side of the handshake we take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    /// We send the ClientHello.
    Client,
    /// We answer it.
    Server,
}

/// mediasoup's `dtlsState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsState {
    /// Not started.
    New,
    /// Handshaking.
    Connecting,
    /// Handshake done, fingerprint verified, keys exported.
    Connected,
    /// Handshake failed or the fingerprint did not match.
    Failed,
    /// The peer sent close_notify, or we closed.
    Closed,
}

impl DtlsState {
    /// mediasoup's name: "new", "connecting", "connected", "failed", "closed".
    pub fn as_str(self) -> &'static str {
        match self {
            DtlsState::New => "new",
            DtlsState::Connecting => "connecting",
            DtlsState::Connected => "connected",
            DtlsState::Failed => "failed",
            DtlsState::Closed => "closed",
        }
    }
}

/// What the owner learns from the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtlsEvent {
    /// The handshake finished and the peer's certificate matches the signaled fingerprint.
    Connected {
        /// The negotiated SRTP profile.
        srtp_profile: SrtpProfile,
        /// `EXTRACTOR-dtls_srtp` output: client key, server key, client salt, server salt.
        keying_material: Vec<u8>,
        /// The peer's certificate (DER), reported as mediasoup's `dtlsRemoteCert`.
        remote_certificate_der: Vec<u8>,
    },
    /// The association failed; the reason is for logs.
    Failed(String),
    /// The peer closed the association.
    Closed,
    /// An application data record (SCTP for DataChannels).
    ApplicationData(Vec<u8>),
}

/// Why a call was refused; after `Failed` events the session stays failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtlsError {
    /// A datagram with no bytes.
    #[error("DTLS datagram is empty")]
    EmptyDatagram,
    /// A record header or body runs past the end of the datagram.
    #[error("DTLS record at offset {offset} truncated: needs {needed} bytes, {remaining} remain")]
    RecordTruncated {
        /// Offset of the record in the datagram.
        offset: usize,
        /// Bytes the record needs from its offset.
        needed: usize,
        /// Bytes left from its offset.
        remaining: usize,
    },
    /// A content type DTLS 1.2 does not define.
    #[error("DTLS record at offset {offset} has unknown content type {content_type}")]
    UnknownContentType {
        /// Offset of the record in the datagram.
        offset: usize,
        /// The content type byte.
        content_type: u8,
    },
    /// A version other than DTLS 1.0 or 1.2.
    #[error("DTLS record at offset {offset} has unsupported version {major:#04x},{minor:#04x}")]
    UnsupportedVersion {
        /// Offset of the record in the datagram.
        offset: usize,
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// A record longer than DTLS allows.
    #[error("DTLS record at offset {offset} declares {len} bytes, at most {max} allowed")]
    RecordTooLong {
        /// Offset of the record in the datagram.
        offset: usize,
        /// The declared length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A protected record too short for its cipher (OpenSSL 3.0 would fail the connection).
    #[error(
        "DTLS record at offset {offset} is protected but has {len} bytes, its cipher needs at least {min}"
    )]
    ProtectedRecordTooShort {
        /// Offset of the record in the datagram.
        offset: usize,
        /// The body length.
        len: usize,
        /// The cipher's minimum.
        min: usize,
    },
    /// OpenSSL could not set up the session.
    #[error("cannot create the DTLS session: {0}")]
    Setup(String),
    /// The receive queue is full (a flood); the datagram was dropped.
    #[error("DTLS receive queue full, datagram dropped")]
    QueueFull,
    /// The datagram was rejected by the handshake or record layer.
    #[error("DTLS datagram rejected: {0}")]
    Rejected(String),
    /// The session has failed or is closed.
    #[error("DTLS session is {0}")]
    NotActive(&'static str),
}

/// Where the association is, for OpenSSL's API (which changes type at handshake end).
enum Stream {
    Handshaking(MidHandshakeSslStream<DatagramChannel>),
    Established(SslStream<DatagramChannel>),
    /// Failed or closed: the channel is gone.
    Finished,
}

/// A sans-IO DTLS-SRTP session (see the module docs).
pub struct DtlsSession {
    stream: Stream,
    role: DtlsRole,
    remote_fingerprint: DtlsFingerprint,
    state: DtlsState,
    /// Datagrams written by OpenSSL, moved out of the channel after every step.
    outgoing: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    retransmit_at: Option<Instant>,
}

impl std::fmt::Debug for DtlsSession {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DtlsSession")
            .field("role", &self.role)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl DtlsSession {
    /// Starts a session; a client writes its ClientHello at once (take it with
    /// [`Self::poll_datagram`]).
    pub fn new(
        context: &DtlsContext,
        role: DtlsRole,
        remote_fingerprint: DtlsFingerprint,
        now: Instant,
    ) -> Result<Self, DtlsError> {
        let setup = |error: openssl::error::ErrorStack| DtlsError::Setup(error.to_string());
        let mut ssl = Ssl::new(&context.ssl).map_err(setup)?;
        ssl.set_mtu(DTLS_MTU).map_err(setup)?;
        // SAFETY: `ssl` is a live SSL object we own, and the callback is a plain function with
        // the `DTLS_timer_cb` signature that touches no state.
        unsafe { DTLS_set_timer_cb(ssl.as_ptr(), Some(next_timeout_micros)) };
        let mut session = DtlsSession {
            stream: Stream::Finished,
            role,
            remote_fingerprint,
            state: DtlsState::Connecting,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            retransmit_at: None,
        };
        // A server's first step only waits; a client's writes the ClientHello.
        let first_step = match role {
            DtlsRole::Client => ssl.connect(DatagramChannel::default()),
            DtlsRole::Server => ssl.accept(DatagramChannel::default()),
        };
        match first_step {
            Ok(stream) => session.on_established(stream),
            Err(HandshakeError::WouldBlock(mut mid)) => {
                move_outgoing(&mut session.outgoing, mid.get_mut());
                session.stream = Stream::Handshaking(mid);
                session.update_timer(now);
            }
            Err(HandshakeError::Failure(mid)) => {
                return Err(DtlsError::Setup(mid.error().to_string()))
            }
            Err(HandshakeError::SetupFailure(error)) => return Err(setup(error)),
        }
        Ok(session)
    }

    /// Our role.
    pub fn role(&self) -> DtlsRole {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> DtlsState {
        self.state
    }

    /// The next datagram to send.
    pub fn poll_datagram(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must run for a retransmission.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.retransmit_at
    }

    /// Feeds a received DTLS datagram.
    pub fn handle_datagram(&mut self, datagram: &[u8], now: Instant) -> Result<(), DtlsError> {
        // Records OpenSSL would choke on (see `record`) never reach it.
        let ssl = match &self.stream {
            Stream::Handshaking(mid) => mid.ssl(),
            Stream::Established(stream) => stream.ssl(),
            Stream::Finished => return Err(DtlsError::NotActive(self.state.as_str())),
        };
        record::validate_datagram(datagram, min_protected_record_len(ssl))?;
        let channel = match &mut self.stream {
            Stream::Handshaking(mid) => mid.get_mut(),
            Stream::Established(stream) => stream.get_mut(),
            Stream::Finished => return Err(DtlsError::NotActive(self.state.as_str())),
        };
        if !channel.push_incoming(datagram) {
            return Err(DtlsError::QueueFull);
        }
        let result = match std::mem::replace(&mut self.stream, Stream::Finished) {
            Stream::Handshaking(mid) => self.continue_handshake(mid),
            Stream::Established(stream) => {
                self.stream = Stream::Established(stream);
                self.read_records()
            }
            Stream::Finished => Ok(()),
        };
        self.update_timer(now);
        result
    }

    /// Retransmits the last flight if its timer expired (OpenSSL keeps the flight and the
    /// back-off; this tells it the time has come).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.retransmit_at.is_none_or(|deadline| now < deadline) {
            return;
        }
        if let Stream::Handshaking(mid) = &mut self.stream {
            // SAFETY: the pointer is the live SSL owned by `mid`; DTLS_CTRL_HANDLE_TIMEOUT
            // takes no argument and only drives OpenSSL's own retransmission state.
            unsafe {
                openssl_sys::SSL_ctrl(
                    mid.ssl().as_ptr(),
                    DTLS_CTRL_HANDLE_TIMEOUT,
                    0,
                    std::ptr::null_mut(),
                );
            }
            move_outgoing(&mut self.outgoing, mid.get_mut());
        }
        self.update_timer(now);
    }

    /// Sends application data (SCTP) once connected.
    pub fn send_application_data(&mut self, data: &[u8]) -> Result<(), DtlsError> {
        let Stream::Established(stream) = &mut self.stream else {
            return Err(DtlsError::NotActive(self.state.as_str()));
        };
        let written = stream.ssl_write(data);
        move_outgoing(&mut self.outgoing, stream.get_mut());
        written
            .map(|_| ())
            .map_err(|error| DtlsError::Rejected(error.to_string()))
    }

    /// Sends close_notify and ends the session.
    pub fn close(&mut self) {
        if let Stream::Established(mut stream) =
            std::mem::replace(&mut self.stream, Stream::Finished)
        {
            // Best effort: a close_notify that cannot be written changes nothing for us.
            let _ = stream.shutdown();
            move_outgoing(&mut self.outgoing, stream.get_mut());
        }
        self.retransmit_at = None;
        self.state = DtlsState::Closed;
    }

    fn continue_handshake(
        &mut self,
        mid: MidHandshakeSslStream<DatagramChannel>,
    ) -> Result<(), DtlsError> {
        match mid.handshake() {
            Ok(stream) => {
                self.on_established(stream);
                Ok(())
            }
            Err(HandshakeError::WouldBlock(mut mid)) => {
                move_outgoing(&mut self.outgoing, mid.get_mut());
                self.stream = Stream::Handshaking(mid);
                Ok(())
            }
            Err(HandshakeError::Failure(mut mid)) => {
                move_outgoing(&mut self.outgoing, mid.get_mut());
                let reason = mid.error().to_string();
                self.fail(format!("handshake failed: {reason}"));
                Err(DtlsError::Rejected(reason))
            }
            Err(HandshakeError::SetupFailure(error)) => {
                self.fail(format!("handshake setup failed: {error}"));
                Err(DtlsError::Rejected(error.to_string()))
            }
        }
    }

    fn on_established(&mut self, mut stream: SslStream<DatagramChannel>) {
        move_outgoing(&mut self.outgoing, stream.get_mut());
        self.retransmit_at = None;
        let ssl = stream.ssl();
        let Some(certificate) = ssl.peer_certificate() else {
            self.fail("the peer presented no certificate".into());
            return;
        };
        let der = certificate.to_der().unwrap_or_default();
        if !self.remote_fingerprint.matches_der(&der) {
            self.fail(format!(
                "the peer certificate does not match the {} fingerprint from signaling",
                self.remote_fingerprint.algorithm.name()
            ));
            return;
        }
        let profile = ssl
            .selected_srtp_profile()
            .and_then(|profile| SrtpProfile::from_dtls_name(profile.name()).ok());
        let Some(profile) = profile else {
            self.fail("no SRTP profile was negotiated (use_srtp)".into());
            return;
        };
        let mut keying_material = vec![0u8; profile.keying_material_len()];
        if let Err(error) =
            ssl.export_keying_material(&mut keying_material, SRTP_EXPORTER_LABEL, None)
        {
            self.fail(format!("keying material export failed: {error}"));
            return;
        }
        self.state = DtlsState::Connected;
        self.events.push_back(DtlsEvent::Connected {
            srtp_profile: profile,
            keying_material,
            remote_certificate_der: der,
        });
        self.stream = Stream::Established(stream);
        // Records that arrived with the last flight (application data) are read now.
        if let Err(error) = self.read_records() {
            self.fail(error.to_string());
        }
    }

    /// Reads every complete record now queued: application data, or close_notify.
    fn read_records(&mut self) -> Result<(), DtlsError> {
        let Stream::Established(stream) = &mut self.stream else {
            return Ok(());
        };
        let mut buffer = vec![0u8; MAX_RECORD_LEN];
        let mut outcome = Ok(());
        let mut closed = false;
        loop {
            match stream.ssl_read(&mut buffer) {
                Ok(len) => {
                    if self.events.len() < MAX_QUEUED_EVENTS {
                        self.events
                            .push_back(DtlsEvent::ApplicationData(buffer[..len].to_vec()));
                    }
                }
                Err(error) if error.code() == ErrorCode::ZERO_RETURN => {
                    closed = true;
                    break;
                }
                Err(error) if error.code() == ErrorCode::WANT_READ => break,
                Err(error) => {
                    // Undecryptable records are dropped by DTLS itself; anything else is
                    // reported for counting and what is queued is discarded.
                    stream.get_mut().clear_incoming();
                    outcome = Err(DtlsError::Rejected(error.to_string()));
                    break;
                }
            }
        }
        move_outgoing(&mut self.outgoing, stream.get_mut());
        if closed {
            self.stream = Stream::Finished;
            self.retransmit_at = None;
            self.state = DtlsState::Closed;
            self.events.push_back(DtlsEvent::Closed);
        }
        outcome
    }

    /// Reads OpenSSL's retransmission timer (DTLSv1_get_timeout) into an absolute deadline.
    fn update_timer(&mut self, now: Instant) {
        let Stream::Handshaking(mid) = &self.stream else {
            self.retransmit_at = None;
            return;
        };
        let mut remaining = Timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        // SAFETY: the pointer is the live SSL owned by `mid`, and DTLS_CTRL_GET_TIMEOUT
        // writes one `struct timeval` to the pointer passed, which points at `remaining`.
        let running = unsafe {
            openssl_sys::SSL_ctrl(
                mid.ssl().as_ptr(),
                DTLS_CTRL_GET_TIMEOUT,
                0,
                (&mut remaining as *mut Timeval).cast(),
            )
        };
        self.retransmit_at = (running > 0).then(|| {
            now + Duration::from_secs(remaining.tv_sec.max(0) as u64)
                + Duration::from_micros(remaining.tv_usec.max(0) as u64)
        });
    }

    fn fail(&mut self, reason: String) {
        self.stream = Stream::Finished;
        self.retransmit_at = None;
        self.state = DtlsState::Failed;
        self.events.push_back(DtlsEvent::Failed(reason));
    }
}

/// `struct timeval` as OpenSSL writes it on Linux (two C longs).
#[repr(C)]
struct Timeval {
    tv_sec: std::os::raw::c_long,
    tv_usec: std::os::raw::c_long,
}

/// Shortest body of a record protected by AES-GCM: 8-byte explicit nonce and 16-byte tag.
const AES_GCM_MIN_RECORD_LEN: usize = 24;
/// Shortest body of a record protected by ChaCha20-Poly1305: its 16-byte tag.
const CHACHA20_POLY1305_MIN_RECORD_LEN: usize = 16;
/// Shortest body of a CBC record: a 16-byte IV and two blocks (a padded SHA-1 MAC).
const AES_CBC_MIN_RECORD_LEN: usize = 48;

/// The shortest body a record protected by the negotiated cipher can have; before a cipher
/// is chosen, the smallest of them.
fn min_protected_record_len(ssl: &openssl::ssl::SslRef) -> usize {
    let Some(cipher) = ssl.current_cipher() else {
        return CHACHA20_POLY1305_MIN_RECORD_LEN;
    };
    let name = cipher.name();
    if name.contains("GCM") {
        AES_GCM_MIN_RECORD_LEN
    } else if name.contains("CHACHA20") {
        CHACHA20_POLY1305_MIN_RECORD_LEN
    } else {
        AES_CBC_MIN_RECORD_LEN
    }
}

/// First retransmission after 100 ms rather than RFC 6347's 1 s: a WebRTC handshake runs over
/// a path ICE has just proven, so a lost flight is better resent quickly.
const INITIAL_TIMEOUT_MICROS: std::os::raw::c_uint = 100_000;
/// Doubling stops at 6.4 s; OpenSSL gives up after 12 expiries.
const MAX_TIMEOUT_MICROS: std::os::raw::c_uint = 6_400_000;

extern "C" {
    // `void DTLS_set_timer_cb(SSL *s, DTLS_timer_cb cb)` (OpenSSL 1.1.1+), not bound by
    // openssl-sys; libssl is linked by openssl-sys.
    fn DTLS_set_timer_cb(
        ssl: *mut openssl_sys::SSL,
        callback: Option<
            unsafe extern "C" fn(
                *mut openssl_sys::SSL,
                std::os::raw::c_uint,
            ) -> std::os::raw::c_uint,
        >,
    );
}

/// OpenSSL asks for the next timeout given the previous one (0 when the timer starts).
unsafe extern "C" fn next_timeout_micros(
    _ssl: *mut openssl_sys::SSL,
    previous_micros: std::os::raw::c_uint,
) -> std::os::raw::c_uint {
    if previous_micros == 0 {
        INITIAL_TIMEOUT_MICROS
    } else {
        previous_micros.saturating_mul(2).min(MAX_TIMEOUT_MICROS)
    }
}

/// Moves the datagrams OpenSSL wrote out of its channel.
fn move_outgoing(outgoing: &mut VecDeque<Vec<u8>>, channel: &mut DatagramChannel) {
    while let Some(datagram) = channel.pop_outgoing() {
        outgoing.push_back(datagram);
    }
}

#[cfg(test)]
mod tests;
