//! mediasoup-bare-forwarder: the floor of RTP fan-out on this machine, a benchmark peer that
//! does nothing an SFU does beyond moving packets. It receives on one UDP port, gives each
//! packet a per-consumer SSRC and sequence number, and sends the copies out of one socket
//! per consumer (connected to it) to 127.0.0.1:<recv-base + i>: recvmmsg batches in, and the
//! worker's own egress out (its io_uring, or one sendmmsg per socket per batch, equal-size runs
//! as UDP GSO messages). No RTCP, NACK, keyframe, layer or header-extension work: what is left
//! is the kernel's UDP path and the copies, the ceiling an SFU built this way can approach.
//!
//! It follows the benchmark peers' contract (benches/rtpload_peer.py): fan-out only, one
//! JSON ready line (producerPort, ssrc, payloadType, cpuPid), and it runs until killed or
//! `--max-seconds`.
//!
//! Usage: mediasoup-bare-forwarder --scenario fanout --consumers 10 --recv-base 41000 \
//!            [--max-seconds 300]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mediasoup_core::worker::{enlarge_receive_buffer, recv_batch, EgressQueue, RecvBatch, BATCH};

/// What the load tool is told to send (the forwarder reads neither).
const SSRC: u32 = 0x1122_3344;
const PAYLOAD_TYPE: u8 = 101;
/// Most consumers: a port range's worth.
const MAX_CONSUMERS: usize = 4096;
/// Longest run allowed, whatever the arguments say.
const MAX_SECONDS: f64 = 3600.0;
/// How often a quiet forwarder looks at the clock.
const IDLE_WAKE_MS: libc::c_int = 100;
/// Reads per wake before the batch's copies go out (as the worker does per socket).
const READS_PER_TURN: usize = 4;
/// Where the forwarder's own ports start: below the kernel's ephemeral range (32768 up), where
/// the load tool's receive ports are, as the SFUs' configured port ranges are.
const FIRST_PORT: u16 = 30000;
const RTP_HEADER_LEN: usize = 12;

struct Options {
    consumers: usize,
    recv_base: u16,
    max_seconds: f64,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        consumers: 4,
        recv_base: 41000,
        max_seconds: 300.0,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("bad {flag} {value}");
        match flag.as_str() {
            "--scenario" if value == "fanout" => {}
            "--scenario" => return Err(format!("only the fanout scenario, not {value}")),
            "--consumers" => options.consumers = value.parse().map_err(|_| bad())?,
            "--recv-base" => options.recv_base = value.parse().map_err(|_| bad())?,
            "--max-seconds" => options.max_seconds = value.parse().map_err(|_| bad())?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if options.consumers == 0 || options.consumers > MAX_CONSUMERS {
        return Err(format!("--consumers must be 1 to {MAX_CONSUMERS}"));
    }
    if usize::from(options.recv_base) + options.consumers > usize::from(u16::MAX) {
        return Err("--recv-base leaves no room for the consumers' ports".to_owned());
    }
    options.max_seconds = options.max_seconds.clamp(0.0, MAX_SECONDS);
    Ok(options)
}

/// One consumer: its socket, where it sends, and the SSRC and next sequence number it writes.
struct Consumer {
    socket: UdpSocket,
    destination: SocketAddr,
    ssrc: u32,
    sequence: u16,
}

/// Waits until `socket` is readable or `IDLE_WAKE_MS` pass.
fn wait_readable(socket: &UdpSocket) {
    let mut poll = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut poll, 1, IDLE_WAKE_MS) };
}

fn run(options: &Options) -> Result<(), String> {
    let loopback = Ipv4Addr::LOCALHOST;
    let mut ports = FIRST_PORT..options.recv_base;
    let mut bind = || {
        ports
            .find_map(|port| UdpSocket::bind((loopback, port)).ok())
            .ok_or_else(|| format!("no free port from {FIRST_PORT} below --recv-base"))
    };
    let input = bind()?;
    input
        .set_nonblocking(true)
        .map_err(|error| error.to_string())?;
    enlarge_receive_buffer(&input);
    let mut consumers = (0..options.consumers)
        .map(|index| {
            let destination = SocketAddr::from((loopback, options.recv_base + index as u16));
            let socket = bind()?;
            // Connected, as the worker's plain transports send to their remote end: the
            // kernel keeps the route instead of looking it up per datagram.
            socket
                .connect(destination)
                .map_err(|error| error.to_string())?;
            Ok(Consumer {
                socket,
                destination,
                ssrc: 0x5000_0000 + index as u32,
                sequence: index as u16,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let port = input
        .local_addr()
        .map_err(|error| error.to_string())?
        .port();
    println!(
        "{{\"ready\": true, \"producerPort\": {port}, \"ssrc\": {SSRC}, \"payloadType\": \
         {PAYLOAD_TYPE}, \"cpuPid\": {}}}",
        std::process::id()
    );
    let deadline = Instant::now() + Duration::from_secs_f64(options.max_seconds);
    let mut batch = RecvBatch::default();
    let mut egress = EgressQueue::default();
    while Instant::now() < deadline {
        wait_readable(&input);
        for _ in 0..READS_PER_TURN {
            let received = recv_batch(&input, &mut batch).map_err(|error| error.to_string())?;
            for consumer in &mut consumers {
                for index in 0..received {
                    let Some((packet, len, _)) = batch.datagram_mut(index) else {
                        continue;
                    };
                    if len < RTP_HEADER_LEN {
                        continue;
                    }
                    // Rewritten in place for each consumer in turn: the queue keeps a copy.
                    packet[2..4].copy_from_slice(&consumer.sequence.to_be_bytes());
                    packet[8..12].copy_from_slice(&consumer.ssrc.to_be_bytes());
                    consumer.sequence = consumer.sequence.wrapping_add(1);
                    egress.push_connected(
                        consumer.socket.as_raw_fd(),
                        consumer.destination,
                        &packet[..len],
                    );
                }
            }
            egress.flush();
            if received < BATCH {
                break;
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
