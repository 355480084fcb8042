//! A transport tuple: the local and remote addresses and the protocol a packet travelled on,
//! as mediasoup reports it (`TransportTuple`: localAddress, localPort, remoteIp, remotePort,
//! protocol).

use std::fmt;
use std::net::SocketAddr;

/// UDP, or TCP with RFC 4571 framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportProtocol {
    /// A UDP socket.
    Udp,
    /// A TCP connection carrying RFC 4571 length-prefixed frames.
    Tcp,
}

impl TransportProtocol {
    /// mediasoup's name: "udp" or "tcp".
    pub fn as_str(self) -> &'static str {
        match self {
            TransportProtocol::Udp => "udp",
            TransportProtocol::Tcp => "tcp",
        }
    }
}

/// Where a packet came from and which of our sockets it reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportTuple {
    /// Our address (the listening socket or the accepted TCP connection's local end).
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// The protocol.
    pub protocol: TransportProtocol,
}

impl fmt::Display for TransportTuple {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} {} <- {}",
            self.protocol.as_str(),
            self.local,
            self.remote
        )
    }
}
