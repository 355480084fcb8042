//! The secure connection of one WebRtcTransport: ICE-lite decides where media may come from
//! and go to, DTLS-SRTP agrees on keys, SRTP protects every packet.
//!
//! mediasoup's rules, which clients rely on:
//! - Only STUN is accepted from a tuple that has not passed a connectivity check; DTLS, RTP and
//!   RTCP from unknown tuples are dropped (counted), so nobody can inject media by guessing a
//!   port.
//! - Everything we send goes to the ICE selected tuple, and nothing is sent without one.
//! - The DTLS role comes from the client's `connect()`: a client that says `client` makes us
//!   the DTLS server; `server` or `auto` make us the client. DTLS starts once `connect()` gave
//!   the remote fingerprint and ICE is `connected` or `completed`. A ClientHello that races
//!   ahead of `connect()` is kept (a few datagrams) and replayed when DTLS starts.
//! - The peer certificate must match the fingerprint from `connect()`.
//! - With SCTP enabled (mediasoup's `enableSctp`), DTLS application data is SCTP (RFC 8261):
//!   the association starts when DTLS connects (the DTLS client sends the INIT), its
//!   packets go out as DTLS records to the selected tuple, and it closes with DTLS.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::datagram_sink::DatagramSink;
use crate::crypto::certificate::DtlsFingerprint;
use crate::dtls::{DtlsContext, DtlsEvent, DtlsRole, DtlsSession, DtlsState};
use crate::ice::{IceEvent, IceParameters, IceServer, IceState, StunOutcome, TransportTuple};
use crate::packet::demux::{classify, DatagramKind};
use crate::packet::stun::StunMessage;
use crate::sctp::{SctpAssociation, SctpConfig, SctpRole};
use crate::srtp::{split_dtls_keying_material, SrtpError, SrtpProfile, SrtpSession};

/// DTLS datagrams kept while waiting for `connect()` (a ClientHello flight is 1-2 datagrams).
const MAX_EARLY_DTLS_DATAGRAMS: usize = 4;

/// The DTLS role a client announces in its `dtlsParameters` (mediasoup's `DtlsRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteDtlsRole {
    /// The client lets us choose: we act as DTLS client.
    Auto,
    /// The client is the DTLS client: we are the server.
    Client,
    /// The client is the DTLS server: we are the client.
    Server,
}

/// The client's DTLS parameters, as `connect({dtlsParameters})` carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDtlsParameters {
    /// The client's role.
    pub role: RemoteDtlsRole,
    /// The fingerprint the client's certificate must match (mediasoup uses the first one).
    pub fingerprint: DtlsFingerprint,
}

/// What a received datagram turned out to carry, for the transport to route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// An RTP packet, decrypted in place: the first `len` bytes of the buffer.
    Rtp(usize),
    /// An RTCP compound packet, decrypted in place: the first `len` bytes of the buffer.
    Rtcp(usize),
    /// Nothing for the router (STUN, DTLS, or a dropped datagram).
    Nothing,
}

/// A state change the transport reports to its owner (mediasoup's `icestatechange`,
/// `iceselectedtuplechange`, `dtlsstatechange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebRtcConnectionEvent {
    /// The ICE state changed.
    IceStateChanged(IceState),
    /// Media now goes to this tuple.
    IceSelectedTupleChanged(TransportTuple),
    /// The DTLS state changed; when `Connected`, SRTP keys exist and media can flow.
    DtlsStateChanged(DtlsState),
}

/// Why a datagram was dropped; kept as counters, never logged per packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounters {
    /// STUN that did not parse or did not pass ICE's checks.
    pub stun: u64,
    /// DTLS from an unvalidated tuple, or that the DTLS session rejected.
    pub dtls: u64,
    /// RTP/RTCP from an unvalidated tuple or before SRTP keys exist.
    pub media_not_ready: u64,
    /// SRTP/SRTCP that failed authentication or replay checks, or was malformed.
    pub srtp: u64,
    /// Datagrams that are none of STUN, DTLS, RTP, RTCP.
    pub unknown: u64,
    /// DTLS application data on a transport without SCTP.
    pub application_data: u64,
}

/// Why `send_rtp`/`send_rtcp` sent nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// ICE has no selected tuple (not connected, or consent expired).
    #[error("no ICE selected tuple to send on")]
    NoSelectedTuple,
    /// DTLS has not produced SRTP keys yet.
    #[error("DTLS is not connected: no SRTP keys to protect with")]
    NotSecured,
    /// SRTP protection failed (e.g. no room for the tag, not an RTP packet).
    #[error(transparent)]
    Srtp(#[from] SrtpError),
}

/// Why `connect` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// `connect()` may be called once (mediasoup raises InvalidStateError too).
    #[error("connect() already called")]
    AlreadyConnected,
    /// The DTLS session could not be created.
    #[error("cannot start DTLS: {0}")]
    Dtls(String),
}

/// SRTP sessions for both directions, keyed from the DTLS exporter.
#[derive(Debug)]
struct SrtpPair {
    send: SrtpSession,
    receive: SrtpSession,
}

/// ICE-lite + DTLS + SRTP for one WebRtcTransport; see the module docs for the rules.
#[derive(Debug)]
pub struct WebRtcConnection {
    ice: IceServer,
    dtls_context: Arc<DtlsContext>,
    remote: Option<RemoteDtlsParameters>,
    dtls: Option<DtlsSession>,
    /// Our role, fixed when DTLS starts.
    dtls_role: Option<DtlsRole>,
    dtls_state: DtlsState,
    early_dtls: VecDeque<Vec<u8>>,
    srtp: Option<SrtpPair>,
    /// The peer's certificate (DER) once DTLS connected (mediasoup's `dtlsRemoteCert`).
    remote_certificate: Option<Vec<u8>>,
    /// Why DTLS failed, for the log.
    dtls_failure: Option<String>,
    events: VecDeque<WebRtcConnectionEvent>,
    drops: DropCounters,
    /// DataChannels, when the transport enabled SCTP.
    sctp: Option<SctpAssociation>,
    /// Reused for STUN responses.
    stun_response: Vec<u8>,
}

impl WebRtcConnection {
    /// A connection answering ICE checks for `ice_parameters`, with DTLS from the worker's
    /// `dtls_context` (certificate and SRTP profiles); `consent_timeout` as mediasoup's
    /// `iceConsentTimeout`.
    pub fn new(
        ice_parameters: IceParameters,
        consent_timeout: Option<Duration>,
        dtls_context: Arc<DtlsContext>,
    ) -> Self {
        WebRtcConnection {
            ice: IceServer::new(ice_parameters, consent_timeout),
            dtls_context,
            remote: None,
            dtls: None,
            dtls_role: None,
            dtls_state: DtlsState::New,
            early_dtls: VecDeque::new(),
            srtp: None,
            remote_certificate: None,
            dtls_failure: None,
            events: VecDeque::new(),
            drops: DropCounters::default(),
            sctp: None,
            stun_response: Vec::with_capacity(128),
        }
    }

    /// Carries DataChannels: an SCTP association over DTLS with mediasoup's options.
    pub fn with_sctp(mut self, config: SctpConfig) -> Self {
        self.sctp = Some(SctpAssociation::new(config));
        self
    }

    /// The SCTP association, when SCTP is enabled.
    pub fn sctp(&self) -> Option<&SctpAssociation> {
        self.sctp.as_ref()
    }

    /// Runs `operation` on the SCTP association (send, open or close a stream, read its
    /// events) and sends what it queued; `None` when SCTP is not enabled.
    pub fn with_sctp_association<R>(
        &mut self,
        now: Instant,
        out: &mut impl DatagramSink,
        operation: impl FnOnce(&mut SctpAssociation) -> R,
    ) -> Option<R> {
        let result = operation(self.sctp.as_mut()?);
        self.flush_sctp(now, out);
        Some(result)
    }

    /// The ICE-lite server (credentials, state, tuples).
    pub fn ice(&self) -> &IceServer {
        &self.ice
    }

    /// The DTLS state (`new` until DTLS starts).
    pub fn dtls_state(&self) -> DtlsState {
        self.dtls_state
    }

    /// The negotiated SRTP profile, once DTLS is connected.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.srtp.as_ref().map(|pair| pair.send.profile())
    }

    /// The peer's DTLS certificate (DER), once connected.
    pub fn remote_certificate(&self) -> Option<&[u8]> {
        self.remote_certificate.as_deref()
    }

    /// Why DTLS failed, once it has.
    pub fn dtls_failure(&self) -> Option<&str> {
        self.dtls_failure.as_deref()
    }

    /// Counters of dropped datagrams by reason.
    pub fn drops(&self) -> DropCounters {
        self.drops
    }

    /// The next state change to report.
    pub fn poll_event(&mut self) -> Option<WebRtcConnectionEvent> {
        self.events.pop_front()
    }

    /// The earliest time [`Self::handle_timeout`] must run (consent expiry, DTLS and SCTP
    /// retransmission).
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.ice.poll_timeout(),
            self.dtls.as_ref().and_then(DtlsSession::poll_timeout),
            self.sctp.as_ref().and_then(SctpAssociation::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The client's `connect({dtlsParameters})`: fixes our DTLS role and the fingerprint to
    /// check, and starts DTLS if ICE is already up.
    pub fn connect(
        &mut self,
        remote: RemoteDtlsParameters,
        now: Instant,
        out: &mut impl DatagramSink,
    ) -> Result<(), ConnectError> {
        if self.remote.is_some() {
            return Err(ConnectError::AlreadyConnected);
        }
        self.remote = Some(remote);
        self.maybe_start_dtls(now, out)
    }

    /// A TCP connection carrying `tuple` closed: ICE forgets it (and disconnects if it was
    /// the selected one).
    pub fn remove_tuple(&mut self, tuple: &TransportTuple) {
        self.ice.remove_tuple(tuple);
        while let Some(event) = self.ice.poll_event() {
            self.events.push_back(connection_event(event));
        }
    }

    /// New ICE credentials (mediasoup's `restartIce`).
    pub fn restart_ice(&mut self, parameters: IceParameters, now: Instant) {
        self.ice.restart(parameters, now);
    }

    /// Handles one received datagram (in `buffer`, decrypted in place when it is media).
    pub fn handle_datagram(
        &mut self,
        tuple: TransportTuple,
        buffer: &mut [u8],
        now: Instant,
        out: &mut impl DatagramSink,
    ) -> Received {
        match classify(buffer) {
            DatagramKind::Stun => {
                self.handle_stun(tuple, buffer, now, out);
                Received::Nothing
            }
            DatagramKind::Dtls => {
                self.handle_dtls(tuple, buffer, now, out);
                Received::Nothing
            }
            DatagramKind::Rtp => {
                self.unprotect(tuple, buffer, SrtpSession::unprotect_rtp, Received::Rtp)
            }
            DatagramKind::Rtcp => {
                self.unprotect(tuple, buffer, SrtpSession::unprotect_rtcp, Received::Rtcp)
            }
            DatagramKind::Unknown => {
                self.drops.unknown += 1;
                Received::Nothing
            }
        }
    }

    /// Protects the RTP packet `buffer[..len]` in place (the buffer needs room for the tag)
    /// and sends it to the selected tuple.
    pub fn send_rtp(
        &mut self,
        buffer: &mut [u8],
        len: usize,
        out: &mut impl DatagramSink,
    ) -> Result<(), SendError> {
        self.protect_and_send(buffer, len, SrtpSession::protect_rtp, out)
    }

    /// Protects the RTCP compound packet `buffer[..len]` in place and sends it.
    pub fn send_rtcp(
        &mut self,
        buffer: &mut [u8],
        len: usize,
        out: &mut impl DatagramSink,
    ) -> Result<(), SendError> {
        self.protect_and_send(buffer, len, SrtpSession::protect_rtcp, out)
    }

    /// Runs timers: consent expiry, DTLS and SCTP retransmission.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut impl DatagramSink) {
        self.ice.handle_timeout(now);
        self.drain_ice_events(now, out);
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.handle_timeout(now);
        }
        self.drain_dtls(Some(now), out);
        if let Some(sctp) = self.sctp.as_mut() {
            if sctp.poll_timeout().is_some_and(|deadline| deadline <= now) {
                sctp.handle_timeout(now);
            }
        }
        self.flush_sctp(now, out);
    }

    /// Ends SCTP and sends a DTLS close_notify (transport close).
    pub fn close(&mut self, out: &mut impl DatagramSink) {
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.close();
        }
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.close();
        }
        self.drain_dtls(None, out);
    }

    fn handle_stun(
        &mut self,
        tuple: TransportTuple,
        datagram: &[u8],
        now: Instant,
        out: &mut impl DatagramSink,
    ) {
        let Ok(message) = StunMessage::parse(datagram) else {
            self.drops.stun += 1;
            return;
        };
        let outcome = self
            .ice
            .handle_stun(&message, tuple, now, &mut self.stun_response);
        if outcome != StunOutcome::Authenticated {
            self.drops.stun += 1;
        }
        if !self.stun_response.is_empty() {
            out.send(&tuple, &self.stun_response);
        }
        self.drain_ice_events(now, out);
    }

    fn handle_dtls(
        &mut self,
        tuple: TransportTuple,
        datagram: &[u8],
        now: Instant,
        out: &mut impl DatagramSink,
    ) {
        if !self.ice.is_valid_tuple(&tuple) {
            self.drops.dtls += 1;
            return;
        }
        let Some(dtls) = self.dtls.as_mut() else {
            if self.early_dtls.len() < MAX_EARLY_DTLS_DATAGRAMS {
                self.early_dtls.push_back(datagram.to_vec());
            } else {
                self.drops.dtls += 1;
            }
            return;
        };
        if dtls.handle_datagram(datagram, now).is_err() {
            self.drops.dtls += 1;
        }
        self.drain_dtls(Some(now), out);
        self.flush_sctp(now, out);
    }

    fn unprotect(
        &mut self,
        tuple: TransportTuple,
        buffer: &mut [u8],
        unprotect: fn(&mut SrtpSession, &mut [u8]) -> Result<usize, SrtpError>,
        received: fn(usize) -> Received,
    ) -> Received {
        let Some(srtp) = self.srtp.as_mut() else {
            self.drops.media_not_ready += 1;
            return Received::Nothing;
        };
        if !self.ice.is_valid_tuple(&tuple) {
            self.drops.media_not_ready += 1;
            return Received::Nothing;
        }
        match unprotect(&mut srtp.receive, buffer) {
            Ok(len) => received(len),
            Err(_) => {
                self.drops.srtp += 1;
                Received::Nothing
            }
        }
    }

    fn protect_and_send(
        &mut self,
        buffer: &mut [u8],
        len: usize,
        protect: fn(&mut SrtpSession, &mut [u8], usize) -> Result<usize, SrtpError>,
        out: &mut impl DatagramSink,
    ) -> Result<(), SendError> {
        let tuple = self
            .ice
            .selected_tuple()
            .ok_or(SendError::NoSelectedTuple)?;
        let srtp = self.srtp.as_mut().ok_or(SendError::NotSecured)?;
        let protected_len = protect(&mut srtp.send, buffer, len)?;
        out.send(&tuple, buffer.get(..protected_len).unwrap_or_default());
        Ok(())
    }

    fn drain_ice_events(&mut self, now: Instant, out: &mut impl DatagramSink) {
        let mut ice_up = false;
        while let Some(event) = self.ice.poll_event() {
            if let IceEvent::StateChanged(state) = event {
                ice_up = matches!(state, IceState::Connected | IceState::Completed);
            }
            self.events.push_back(connection_event(event));
        }
        if ice_up {
            // A failure to create the session is reported through the DTLS state.
            let _ = self.maybe_start_dtls(now, out);
        }
    }

    fn maybe_start_dtls(
        &mut self,
        now: Instant,
        out: &mut impl DatagramSink,
    ) -> Result<(), ConnectError> {
        let ice_up = matches!(self.ice.state(), IceState::Connected | IceState::Completed);
        let (Some(remote), None, true) = (&self.remote, &self.dtls, ice_up) else {
            return Ok(());
        };
        let role = match remote.role {
            RemoteDtlsRole::Client => DtlsRole::Server,
            RemoteDtlsRole::Auto | RemoteDtlsRole::Server => DtlsRole::Client,
        };
        let session = DtlsSession::new(&self.dtls_context, role, remote.fingerprint.clone(), now);
        match session {
            Ok(mut session) => {
                // Only a DTLS server expects the client's first flight; as a client we drop it.
                for early in self.early_dtls.drain(..) {
                    if role != DtlsRole::Server || session.handle_datagram(&early, now).is_err() {
                        self.drops.dtls += 1;
                    }
                }
                self.dtls = Some(session);
                self.dtls_role = Some(role);
                self.set_dtls_state(DtlsState::Connecting);
                self.drain_dtls(Some(now), out);
                Ok(())
            }
            Err(error) => {
                self.dtls_failure = Some(error.to_string());
                self.set_dtls_state(DtlsState::Failed);
                Err(ConnectError::Dtls(error.to_string()))
            }
        }
    }

    /// Sends what SCTP queued, as DTLS records, to the selected tuple.
    fn flush_sctp(&mut self, now: Instant, out: &mut impl DatagramSink) {
        let (Some(sctp), Some(dtls)) = (self.sctp.as_mut(), self.dtls.as_mut()) else {
            return;
        };
        let mut wrote = false;
        while let Some(packet) = sctp.poll_transmit(now) {
            // A refused write means DTLS is closed or failed; SCTP closes with it.
            wrote |= dtls.send_application_data(&packet).is_ok();
        }
        if wrote {
            self.drain_dtls(Some(now), out);
        }
    }

    /// Sends what DTLS wrote (to the selected tuple) and applies its events; `now` is `None`
    /// when closing, when SCTP (already closed) takes no more input.
    fn drain_dtls(&mut self, now: Option<Instant>, out: &mut impl DatagramSink) {
        let Some(dtls) = self.dtls.as_mut() else {
            return;
        };
        let selected = self.ice.selected_tuple();
        while let Some(datagram) = dtls.poll_datagram() {
            if let Some(tuple) = &selected {
                out.send(tuple, &datagram);
            }
        }
        while let Some(event) = self.dtls.as_mut().and_then(DtlsSession::poll_event) {
            match event {
                DtlsEvent::Connected {
                    srtp_profile,
                    keying_material,
                    remote_certificate_der,
                } => {
                    self.remote_certificate = Some(remote_certificate_der);
                    self.on_dtls_connected(srtp_profile, &keying_material);
                    if let (Some(sctp), true) =
                        (self.sctp.as_mut(), self.dtls_state == DtlsState::Connected)
                    {
                        let role = match self.dtls_role {
                            Some(DtlsRole::Client) => SctpRole::Client,
                            _ => SctpRole::Server,
                        };
                        sctp.start(role);
                    }
                }
                DtlsEvent::Failed(reason) => {
                    self.dtls_failure = Some(reason);
                    self.set_dtls_state(DtlsState::Failed);
                    if let Some(sctp) = self.sctp.as_mut() {
                        sctp.close();
                    }
                }
                DtlsEvent::Closed => {
                    self.srtp = None;
                    self.set_dtls_state(DtlsState::Closed);
                    if let Some(sctp) = self.sctp.as_mut() {
                        sctp.close();
                    }
                }
                DtlsEvent::ApplicationData(packet) => match (self.sctp.as_mut(), now) {
                    (Some(sctp), Some(now)) => sctp.handle_packet(&packet, now),
                    _ => self.drops.application_data += 1,
                },
            }
        }
    }

    fn on_dtls_connected(&mut self, profile: SrtpProfile, keying_material: &[u8]) {
        let is_dtls_client = self.dtls_role == Some(DtlsRole::Client);
        let sessions = split_dtls_keying_material(profile, keying_material, is_dtls_client)
            .and_then(|(local, remote)| {
                Ok(SrtpPair {
                    send: SrtpSession::new(profile, &local.key, &local.salt)?,
                    receive: SrtpSession::new(profile, &remote.key, &remote.salt)?,
                })
            });
        match sessions {
            Ok(pair) => {
                self.srtp = Some(pair);
                self.set_dtls_state(DtlsState::Connected);
            }
            Err(error) => {
                self.dtls_failure = Some(format!("SRTP keys: {error}"));
                self.set_dtls_state(DtlsState::Failed);
            }
        }
    }

    fn set_dtls_state(&mut self, state: DtlsState) {
        if self.dtls_state != state {
            self.dtls_state = state;
            self.events
                .push_back(WebRtcConnectionEvent::DtlsStateChanged(state));
        }
    }
}

fn connection_event(event: IceEvent) -> WebRtcConnectionEvent {
    match event {
        IceEvent::StateChanged(state) => WebRtcConnectionEvent::IceStateChanged(state),
        IceEvent::SelectedTupleChanged(tuple) => {
            WebRtcConnectionEvent::IceSelectedTupleChanged(tuple)
        }
    }
}

#[cfg(test)]
mod tests;
