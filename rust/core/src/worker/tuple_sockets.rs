//! UDP sockets connected to one client each, on a WebRtcServer's shared address and port.
//!
//! The server's UDP socket is bound with `SO_REUSEPORT`, so a worker can bind another socket
//! to the same address and port and `connect` it to a client whose tuple ICE validated. Linux
//! delivers a datagram to the connected socket matching its source before any unconnected
//! one (a more specific match), so the client's packets then reach the worker that owns its
//! transport without passing through the worker reading the shared socket: the kernel
//! demultiplexes, as it does for a port per transport. Only sockets of the same user can
//! join a port bound with `SO_REUSEPORT` (the kernel checks), so this opens the port to no
//! other user's process. A datagram from another client that arrives between `bind` and
//! `connect` is read and routed like one from the shared socket.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use mio::{Interest, Registry, Token};

use super::ports::enlarge_receive_buffer;
use super::udp_batch::{recv_batch, RecvBatch, BATCH};
use crate::ice::{TransportProtocol, TransportTuple};

/// Connected sockets a worker keeps per server (beyond them, clients are served through the
/// shared socket, handed over by the worker reading it).
pub const MAX_TUPLE_SOCKETS: usize = 4096;

/// Binds a non-blocking UDP socket at `address` with `SO_REUSEPORT` and a receive buffer
/// for flood headroom, so a socket connected to one remote can share its address and port (a
/// PlainTransport's, and each member's of a WebRtcServer: [`bind_shared_udp`]).
pub fn bind_reusable_udp(address: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::from(bind_socket(
        address,
        libc::SOCK_DGRAM,
        Some(libc::SO_REUSEPORT),
    )?);
    enlarge_receive_buffer(&socket);
    Ok(socket)
}

/// A UDP socket at `address` connected to `remote`, sharing the address and port of a
/// socket bound there by [`bind_reusable_udp`]: the kernel then delivers `remote`'s
/// datagrams to it, and sends from it use the route and IP identification counter the
/// socket keeps, not a route lookup and a hashed identification per datagram.
pub fn connect_reusable_udp(address: SocketAddr, remote: SocketAddr) -> io::Result<UdpSocket> {
    let socket = bind_reusable_udp(address)?;
    socket.connect(remote)?;
    Ok(socket)
}

/// Binds a non-blocking UDP socket at `address` for a WebRtcServer ([`bind_reusable_udp`]),
/// so sockets connected to single clients can share its address and port.
pub fn bind_shared_udp(address: SocketAddr) -> io::Result<UdpSocket> {
    let socket = bind_reusable_udp(address)?;
    // Every member sends all its clients' media from this one socket (a port per
    // transport spreads that over as many send buffers): as large a buffer as the kernel
    // allows. Best effort, as the receive buffer.
    let bytes = SHARED_SEND_BUFFER_BYTES;
    // SAFETY: the option value points at a live c_int of the length given.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            std::ptr::from_ref(&bytes).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    Ok(socket)
}

/// The send buffer a WebRtcServer's UDP socket asks for (the kernel caps it at
/// `net.core.wmem_max`).
const SHARED_SEND_BUFFER_BYTES: libc::c_int = 4 << 20;

/// Whether `address` is free for a UDP socket that does not share its port: binds one and
/// closes it (a WebRtcServer's port is refused when another socket holds it, even one that
/// would let it share).
pub fn udp_port_is_free(address: SocketAddr) -> io::Result<()> {
    bind_socket(address, libc::SOCK_DGRAM, None).map(drop)
}

/// Binds a non-blocking TCP listener at `address` (with `SO_REUSEADDR`, as std does).
pub fn bind_shared_tcp(address: SocketAddr) -> io::Result<std::net::TcpListener> {
    let fd = bind_socket(address, libc::SOCK_STREAM, Some(libc::SO_REUSEADDR))?;
    // SAFETY: listen() takes no pointers.
    if unsafe { libc::listen(fd.as_raw_fd(), 128) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(std::net::TcpListener::from(fd))
}

/// A non-blocking socket of `kind` bound at `address`. On the IPv6 wildcard it is IPv6-only,
/// so a server's IPv4 and IPv6 wildcards can share a port number (an IPv4 client gets the
/// IPv4 listen info's candidate, as the family settings say). `reuse`: `SO_REUSEPORT` (a
/// WebRtcServer's datagram sockets) or `SO_REUSEADDR` (listeners), if any.
fn bind_socket(
    address: SocketAddr,
    kind: libc::c_int,
    reuse: Option<libc::c_int>,
) -> io::Result<OwnedFd> {
    let domain = match address {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: socket() takes no pointers; the descriptor is owned at once.
    let fd = unsafe { libc::socket(domain, kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    if let Some(option) = reuse {
        enable(&owned, libc::SOL_SOCKET, option)?;
    }
    if address.ip() == std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED) {
        enable(&owned, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)?;
    }
    let (storage, len) = socket_address(address);
    // SAFETY: storage holds a sockaddr of the family and length given.
    if unsafe { libc::bind(owned.as_raw_fd(), std::ptr::from_ref(&storage).cast(), len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(owned)
}

/// Sets a boolean socket option.
fn enable(socket: &OwnedFd, level: libc::c_int, option: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: the option value points at a live c_int of the length given.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            option,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn socket_address(address: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match address {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

#[derive(Debug)]
struct TupleSocket {
    tuple: TransportTuple,
    socket: UdpSocket,
}

/// A worker's connected sockets of one server, at socket indices `0..MAX_TUPLE_SOCKETS`
/// from the base its caller gives.
#[derive(Debug, Default)]
pub struct TupleSockets {
    sockets: Vec<Option<TupleSocket>>,
}

impl TupleSockets {
    /// Opens a socket connected to the client of a validated UDP `tuple` (at the server's
    /// address and port) and registers it at `token_base + index`; nothing when one is open
    /// or all are taken (the client is then still served through the shared socket).
    pub fn open(
        &mut self,
        tuple: TransportTuple,
        registry: &Registry,
        token_base: usize,
    ) -> io::Result<()> {
        if tuple.protocol != TransportProtocol::Udp
            || self
                .sockets
                .iter()
                .flatten()
                .any(|open| open.tuple == tuple)
        {
            return Ok(());
        }
        let Some(index) = self
            .sockets
            .iter()
            .position(Option::is_none)
            .or((self.sockets.len() < MAX_TUPLE_SOCKETS).then_some(self.sockets.len()))
        else {
            return Ok(());
        };
        let socket = bind_shared_udp(tuple.local)?;
        socket.connect(tuple.remote)?;
        registry.register(
            &mut mio::unix::SourceFd(&socket.as_raw_fd()),
            Token(token_base + index),
            Interest::READABLE,
        )?;
        let open = Some(TupleSocket { tuple, socket });
        if index == self.sockets.len() {
            self.sockets.push(open);
        } else {
            self.sockets[index] = open;
        }
        Ok(())
    }

    /// Closes the sockets whose tuple `keep` refuses.
    pub fn retain(&mut self, registry: &Registry, keep: impl Fn(&TransportTuple) -> bool) {
        for entry in &mut self.sockets {
            if entry.as_ref().is_some_and(|open| !keep(&open.tuple)) {
                if let Some(closed) = entry.take() {
                    // Deregistering a closing socket cannot usefully fail.
                    let _ =
                        registry.deregister(&mut mio::unix::SourceFd(&closed.socket.as_raw_fd()));
                }
            }
        }
        while matches!(self.sockets.last(), Some(None)) {
            self.sockets.pop();
        }
    }

    /// Closes them all.
    pub fn close_all(&mut self, registry: &Registry) {
        self.retain(registry, |_| false);
    }

    /// How many are open.
    pub fn len(&self) -> usize {
        self.sockets.iter().flatten().count()
    }

    /// Reads one batch of socket `index`, handing each datagram to `dispatch` with its
    /// tuple; whether more may be waiting.
    pub fn read(
        &mut self,
        index: usize,
        receive: &mut RecvBatch,
        mut dispatch: impl FnMut(TransportTuple, &mut [u8]),
    ) -> bool {
        let Some(Some(open)) = self.sockets.get(index) else {
            return false;
        };
        // A socket error (e.g. ICMP unreachable reported on read) ends this read only.
        let Ok(received) = recv_batch(&open.socket, receive) else {
            return false;
        };
        let local = open.tuple.local;
        for slot in 0..received {
            let Some((buffer, len, source)) = receive.datagram_mut(slot) else {
                continue;
            };
            let tuple = TransportTuple {
                local,
                remote: source,
                protocol: TransportProtocol::Udp,
            };
            dispatch(tuple, &mut buffer[..len]);
        }
        received == BATCH
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mio::Poll;

    use super::*;

    #[test]
    fn a_connected_socket_gets_its_clients_datagrams_and_the_shared_one_the_rest() {
        let shared = bind_shared_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = shared.local_addr().unwrap();
        let known = UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        let poll = Poll::new().unwrap();
        let mut sockets = TupleSockets::default();
        let tuple = TransportTuple {
            local,
            remote: known.local_addr().unwrap(),
            protocol: TransportProtocol::Udp,
        };
        sockets.open(tuple, poll.registry(), 0).unwrap();
        sockets.open(tuple, poll.registry(), 0).unwrap();
        assert_eq!(sockets.len(), 1);

        known.send_to(b"known", local).unwrap();
        other.send_to(b"other", local).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut receive = RecvBatch::default();
        let mut got = Vec::new();
        sockets.read(0, &mut receive, |tuple, packet| {
            got.push((tuple, packet.to_vec()))
        });
        assert_eq!(got, [(tuple, b"known".to_vec())]);
        let mut buffer = [0u8; 16];
        let (len, source) = shared.recv_from(&mut buffer).unwrap();
        assert_eq!(
            (&buffer[..len], source),
            (&b"other"[..], other.local_addr().unwrap())
        );

        // Closed, the client's datagrams go to the shared socket again.
        sockets.retain(poll.registry(), |_| false);
        assert_eq!(sockets.len(), 0);
        known.send_to(b"again", local).unwrap();
        shared
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        shared.set_nonblocking(false).unwrap();
        let (len, _) = shared.recv_from(&mut buffer).unwrap();
        assert_eq!(&buffer[..len], b"again");
    }
}
