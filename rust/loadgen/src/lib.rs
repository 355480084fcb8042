//! What the load tool's binaries (`mediasoup-loadgen`, `mediasoup-flood`,
//! `mediasoup-datachannel-load`) share.

// The modules are the binaries' own parts, shared between them, not a library API.
#![allow(missing_debug_implementations)]

pub mod process;
pub mod stats;
pub mod webrtc;

use std::net::UdpSocket;
use std::os::fd::AsRawFd;

/// All receive buffers together ask for at most this much kernel memory (charged only while
/// datagrams wait in them).
const RECEIVE_BUFFER_BUDGET: usize = 256 << 20;
const RECEIVE_BUFFER_MIN: usize = 1 << 20;
const RECEIVE_BUFFER_MAX: usize = 64 << 20;

/// Asks for a receive buffer that holds a fan-out burst (one producer packet to hundreds of
/// consumers arrives at once, all of them at one port with `--sink`): forced past `rmem_max`
/// when running as root, else capped by it.
pub fn enlarge_receive_buffer(socket: &UdpSocket, ports: usize) {
    let size = (RECEIVE_BUFFER_BUDGET / ports.max(1)).clamp(RECEIVE_BUFFER_MIN, RECEIVE_BUFFER_MAX);
    let size = size as libc::c_int;
    for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: a valid socket and a c_int option value of the size given.
        let result = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if result == 0 {
            return;
        }
    }
}

/// Bytes from hexadecimal text (SRTP keys, packets given on the command line); `None` when
/// the text is not whole hex bytes.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_text_into_bytes() {
        assert_eq!(parse_hex("00ff7A"), Some(vec![0x00, 0xFF, 0x7A]));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex("é0"), None);
    }
}
