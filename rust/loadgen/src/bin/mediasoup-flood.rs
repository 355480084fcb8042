//! mediasoup-flood: hostile traffic at a paced rate against one media port, for the flood
//! tests: what an attacker on the internet can send to an SFU's open UDP/TCP ports.
//!
//! Usage: mediasoup-flood --mode MODE --target 127.0.0.1:40000 --pps 50000 --seconds 10 \
//!            [--sources 256] [--spoof-source 127.0.0.1:41000] [--ice-ufrag UFRAG] \
//!            [--ssrc 268435456] [--packet HEX]
//!
//! Modes (UDP unless said otherwise):
//! - `random`: datagrams of random length and bytes (every RFC 7983 demux range).
//! - `stun-bad-credentials`: ICE Binding requests with FINGERPRINT; half with a username
//!   that is not the transport's, half with its `--ice-ufrag` and a MESSAGE-INTEGRITY keyed
//!   with a wrong password.
//! - `dtls-client-hello`: DTLS ClientHellos (use_srtp offered), each with a fresh random.
//! - `srtp-bad-tag`: SRTP-shaped packets of `--ssrc`, sequence numbers running ahead, random
//!   payload and tag.
//! - `srtp-replay`: `--packet` (a captured valid SRTP packet) sent again and again.
//! - `rtcp-absurd-length`: RTCP compounds whose length fields and counts lie (past the end,
//!   zero, 31 report blocks in none, 65535 status counts), naming `--ssrc` as media source.
//! - `tcp-slowloris` (TCP): `--sources` connections (at most 1000), each sends the first
//!   bytes of an RFC 4571 frame announcing 1000 bytes, then one more byte a second, and
//!   never finishes it. `--pps` does not apply.
//!
//! UDP modes send from `--sources` sockets, each on its own loopback address (127.0.0.2
//! onward) and port, batches of 32 with sendmmsg, rotating the source every batch; a second
//! thread counts what comes back to them (bytes, and whether each reply is a STUN error
//! response), so a test can check that the target amplifies nothing. `--spoof-source` sends
//! every packet from a raw socket (root) with that forged source address instead: the
//! off-path attacker who knows the honest peer's address; replies then go to that peer and
//! are not counted here.
//!
//! Prints one JSON line: mode, sent (datagrams, or connections opened for tcp-slowloris),
//! send_errors, seconds, sources, spoofed, bytes_sent, smallest_request, largest_request,
//! replies, reply_bytes, largest_reply, stun_error_replies, other_replies, and for TCP
//! refused (connects that failed) and closed_by_peer.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::ExitCode;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use mediasoup_core::crypto::hmac_sha1::HmacSha1;
use mediasoup_core::packet::stun::{binding_request, BindingRequest, IceRole};
use mediasoup_core::worker::{recv_batch, RecvBatch, SendBatch, SLOT_LEN};
use mediasoup_py_loadgen::parse_hex;

const TICK: Duration = Duration::from_millis(1);
/// Longest run allowed, whatever the arguments say.
const MAX_SECONDS: f64 = 60.0;
/// Most UDP source sockets (each holds a file descriptor and a loopback address).
const MAX_SOURCES: usize = 4096;
/// Most slowloris connections.
const MAX_TCP_CONNECTIONS: usize = 1000;
/// How long replies are still counted after sending stops (answers in flight).
const REPLY_GRACE: Duration = Duration::from_millis(500);
const IPV4_HEADER_LEN: usize = 20;
const UDP_HEADER_LEN: usize = 8;
/// The frame length a slowloris connection announces and never completes.
const SLOWLORIS_FRAME_LEN: u16 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Random,
    StunBadCredentials,
    DtlsClientHello,
    SrtpBadTag,
    SrtpReplay,
    RtcpAbsurdLength,
    TcpSlowloris,
}

impl Mode {
    fn from_name(name: &str) -> Option<Mode> {
        Some(match name {
            "random" => Mode::Random,
            "stun-bad-credentials" => Mode::StunBadCredentials,
            "dtls-client-hello" => Mode::DtlsClientHello,
            "srtp-bad-tag" => Mode::SrtpBadTag,
            "srtp-replay" => Mode::SrtpReplay,
            "rtcp-absurd-length" => Mode::RtcpAbsurdLength,
            "tcp-slowloris" => Mode::TcpSlowloris,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Random => "random",
            Mode::StunBadCredentials => "stun-bad-credentials",
            Mode::DtlsClientHello => "dtls-client-hello",
            Mode::SrtpBadTag => "srtp-bad-tag",
            Mode::SrtpReplay => "srtp-replay",
            Mode::RtcpAbsurdLength => "rtcp-absurd-length",
            Mode::TcpSlowloris => "tcp-slowloris",
        }
    }
}

#[derive(Debug)]
struct Options {
    mode: Mode,
    target: SocketAddr,
    packets_per_second: f64,
    seconds: f64,
    sources: usize,
    spoof_source: Option<SocketAddrV4>,
    ice_ufrag: Option<String>,
    ssrc: u32,
    packet: Option<Vec<u8>>,
}

fn parse_options(mut arguments: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut mode = None;
    let mut target = None;
    let mut options = Options {
        mode: Mode::Random,
        target: SocketAddr::from(([127, 0, 0, 1], 0)),
        packets_per_second: 1000.0,
        seconds: 1.0,
        sources: 1,
        spoof_source: None,
        ice_ufrag: None,
        ssrc: 0x1000_0000,
        packet: None,
    };
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--mode" => mode = Some(Mode::from_name(&value).ok_or("unknown --mode")?),
            "--target" => target = Some(value.parse().map_err(|_| "bad --target")?),
            "--pps" => options.packets_per_second = value.parse().map_err(|_| "bad --pps")?,
            "--seconds" => options.seconds = value.parse().map_err(|_| "bad --seconds")?,
            "--sources" => options.sources = value.parse().map_err(|_| "bad --sources")?,
            "--spoof-source" => {
                options.spoof_source = Some(value.parse().map_err(|_| "bad --spoof-source")?);
            }
            "--ice-ufrag" => options.ice_ufrag = Some(value),
            "--ssrc" => options.ssrc = value.parse().map_err(|_| "bad --ssrc")?,
            "--packet" => options.packet = Some(parse_hex(&value).ok_or("--packet is not hex")?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    options.mode = mode.ok_or("--mode is required")?;
    options.target = target.ok_or("--target is required")?;
    if !(0.0..=MAX_SECONDS).contains(&options.seconds) {
        return Err(format!("--seconds must be at most {MAX_SECONDS}"));
    }
    if options.packets_per_second <= 0.0 {
        return Err("--pps must be positive".into());
    }
    let most = match options.mode {
        Mode::TcpSlowloris => MAX_TCP_CONNECTIONS,
        _ => MAX_SOURCES,
    };
    if !(1..=most).contains(&options.sources) {
        return Err(format!("--sources must be 1 to {most}"));
    }
    if options.mode == Mode::SrtpReplay
        && options
            .packet
            .as_ref()
            .is_none_or(|packet| packet.len() + IPV4_HEADER_LEN + UDP_HEADER_LEN > SLOT_LEN)
    {
        return Err("srtp-replay needs --packet (a datagram)".into());
    }
    if options.spoof_source.is_some() && !options.target.is_ipv4() {
        return Err("--spoof-source needs an IPv4 --target".into());
    }
    Ok(options)
}

/// xorshift64*: plenty for junk bytes, and no dependency.
#[derive(Debug)]
struct Junk(u64);

impl Junk {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |elapsed| elapsed.as_nanos() as u64);
        Junk(nanos | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// Makes the packets of one mode.
#[derive(Debug)]
struct Forge {
    mode: Mode,
    junk: Junk,
    counter: u32,
    ssrc: u32,
    ice_ufrag: Option<String>,
    wrong_password: HmacSha1,
    captured: Vec<u8>,
    stun: Vec<u8>,
}

impl Forge {
    fn new(options: &Options) -> Self {
        Forge {
            mode: options.mode,
            junk: Junk::seeded(),
            counter: 0,
            ssrc: options.ssrc,
            ice_ufrag: options.ice_ufrag.clone(),
            wrong_password: HmacSha1::new(b"not the transport's ICE password"),
            captured: options.packet.clone().unwrap_or_default(),
            stun: Vec::with_capacity(256),
        }
    }

    /// Writes the next packet into `out` and returns its length.
    fn next(&mut self, out: &mut [u8]) -> usize {
        self.counter = self.counter.wrapping_add(1);
        match self.mode {
            Mode::Random => {
                let len = 1 + self.junk.below(1200);
                self.junk.fill(&mut out[..len]);
                len
            }
            Mode::StunBadCredentials => self.stun_request(out),
            Mode::DtlsClientHello => self.client_hello(out),
            Mode::SrtpBadTag => {
                // 12-byte header, 160 bytes of "ciphertext", a 10-byte HMAC-SHA1-80 tag (or
                // the end of a GCM payload and its tag): authentication must fail.
                let len = 12 + 160 + 10;
                out[..2].copy_from_slice(&[0x80, 96]);
                // Every sequence number in turn: some ahead of the honest stream, some behind.
                out[2..4].copy_from_slice(&((self.counter & 0xFFFF) as u16).to_be_bytes());
                out[4..8].copy_from_slice(&self.counter.wrapping_mul(3000).to_be_bytes());
                out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
                self.junk.fill(&mut out[12..len]);
                len
            }
            Mode::SrtpReplay => {
                out[..self.captured.len()].copy_from_slice(&self.captured);
                self.captured.len()
            }
            Mode::RtcpAbsurdLength => self.absurd_rtcp(out),
            // Sends bytes on its connections, no datagrams.
            Mode::TcpSlowloris => 0,
        }
    }

    fn stun_request(&mut self, out: &mut [u8]) -> usize {
        let mut transaction_id = [0u8; 12];
        self.junk.fill(&mut transaction_id);
        let wrong_username = self.counter % 2 == 0 || self.ice_ufrag.is_none();
        let remote_ufrag = match (&self.ice_ufrag, wrong_username) {
            (Some(ufrag), false) => ufrag.as_str(),
            _ => "intruder",
        };
        let request = BindingRequest {
            transaction_id,
            remote_ufrag,
            local_ufrag: "flood",
            priority: 0x6E7F_00FF,
            role: IceRole::Controlling {
                tiebreaker: self.junk.next(),
            },
            use_candidate: true,
            nomination: None,
        };
        match binding_request(&request, &self.wrong_password, &mut self.stun) {
            Ok(()) => {
                out[..self.stun.len()].copy_from_slice(&self.stun);
                self.stun.len()
            }
            Err(_) => 0,
        }
    }

    /// A DTLS 1.2 ClientHello as a WebRTC client's first flight starts (one record, one
    /// unfragmented handshake message).
    fn client_hello(&mut self, out: &mut [u8]) -> usize {
        let mut body = Vec::with_capacity(160);
        body.extend_from_slice(&[0xfe, 0xfd]);
        let mut random = [0u8; 32];
        self.junk.fill(&mut random);
        body.extend_from_slice(&random);
        body.extend_from_slice(&[0, 0]); // no session id, no cookie
        let suites: [u16; 4] = [0xc02b, 0xc02f, 0xc00a, 0xc014];
        body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
        for suite in suites {
            body.extend_from_slice(&suite.to_be_bytes());
        }
        body.extend_from_slice(&[1, 0]); // null compression
        let extensions: &[u8] = &[
            0x00, 0x0e, 0x00, 0x05, 0x00, 0x02, 0x00, 0x01,
            0x00, // use_srtp: AES_CM_128_HMAC_SHA1_80
            0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00,
            0x1d, // groups: P-256, X25519
            0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats: uncompressed
            0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08,
            0x04, // ECDSA/RSA-PSS SHA-256
            0x00, 0x17, 0x00, 0x00, // extended_master_secret
        ];
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(extensions);
        let body_len = body.len() as u32;
        let mut handshake = vec![1]; // client_hello
        handshake.extend_from_slice(&body_len.to_be_bytes()[1..]);
        handshake.extend_from_slice(&[0, 0]); // message_seq
        handshake.extend_from_slice(&[0, 0, 0]); // fragment_offset
        handshake.extend_from_slice(&body_len.to_be_bytes()[1..]);
        handshake.extend_from_slice(&body);
        let mut record = vec![22, 0xfe, 0xff, 0, 0]; // handshake, DTLS 1.0 record, epoch 0
        record.extend_from_slice(&u64::from(self.counter).to_be_bytes()[2..]);
        record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
        record.extend_from_slice(&handshake);
        out[..record.len()].copy_from_slice(&record);
        record.len()
    }

    /// An RTCP compound with lying lengths or counts, cycling through the kinds.
    fn absurd_rtcp(&mut self, out: &mut [u8]) -> usize {
        let sender = (self.junk.next() as u32).to_be_bytes();
        let media = self.ssrc.to_be_bytes();
        let mut packet = Vec::with_capacity(1200);
        match self.counter % 8 {
            // SR claiming 65535 words in 28 bytes.
            0 => {
                packet.extend_from_slice(&[0x80, 200, 0xff, 0xff]);
                packet.extend_from_slice(&sender);
                packet.extend_from_slice(&[0; 20]);
            }
            // A valid RR, then a NACK whose length runs past the datagram.
            1 => {
                packet.extend_from_slice(&[0x81, 201, 0, 7]);
                packet.extend_from_slice(&sender);
                packet.extend_from_slice(&media);
                packet.extend_from_slice(&[0; 20]);
                packet.extend_from_slice(&[0x81, 205, 0x40, 0x00]);
                packet.extend_from_slice(&sender);
                packet.extend_from_slice(&media);
                packet.extend_from_slice(&[0, 1, 0xff, 0xff]);
            }
            // 300 zero-length headers back to back (each 4 bytes: a header and no body).
            2 => {
                for _ in 0..300 {
                    packet.extend_from_slice(&[0x81, 206, 0, 0]);
                }
            }
            // SR announcing 31 report blocks and carrying none.
            3 => {
                packet.extend_from_slice(&[0x9f, 200, 0, 6]);
                packet.extend_from_slice(&sender);
                packet.extend_from_slice(&[0; 20]);
            }
            // SDES with 31 chunks whose items run off the end.
            4 => {
                packet.extend_from_slice(&[0x9f, 202, 0, 2]);
                packet.extend_from_slice(&sender);
                packet.extend_from_slice(&[1, 250, b'x', b'y']);
            }
            // transport-cc feedback claiming 65535 packet statuses in 4 chunk bytes.
            5 => {
                packet.extend_from_slice(&[0x8f, 205, 0, 5]);
                packet.extend_from_slice(&sender);
                packet.extend_from_slice(&media);
                packet.extend_from_slice(&[0, 0, 0xff, 0xff, 0, 0, 0, 1, 0x20, 0x01, 0xff, 0xff]);
            }
            // REMB naming 255 SSRCs and carrying one.
            6 => {
                packet.extend_from_slice(&[0x8f, 206, 0, 5]);
                packet.extend_from_slice(&sender);
                packet.extend_from_slice(&[0; 4]);
                packet.extend_from_slice(b"REMB");
                packet.extend_from_slice(&[255, 0x3f, 0xff, 0xff]);
                packet.extend_from_slice(&media);
            }
            // BYE with 31 sources and a reason longer than the packet, then an XR block of
            // 65535 words.
            _ => {
                packet.extend_from_slice(&[0x9f, 203, 0, 2]);
                packet.extend_from_slice(&sender);
                packet.extend_from_slice(&[200, b'b', b'y', b'e']);
                packet.extend_from_slice(&[0x80, 207, 0, 3]);
                packet.extend_from_slice(&sender);
                packet.extend_from_slice(&[4, 0, 0xff, 0xff]);
                packet.extend_from_slice(&[0; 4]);
            }
        }
        out[..packet.len()].copy_from_slice(&packet);
        packet.len()
    }
}

/// What came back to the source sockets.
#[derive(Debug, Default, Clone, Copy)]
struct Replies {
    count: u64,
    bytes: u64,
    largest: usize,
    stun_errors: u64,
    other: u64,
}

/// What a run did.
#[derive(Debug, Default)]
struct Report {
    sent: u64,
    send_errors: u64,
    bytes_sent: u64,
    smallest_request: usize,
    largest_request: usize,
    elapsed: Duration,
    sources: usize,
    replies: Replies,
    refused: u64,
    closed_by_peer: u64,
}

/// The loopback address of source `index` (127.0.0.2 onward), or the unspecified address
/// for a non-loopback target.
fn source_address(target: &SocketAddr, index: usize) -> SocketAddr {
    match target {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => {
            let offset = 2 + index as u32;
            SocketAddr::from((Ipv4Addr::from(0x7F00_0000 | offset), 0))
        }
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0)),
    }
}

/// A raw IPv4 socket that sends packets whose IP header we write (IPPROTO_RAW implies
/// IP_HDRINCL). `SendBatch` only needs a file descriptor for `sendmmsg`, which takes the
/// same destination addresses on a raw socket, so it is wrapped as a `UdpSocket`.
fn raw_socket() -> Result<UdpSocket, String> {
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    if fd < 0 {
        return Err(format!(
            "--spoof-source needs a raw socket (root): {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `fd` is a freshly created socket that nothing else owns.
    Ok(UdpSocket::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Prepends an IPv4 and UDP header from `source` to `destination` to `payload`, in place
/// (`buffer[..len]` holds the payload; the buffer must have room for the headers). The UDP
/// checksum is left 0 (none, allowed on IPv4); the kernel fills in the IP checksum, total
/// length and id.
fn wrap_in_udp_ipv4(
    buffer: &mut [u8],
    len: usize,
    source: SocketAddrV4,
    destination: SocketAddrV4,
) -> usize {
    let headers = IPV4_HEADER_LEN + UDP_HEADER_LEN;
    buffer.copy_within(..len, headers);
    let total = headers + len;
    let ip = &mut buffer[..IPV4_HEADER_LEN];
    ip.copy_from_slice(&[
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[12..16].copy_from_slice(&source.ip().octets());
    ip[16..20].copy_from_slice(&destination.ip().octets());
    let udp = &mut buffer[IPV4_HEADER_LEN..headers];
    udp[..2].copy_from_slice(&source.port().to_be_bytes());
    udp[2..4].copy_from_slice(&destination.port().to_be_bytes());
    udp[4..6].copy_from_slice(&((UDP_HEADER_LEN + len) as u16).to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    total
}

/// Counts datagrams arriving on `sockets` until `until` (epoll over all of them).
fn count_replies(sockets: Vec<UdpSocket>, until: Instant) -> Result<JoinHandle<Replies>, String> {
    // SAFETY: plain epoll_create1(2); checked below.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epoll < 0 {
        return Err(format!("epoll: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh descriptor nothing else owns.
    let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
    for (index, socket) in sockets.iter().enumerate() {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: index as u64,
        };
        // SAFETY: both descriptors are open; `event` lives across the call.
        let added = unsafe {
            libc::epoll_ctl(
                epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                socket.as_raw_fd(),
                &mut event,
            )
        };
        if added < 0 {
            return Err(format!("epoll_ctl: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(std::thread::spawn(move || {
        let mut replies = Replies::default();
        let mut batch = RecvBatch::default();
        let mut ready = [libc::epoll_event { events: 0, u64: 0 }; 64];
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            let timeout = left.as_millis().clamp(1, 50) as libc::c_int;
            // SAFETY: `ready` has room for the 64 events asked for.
            let count =
                unsafe { libc::epoll_wait(epoll.as_raw_fd(), ready.as_mut_ptr(), 64, timeout) };
            for event in ready.iter().take(count.max(0) as usize) {
                let Some(socket) = sockets.get(event.u64 as usize) else {
                    continue;
                };
                while let Ok(received @ 1..) = recv_batch(socket, &mut batch) {
                    for index in 0..received {
                        let Some((buffer, len, _)) = batch.datagram_mut(index) else {
                            continue;
                        };
                        replies.count += 1;
                        replies.bytes += len as u64;
                        replies.largest = replies.largest.max(len);
                        // A STUN Binding error response: type 0x0111 and the magic cookie.
                        if len >= 20
                            && buffer[..2] == [0x01, 0x11]
                            && buffer[4..8] == [0x21, 0x12, 0xa4, 0x42]
                        {
                            replies.stun_errors += 1;
                        } else {
                            replies.other += 1;
                        }
                    }
                }
            }
        }
        replies
    }))
}

fn run_udp(options: &Options) -> Result<Report, String> {
    let mut report = Report::default();
    let (sockets, spoofed) = match options.spoof_source {
        Some(source) => {
            let SocketAddr::V4(target) = options.target else {
                return Err("--spoof-source needs an IPv4 --target".into());
            };
            (vec![raw_socket()?], Some((source, target)))
        }
        None => {
            let sockets = (0..options.sources)
                .map(|index| {
                    let socket = UdpSocket::bind(source_address(&options.target, index))
                        .map_err(|error| format!("binding source {index}: {error}"))?;
                    socket
                        .set_nonblocking(true)
                        .map_err(|error| error.to_string())?;
                    Ok(socket)
                })
                .collect::<Result<Vec<_>, String>>()?;
            (sockets, None)
        }
    };
    report.sources = if spoofed.is_some() { 1 } else { sockets.len() };
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(options.seconds);
    let replies = match spoofed {
        Some(_) => None,
        None => {
            let clones = sockets
                .iter()
                .map(UdpSocket::try_clone)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| error.to_string())?;
            Some(count_replies(clones, end + REPLY_GRACE)?)
        }
    };
    let mut forge = Forge::new(options);
    let mut batch = SendBatch::default();
    let mut packet = vec![0u8; SLOT_LEN];
    let interval = 1.0 / options.packets_per_second;
    let mut due = 0u64;
    let mut next_source = 0usize;
    let mut next_tick = started;
    let mut flush = |batch: &mut SendBatch, report: &mut Report| {
        report.sent += batch.flush(&sockets[next_source % sockets.len()]);
        next_source += 1;
    };
    while Instant::now() < end {
        let should_have_sent = (started.elapsed().as_secs_f64() / interval) as u64 + 1;
        while due < should_have_sent {
            due += 1;
            let mut len = forge.next(&mut packet);
            if len == 0 {
                continue;
            }
            report.bytes_sent += len as u64;
            report.largest_request = report.largest_request.max(len);
            report.smallest_request = match report.smallest_request {
                0 => len,
                smallest => smallest.min(len),
            };
            let destination = match spoofed {
                Some((source, target)) => {
                    len = wrap_in_udp_ipv4(&mut packet, len, source, target);
                    SocketAddr::V4(SocketAddrV4::new(*target.ip(), 0))
                }
                None => options.target,
            };
            if batch.is_full() {
                flush(&mut batch, &mut report);
            }
            batch.push(destination, &packet[..len]);
        }
        if !batch.is_empty() {
            flush(&mut batch, &mut report);
        }
        next_tick += TICK;
        if let Some(wait) = next_tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    report.elapsed = started.elapsed();
    report.send_errors = batch.dropped;
    if let Some(counter) = replies {
        report.replies = counter.join().map_err(|_| "the reply counter panicked")?;
    }
    Ok(report)
}

/// Slowloris: connections that start a frame and never finish it.
fn run_tcp(options: &Options) -> Result<Report, String> {
    let mut report = Report {
        sources: options.sources,
        ..Report::default()
    };
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(options.seconds);
    let mut frame_start = SLOWLORIS_FRAME_LEN.to_be_bytes().to_vec();
    // The start of a STUN Binding request, as an ICE-TCP client would send.
    frame_start.extend_from_slice(&[0x00, 0x01, 0x00, 0x50, 0x21, 0x12, 0xa4, 0x42]);
    let mut connections = Vec::with_capacity(options.sources);
    for _ in 0..options.sources {
        match TcpStream::connect_timeout(&options.target, Duration::from_secs(1)) {
            Ok(mut stream) => {
                if stream.write_all(&frame_start).is_ok() && stream.set_nonblocking(true).is_ok() {
                    report.bytes_sent += frame_start.len() as u64;
                    connections.push(Some(stream));
                } else {
                    report.closed_by_peer += 1;
                }
            }
            Err(_) => report.refused += 1,
        }
        if Instant::now() >= end {
            break;
        }
    }
    report.sent = connections.len() as u64 + report.closed_by_peer;
    let mut buffer = [0u8; 4096];
    let mut next_trickle = Instant::now() + Duration::from_secs(1);
    while Instant::now() < end {
        let trickle = Instant::now() >= next_trickle;
        if trickle {
            next_trickle += Duration::from_secs(1);
        }
        for slot in &mut connections {
            let Some(stream) = slot else { continue };
            let closed = loop {
                match stream.read(&mut buffer) {
                    Ok(0) => break true,
                    Ok(read) => {
                        report.replies.count += 1;
                        report.replies.bytes += read as u64;
                        report.replies.other += 1;
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break false,
                    Err(_) => break true,
                }
            };
            let closed = closed || (trickle && stream.write(&[0]).is_err());
            if closed {
                report.closed_by_peer += 1;
                *slot = None;
            } else if trickle {
                report.bytes_sent += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("mediasoup-flood: {error}");
            return ExitCode::from(2);
        }
    };
    let result = match options.mode {
        Mode::TcpSlowloris => run_tcp(&options),
        _ => run_udp(&options),
    };
    match result {
        Ok(report) => {
            let replies = report.replies;
            println!(
                "{{\"mode\": \"{}\", \"sent\": {}, \"send_errors\": {}, \"seconds\": {:.3}, \
                 \"sources\": {}, \"spoofed\": {}, \"bytes_sent\": {}, \"smallest_request\": {}, \
                 \"largest_request\": {}, \
                 \"replies\": {}, \"reply_bytes\": {}, \"largest_reply\": {}, \
                 \"stun_error_replies\": {}, \"other_replies\": {}, \"refused\": {}, \
                 \"closed_by_peer\": {}}}",
                options.mode.name(),
                report.sent,
                report.send_errors,
                report.elapsed.as_secs_f64(),
                report.sources,
                options.spoof_source.is_some(),
                report.bytes_sent,
                report.smallest_request,
                report.largest_request,
                replies.count,
                replies.bytes,
                replies.largest,
                replies.stun_errors,
                replies.other,
                report.refused,
                report.closed_by_peer,
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("mediasoup-flood: {error}");
            ExitCode::FAILURE
        }
    }
}
