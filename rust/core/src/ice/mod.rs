//! ICE-lite (RFC 8445 §2.5, §7.3): the server side of connectivity checks, as mediasoup's
//! WebRtcTransport runs it.
//!
//! The SFU never sends checks; it answers the client's Binding requests, authenticated with
//! short-term credentials, and learns from them which 5-tuples the client can reach it on.
//! Media is only ever sent to the *selected* tuple, chosen by the client's nomination, and
//! packets from tuples that never passed a check are dropped by the transport. Consent
//! (RFC 7675) is the stream of checks the client keeps sending: when it stops for longer than
//! the consent timeout, the transport is `disconnected` and sends nothing.
//!
//! [`IceServer`] is sans-IO: the transport hands it parsed STUN requests with the tuple they
//! arrived on and the current time; it writes the response to send back on that tuple and
//! queues [`IceEvent`]s for state and selected-tuple changes.

mod credentials;
mod server;
mod server_demux;
mod tuple;

pub use credentials::{IceParameters, ICE_PASSWORD_LEN, ICE_USERNAME_FRAGMENT_LEN};
pub use server::{IceDrop, IceEvent, IceServer, IceState, StunOutcome, MAX_TUPLES};
pub use server_demux::{Destination, MemberDirectory, ServerRoutes};
pub use tuple::{TransportProtocol, TransportTuple};
