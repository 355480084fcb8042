//! The ICE-lite server: answers and validates the client's connectivity checks, tracks the
//! tuples they came on, follows the client's nomination, and expires consent.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{IceParameters, TransportTuple};
use crate::crypto::hmac_sha1::HmacSha1;
use crate::packet::stun::{
    binding_error_response, binding_success_response, StunClass, StunMessage, StunMethod,
};

/// Most tuples remembered per transport (mediasoup's limit); the oldest unselected one is
/// forgotten when a new one passes a check, so a client cannot grow our state.
pub const MAX_TUPLES: usize = 8;

/// At most this many events wait for [`IceServer::poll_event`]; older ones are dropped
/// (only the latest state and tuple matter to a consumer that fell behind).
const MAX_QUEUED_EVENTS: usize = 16;

/// mediasoup's `iceState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceState {
    /// No valid check yet.
    New,
    /// A valid check arrived (without nomination): media may flow on the selected tuple.
    Connected,
    /// The client nominated a tuple (USE-CANDIDATE or renomination).
    Completed,
    /// Consent expired or the selected TCP connection closed: nothing is sent.
    Disconnected,
}

impl IceState {
    /// mediasoup's name: "new", "connected", "completed", "disconnected".
    pub fn as_str(self) -> &'static str {
        match self {
            IceState::New => "new",
            IceState::Connected => "connected",
            IceState::Completed => "completed",
            IceState::Disconnected => "disconnected",
        }
    }
}

/// What changed, for the transport to report (`icestatechange`, `iceselectedtuplechange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceEvent {
    /// The state changed to this one.
    StateChanged(IceState),
    /// Media now goes to this tuple.
    SelectedTupleChanged(TransportTuple),
}

/// Why a STUN message got no success response; the transport counts these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceDrop {
    /// Not a request (responses and indications are not for an ICE-lite server).
    NotARequest,
    /// FINGERPRINT missing or wrong: RFC 8445 §7.2.2 requires it on every check.
    BadFingerprint,
    /// A request for a method other than Binding.
    UnsupportedMethod,
    /// USERNAME, MESSAGE-INTEGRITY or PRIORITY missing.
    MissingAttribute,
    /// The username fragment is not ours.
    UnknownUsername,
    /// MESSAGE-INTEGRITY does not verify with our password.
    BadIntegrity,
    /// The client claims to be controlled; an ICE-lite server is always controlled.
    RoleConflict,
}

/// The result of [`IceServer::handle_stun`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunOutcome {
    /// A valid check: the success response is in the output buffer; send it on the tuple.
    Authenticated,
    /// A rejected request with an error response in the output buffer (send it; it is never
    /// larger than the request when unauthenticated).
    Rejected(IceDrop),
    /// Nothing to send.
    Dropped(IceDrop),
}

/// The local side of one ICE-lite session (one WebRtcTransport).
#[derive(Debug)]
pub struct IceServer {
    parameters: IceParameters,
    password_key: HmacSha1,
    /// After `restart`, checks with the previous username fragment keep working until the
    /// first check with the new one (a client mid-renegotiation still uses the old one).
    previous: Option<(String, HmacSha1)>,
    state: IceState,
    /// Tuples that passed a check, oldest first.
    tuples: Vec<TransportTuple>,
    selected: Option<TransportTuple>,
    /// Highest renomination value seen (RFC draft-thatcher-ice-renomination).
    nomination: u32,
    consent_timeout: Option<Duration>,
    /// When the last valid check arrived on the selected tuple.
    last_consent: Option<Instant>,
    events: VecDeque<IceEvent>,
}

impl IceServer {
    /// A server with these local credentials. `consent_timeout` is mediasoup's
    /// `iceConsentTimeout` (30 s by default; `None` disables consent expiry).
    pub fn new(parameters: IceParameters, consent_timeout: Option<Duration>) -> Self {
        IceServer {
            password_key: HmacSha1::new(parameters.password.as_bytes()),
            parameters,
            previous: None,
            state: IceState::New,
            tuples: Vec::with_capacity(MAX_TUPLES),
            selected: None,
            nomination: 0,
            consent_timeout,
            last_consent: None,
            events: VecDeque::new(),
        }
    }

    /// The local credentials to announce.
    pub fn parameters(&self) -> &IceParameters {
        &self.parameters
    }

    /// The current state.
    pub fn state(&self) -> IceState {
        self.state
    }

    /// Where media goes, if anywhere.
    pub fn selected_tuple(&self) -> Option<TransportTuple> {
        self.selected
    }

    /// Whether packets from this tuple may be accepted (it passed a check).
    pub fn is_valid_tuple(&self, tuple: &TransportTuple) -> bool {
        self.tuples.contains(tuple)
    }

    /// The tuples that passed a check, oldest first.
    pub fn tuples(&self) -> &[TransportTuple] {
        &self.tuples
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called next (consent expiry).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            IceState::Connected | IceState::Completed => {
                Some(self.last_consent? + self.consent_timeout?)
            }
            IceState::New | IceState::Disconnected => None,
        }
    }

    /// Expires consent if no valid check arrived on the selected tuple in time (RFC 7675 §5.1).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.disconnect();
        }
    }

    /// New credentials (mediasoup's `restartIce`): tuples and state are kept; the old
    /// credentials stay valid until the client's first check with the new ones.
    pub fn restart(&mut self, parameters: IceParameters, now: Instant) {
        let old_key = std::mem::replace(
            &mut self.password_key,
            HmacSha1::new(parameters.password.as_bytes()),
        );
        let old = std::mem::replace(&mut self.parameters, parameters);
        self.previous = Some((old.username_fragment, old_key));
        if self.last_consent.is_some() {
            self.last_consent = Some(now);
        }
    }

    /// Forgets a tuple whose TCP connection closed; losing the selected one disconnects.
    pub fn remove_tuple(&mut self, tuple: &TransportTuple) {
        self.tuples.retain(|known| known != tuple);
        if self.selected.as_ref() == Some(tuple) {
            self.disconnect();
        }
    }

    /// Handles a STUN message received on `tuple`, writing any response into `out` (cleared
    /// first; empty when there is nothing to send).
    pub fn handle_stun(
        &mut self,
        message: &StunMessage<'_>,
        tuple: TransportTuple,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> StunOutcome {
        out.clear();
        if message.class() != StunClass::Request {
            return StunOutcome::Dropped(IceDrop::NotARequest);
        }
        if message.fingerprint_offset().is_none() || !message.verify_fingerprint() {
            return StunOutcome::Dropped(IceDrop::BadFingerprint);
        }
        if message.method() != StunMethod::Binding {
            return self.reject(message, 400, None, IceDrop::UnsupportedMethod, out);
        }
        let (Some(username), Some(_), Some(_)) = (
            message.username(),
            message.message_integrity_offset(),
            message.priority(),
        ) else {
            return self.reject(message, 400, None, IceDrop::MissingAttribute, out);
        };
        let local_ufrag = username
            .split_once(':')
            .map_or(username, |(local, _)| local);
        let uses_current = local_ufrag == self.parameters.username_fragment;
        let key = match &self.previous {
            _ if uses_current => &self.password_key,
            Some((old_ufrag, old_key)) if old_ufrag == local_ufrag => old_key,
            _ => return self.reject(message, 401, None, IceDrop::UnknownUsername, out),
        };
        if !message.verify_integrity_with(key) {
            return self.reject(message, 401, None, IceDrop::BadIntegrity, out);
        }
        if message.ice_controlled().is_some() {
            return self.reject(message, 487, Some(key), IceDrop::RoleConflict, out);
        }
        if binding_success_response(message, tuple.remote, key, out).is_err() {
            // The response only carries our own fixed-size attributes; it always fits.
            out.clear();
            return StunOutcome::Dropped(IceDrop::MissingAttribute);
        }
        if uses_current {
            // The client moved to the new credentials: the old ones are no longer accepted.
            self.previous = None;
        }
        self.on_valid_check(tuple, message.use_candidate(), message.nomination(), now);
        StunOutcome::Authenticated
    }

    fn reject(
        &self,
        message: &StunMessage<'_>,
        code: u16,
        key: Option<&HmacSha1>,
        reason: IceDrop,
        out: &mut Vec<u8>,
    ) -> StunOutcome {
        match binding_error_response(message, code, key, out) {
            Ok(()) => StunOutcome::Rejected(reason),
            Err(_) => {
                out.clear();
                StunOutcome::Dropped(reason)
            }
        }
    }

    /// RFC 8445 §7.3.1.4-§7.3.1.5 for a lite agent, with mediasoup's state machine: the first
    /// valid check selects its tuple (`connected`), a nominating check selects its tuple and
    /// completes; renomination (a higher NOMINATION value) moves the selection.
    fn on_valid_check(
        &mut self,
        tuple: TransportTuple,
        use_candidate: bool,
        nomination: Option<u32>,
        now: Instant,
    ) {
        self.remember(tuple);
        let renominated = match nomination {
            Some(value) if value > self.nomination => {
                self.nomination = value;
                true
            }
            _ => false,
        };
        let nominated = use_candidate || renominated;
        match self.state {
            IceState::New | IceState::Disconnected => {
                self.select(tuple);
                self.set_state(if nominated {
                    IceState::Completed
                } else {
                    IceState::Connected
                });
            }
            IceState::Connected if nominated => {
                self.select(tuple);
                self.set_state(IceState::Completed);
            }
            IceState::Completed if nominated => self.select(tuple),
            IceState::Connected | IceState::Completed => {}
        }
        if self.selected == Some(tuple) {
            self.last_consent = Some(now);
        }
    }

    fn remember(&mut self, tuple: TransportTuple) {
        if self.tuples.contains(&tuple) {
            return;
        }
        if self.tuples.len() >= MAX_TUPLES {
            let selected = self.selected;
            if let Some(oldest) = self
                .tuples
                .iter()
                .position(|known| Some(*known) != selected)
            {
                self.tuples.remove(oldest);
            }
        }
        self.tuples.push(tuple);
    }

    fn select(&mut self, tuple: TransportTuple) {
        if self.selected != Some(tuple) {
            self.selected = Some(tuple);
            self.push_event(IceEvent::SelectedTupleChanged(tuple));
        }
    }

    fn set_state(&mut self, state: IceState) {
        if self.state != state {
            self.state = state;
            self.push_event(IceEvent::StateChanged(state));
        }
    }

    fn disconnect(&mut self) {
        self.tuples.clear();
        self.selected = None;
        self.last_consent = None;
        self.nomination = 0;
        self.set_state(IceState::Disconnected);
    }

    fn push_event(&mut self, event: IceEvent) {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

#[cfg(test)]
mod tests;
