//! Port allocation from the configured range (mediasoup's rtcMinPort..rtcMaxPort): the next
//! free port after a random start, binding only the configured address.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;

use crate::ice::TransportProtocol;

/// The receive buffer asked for on every media UDP socket (the kernel caps it at
/// `net.core.rmem_max` and doubles it for its bookkeeping). The default (`rmem_default`,
/// 208 KiB) holds a few milliseconds of a 50,000 packets/s flood; a worker thread that a busy
/// host deschedules for longer then loses the honest packets arriving on the same socket.
pub const UDP_RECEIVE_BUFFER_BYTES: usize = 2 << 20;

/// Why no socket could be bound.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// Every port of the range is in use.
    #[error("no free {protocol} port on {ip} in {min}..={max}")]
    Exhausted {
        /// "UDP" or "TCP".
        protocol: &'static str,
        /// The address.
        ip: IpAddr,
        /// Range start.
        min: u16,
        /// Range end.
        max: u16,
    },
    /// The range is empty or invalid.
    #[error("invalid port range {min}..={max}")]
    InvalidRange {
        /// Range start.
        min: u16,
        /// Range end.
        max: u16,
    },
    /// Binding failed for another reason (address not local, permissions).
    #[error("cannot bind {address}: {source}")]
    Bind {
        /// What was tried.
        address: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
}

/// Which port a socket binds (mediasoup's listen info `port` / `portRange`, or neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChoice {
    /// A free port of the worker's range (`rtcMinPort`..`rtcMaxPort`).
    WorkerRange,
    /// Exactly this port.
    Fixed(u16),
    /// A free port of this range.
    Within(u16, u16),
}

/// Asks for [`UDP_RECEIVE_BUFFER_BYTES`] of receive buffer. Best effort: a socket keeps its
/// default buffer if the kernel refuses, and works, with less headroom under floods.
pub fn enlarge_receive_buffer(socket: &UdpSocket) {
    let size = UDP_RECEIVE_BUFFER_BYTES as libc::c_int;
    // SAFETY: a valid socket and a c_int option value of the size given.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Hands out ports of one range; a port is taken while its socket lives here or elsewhere.
#[derive(Debug)]
pub struct PortAllocator {
    min: u16,
    max: u16,
    next: u16,
    in_use: HashSet<(TransportProtocol, IpAddr, u16)>,
}

impl PortAllocator {
    /// A range `min..=max`, starting the search at a random port (so restarts do not reuse
    /// the ports a previous process may still have in TIME_WAIT-like states at peers).
    pub fn new(min: u16, max: u16) -> Result<Self, PortError> {
        if min == 0 || min > max {
            return Err(PortError::InvalidRange { min, max });
        }
        let span = u32::from(max - min) + 1;
        let mut random = [0u8; 4];
        // A predictable start only costs a few more bind attempts.
        let _ = crate::crypto::random::fill(&mut random);
        let offset = u32::from_le_bytes(random) % span;
        Ok(PortAllocator {
            min,
            max,
            next: min + offset as u16,
            in_use: HashSet::new(),
        })
    }

    /// Binds a non-blocking UDP socket on `ip` at the next free port of the range.
    pub fn bind_udp(&mut self, ip: IpAddr) -> Result<UdpSocket, PortError> {
        self.bind_udp_at(ip, PortChoice::WorkerRange)
    }

    /// Binds a non-blocking TCP listener on `ip` at the next free port of the range.
    pub fn bind_tcp(&mut self, ip: IpAddr) -> Result<TcpListener, PortError> {
        self.bind_tcp_at(ip, PortChoice::WorkerRange)
    }

    /// Binds a non-blocking UDP socket on `ip` at the chosen port.
    pub fn bind_udp_at(&mut self, ip: IpAddr, port: PortChoice) -> Result<UdpSocket, PortError> {
        self.bind(TransportProtocol::Udp, ip, port, |address| {
            let socket = UdpSocket::bind(address)?;
            socket.set_nonblocking(true)?;
            enlarge_receive_buffer(&socket);
            Ok(socket)
        })
    }

    /// Binds a non-blocking UDP socket on `ip` at the chosen port that sockets connected to
    /// single clients may share (a WebRtcServer's; see `tuple_sockets`). A port another
    /// socket holds is taken even if that one allows sharing too (a second server, or a
    /// second process of the same user): a plain bind tries the port first.
    pub fn bind_shared_udp_at(
        &mut self,
        ip: IpAddr,
        port: PortChoice,
    ) -> Result<UdpSocket, PortError> {
        self.bind_free_udp_at(ip, port, super::tuple_sockets::bind_shared_udp)
    }

    /// Binds a non-blocking UDP socket on `ip` at the chosen port that one socket connected
    /// to the remote end may share (a PlainTransport's; see `tuple_sockets`), on a port no
    /// other socket holds.
    pub fn bind_reusable_udp_at(
        &mut self,
        ip: IpAddr,
        port: PortChoice,
    ) -> Result<UdpSocket, PortError> {
        self.bind_free_udp_at(ip, port, super::tuple_sockets::bind_reusable_udp)
    }

    /// Binds with `bind` at the chosen port, after a plain bind has found it free: a socket
    /// that allows sharing would otherwise join another one's port that allows it too.
    fn bind_free_udp_at(
        &mut self,
        ip: IpAddr,
        port: PortChoice,
        bind: fn(SocketAddr) -> io::Result<UdpSocket>,
    ) -> Result<UdpSocket, PortError> {
        self.bind(TransportProtocol::Udp, ip, port, |address| {
            super::tuple_sockets::udp_port_is_free(address)?;
            bind(address)
        })
    }

    /// Binds a non-blocking TCP listener on `ip` at the chosen port for a WebRtcServer
    /// (IPv6-only on the IPv6 wildcard, like its UDP socket).
    pub fn bind_shared_tcp_at(
        &mut self,
        ip: IpAddr,
        port: PortChoice,
    ) -> Result<TcpListener, PortError> {
        self.bind(
            TransportProtocol::Tcp,
            ip,
            port,
            super::tuple_sockets::bind_shared_tcp,
        )
    }

    /// Binds a non-blocking TCP listener on `ip` at the chosen port.
    pub fn bind_tcp_at(&mut self, ip: IpAddr, port: PortChoice) -> Result<TcpListener, PortError> {
        self.bind(TransportProtocol::Tcp, ip, port, |address| {
            let listener = TcpListener::bind(address)?;
            listener.set_nonblocking(true)?;
            Ok(listener)
        })
    }

    fn bind<S>(
        &mut self,
        protocol: TransportProtocol,
        ip: IpAddr,
        port: PortChoice,
        bind: impl Fn(SocketAddr) -> io::Result<S>,
    ) -> Result<S, PortError> {
        let (min, max) = match port {
            PortChoice::WorkerRange => (self.min, self.max),
            PortChoice::Fixed(port) => (port, port),
            PortChoice::Within(min, max) if min != 0 && min <= max => (min, max),
            PortChoice::Within(min, max) => return Err(PortError::InvalidRange { min, max }),
        };
        let span = u32::from(max - min) + 1;
        let mut next = if port == PortChoice::WorkerRange {
            self.next
        } else {
            min
        };
        for _ in 0..span {
            let candidate = next;
            next = if next == max { min } else { next + 1 };
            if port == PortChoice::WorkerRange {
                self.next = next;
            }
            if self.in_use.contains(&(protocol, ip, candidate)) {
                continue;
            }
            let address = SocketAddr::new(ip, candidate);
            match bind(address) {
                Ok(socket) => {
                    self.in_use.insert((protocol, ip, candidate));
                    return Ok(socket);
                }
                Err(error) if error.kind() == io::ErrorKind::AddrInUse => continue,
                Err(source) => return Err(PortError::Bind { address, source }),
            }
        }
        Err(PortError::Exhausted {
            protocol: match protocol {
                TransportProtocol::Udp => "UDP",
                TransportProtocol::Tcp => "TCP",
            },
            ip,
            min,
            max,
        })
    }

    /// Returns a port to the pool (its socket was closed).
    pub fn release(&mut self, protocol: TransportProtocol, address: SocketAddr) {
        self.in_use
            .remove(&(protocol, address.ip(), address.port()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausts_releases_and_stays_in_range() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        // A small range high enough that other tests rarely hold it.
        let (min, max) = (47_310, 47_313);
        let mut ports = PortAllocator::new(min, max).unwrap();
        let mut sockets = Vec::new();
        while let Ok(socket) = ports.bind_udp(ip) {
            let port = socket.local_addr().unwrap().port();
            assert!((min..=max).contains(&port));
            sockets.push(socket);
        }
        assert!(matches!(
            ports.bind_udp(ip),
            Err(PortError::Exhausted { .. })
        ));
        let freed = sockets.pop().unwrap();
        let address = freed.local_addr().unwrap();
        drop(freed);
        ports.release(TransportProtocol::Udp, address);
        assert_eq!(ports.bind_udp(ip).unwrap().local_addr().unwrap(), address);
        // TCP has its own port space.
        let listener = ports.bind_tcp(ip).unwrap();
        assert!((min..=max).contains(&listener.local_addr().unwrap().port()));
        assert!(matches!(
            PortAllocator::new(10, 9),
            Err(PortError::InvalidRange { .. })
        ));
    }

    #[test]
    fn udp_sockets_get_a_receive_buffer_for_flood_headroom() {
        let mut ports = PortAllocator::new(47_314, 47_317).unwrap();
        let socket = ports.bind_udp("127.0.0.1".parse().unwrap()).unwrap();
        let mut size: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: a valid socket; `size` and `len` describe a c_int the kernel writes.
        let result = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&mut size as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(result, 0);
        let limit: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The kernel reports twice what it granted: the request, capped by rmem_max.
        assert_eq!(size as usize, 2 * UDP_RECEIVE_BUFFER_BYTES.min(limit));
    }
}
