//! mediasoup-loadgen: sends paced RTP (optionally SRTP) streams to many UDP targets on
//! loopback, batched with sendmmsg, and prints what it sent as one JSON line.
//!
//! Usage: mediasoup-loadgen --targets 127.0.0.1:40000,127.0.0.1:40001 --pps 1000 \
//!            --seconds 5 [--payload 1200] [--srtp PROFILE:HEX_KEY_AND_SALT] \
//!            [--vp8-keyframes] [--sink 127.0.0.1:41000]
//!
//! `--vp8-keyframes` starts every payload with a VP8 keyframe header, so a video producer's
//! consumers (which start on a keyframe) forward from the first packet. `--sink` also
//! counts, on a second thread, the RTP datagrams arriving at that address until a second
//! after sending stops: the fan-out benchmark points every consumer there.
//!
//! `--pps` is per target. Each target gets its own SSRC and sequence space. The send loop
//! runs in 1 ms ticks and catches up after a late tick, so the offered rate holds on a busy
//! machine; every run is bounded by `--seconds`.

use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mediasoup_core::srtp::{SrtpProfile, SrtpSession};
use mediasoup_core::worker::{recv_batch, RecvBatch, SendBatch, BATCH, SLOT_LEN};

const TICK: Duration = Duration::from_millis(1);
const RTP_HEADER_LEN: usize = 12;
/// Longest run allowed, whatever the arguments say.
const MAX_SECONDS: f64 = 600.0;
/// A VP8 payload descriptor (S=1, partition 0) and a payload header with P=0: a keyframe.
const VP8_KEYFRAME_START: [u8; 5] = [0x10, 0x00, 0x9d, 0x01, 0x2a];
/// How long the sink keeps counting after the sender stops (packets still in flight).
const SINK_GRACE: Duration = Duration::from_secs(1);

struct Options {
    targets: Vec<SocketAddr>,
    packets_per_second: f64,
    seconds: f64,
    payload: usize,
    srtp: Option<(SrtpProfile, Vec<u8>)>,
    vp8_keyframes: bool,
    sink: Option<SocketAddr>,
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

fn parse_options(mut arguments: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        targets: Vec::new(),
        packets_per_second: 100.0,
        seconds: 5.0,
        payload: 1200,
        srtp: None,
        vp8_keyframes: false,
        sink: None,
    };
    while let Some(flag) = arguments.next() {
        if flag == "--vp8-keyframes" {
            options.vp8_keyframes = true;
            continue;
        }
        let value = arguments
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--targets" => {
                options.targets = value
                    .split(',')
                    .map(|target| target.parse().map_err(|_| format!("bad target {target}")))
                    .collect::<Result<_, _>>()?;
            }
            "--pps" => options.packets_per_second = value.parse().map_err(|_| "bad --pps")?,
            "--seconds" => options.seconds = value.parse().map_err(|_| "bad --seconds")?,
            "--payload" => options.payload = value.parse().map_err(|_| "bad --payload")?,
            "--srtp" => {
                let (name, key) = value.split_once(':').ok_or("--srtp is PROFILE:HEX")?;
                let profile = SrtpProfile::from_name(name).map_err(|error| error.to_string())?;
                let key = parse_hex(key).ok_or("--srtp key is not hex")?;
                options.srtp = Some((profile, key));
            }
            "--sink" => options.sink = Some(value.parse().map_err(|_| "bad --sink")?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if options.targets.is_empty() {
        return Err("--targets is required".into());
    }
    if !(0.0..=MAX_SECONDS).contains(&options.seconds) {
        return Err(format!("--seconds must be at most {MAX_SECONDS}"));
    }
    if options.payload + RTP_HEADER_LEN + 16 > SLOT_LEN {
        return Err(format!(
            "--payload must leave room in {SLOT_LEN}-byte slots"
        ));
    }
    Ok(options)
}

struct Stream {
    target: SocketAddr,
    ssrc: u32,
    sequence: u16,
    srtp: Option<SrtpSession>,
}

/// What a run did.
struct Report {
    sent: u64,
    dropped: u64,
    elapsed: Duration,
    received: Option<u64>,
}

/// Asks for a receive buffer that holds a fan-out burst (one producer packet to hundreds of
/// consumers arrives at once): forced past `rmem_max` when running as root, else capped by it.
fn enlarge_receive_buffer(socket: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 64 << 20;
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

/// Counts RTP datagrams arriving at `socket` until `until` (RTCP, told apart by its packet
/// type as RFC 5761 does, is not forwarded media).
fn count_arrivals(socket: UdpSocket, until: Instant) -> JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut batch = RecvBatch::default();
        let mut received = 0u64;
        while Instant::now() < until {
            let count = match recv_batch(&socket, &mut batch) {
                Ok(0) | Err(_) => {
                    std::thread::sleep(TICK);
                    continue;
                }
                Ok(count) => count,
            };
            for index in 0..count {
                if let Some((buffer, len, _)) = batch.datagram_mut(index) {
                    let is_rtcp = len > 1 && (192..=223).contains(&buffer[1]);
                    received += u64::from(!is_rtcp);
                }
            }
        }
        received
    })
}

fn run(options: &Options) -> Result<Report, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    let mut streams: Vec<Stream> = options
        .targets
        .iter()
        .enumerate()
        .map(|(index, target)| {
            let srtp = options
                .srtp
                .as_ref()
                .map(|(profile, key)| {
                    let (master_key, salt) = key.split_at(profile.key_len().min(key.len()));
                    SrtpSession::new(*profile, master_key, salt).map_err(|error| error.to_string())
                })
                .transpose()?;
            Ok(Stream {
                target: *target,
                ssrc: 0x1000_0000 + index as u32,
                sequence: 0,
                srtp,
            })
        })
        .collect::<Result<_, String>>()?;
    let mut batch = SendBatch::default();
    let mut packet = vec![0u8; SLOT_LEN];
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(options.seconds);
    let sink = options
        .sink
        .map(|address| {
            let socket = UdpSocket::bind(address).map_err(|error| format!("--sink: {error}"))?;
            enlarge_receive_buffer(&socket);
            socket
                .set_nonblocking(true)
                .map_err(|error| error.to_string())?;
            Ok::<_, String>(count_arrivals(socket, end + SINK_GRACE))
        })
        .transpose()?;
    let per_stream_interval = 1.0 / options.packets_per_second;
    let mut sent = 0u64;
    let mut next_tick = started;
    let mut due_per_stream = 0u64;
    while Instant::now() < end {
        let elapsed = Instant::now().duration_since(started).as_secs_f64();
        let should_have_sent = (elapsed / per_stream_interval) as u64 + 1;
        while due_per_stream < should_have_sent {
            due_per_stream += 1;
            for stream in &mut streams {
                let len = RTP_HEADER_LEN + options.payload;
                packet[0] = 0x80;
                packet[1] = 96;
                packet[2..4].copy_from_slice(&stream.sequence.to_be_bytes());
                packet[4..8].copy_from_slice(&(u32::from(stream.sequence) * 3000).to_be_bytes());
                packet[8..12].copy_from_slice(&stream.ssrc.to_be_bytes());
                if options.vp8_keyframes {
                    packet[RTP_HEADER_LEN..RTP_HEADER_LEN + VP8_KEYFRAME_START.len()]
                        .copy_from_slice(&VP8_KEYFRAME_START);
                }
                stream.sequence = stream.sequence.wrapping_add(1);
                let len = match stream.srtp.as_mut() {
                    Some(session) => session
                        .protect_rtp(&mut packet, len)
                        .map_err(|error| error.to_string())?,
                    None => len,
                };
                if batch.len() == BATCH {
                    sent += batch.flush(&socket);
                }
                batch.push(stream.target, &packet[..len]);
            }
        }
        sent += batch.flush(&socket);
        next_tick += TICK;
        if let Some(wait) = next_tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    sent += batch.flush(&socket);
    let elapsed = started.elapsed();
    let received = sink
        .map(|counter| counter.join().map_err(|_| "the sink thread panicked"))
        .transpose()?;
    Ok(Report {
        sent,
        dropped: batch.dropped,
        elapsed,
        received,
    })
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("mediasoup-loadgen: {error}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(report) => {
            let received = report
                .received
                .map_or_else(|| "null".to_owned(), |count| count.to_string());
            println!(
                "{{\"sent\": {}, \"send_errors\": {}, \"seconds\": {:.3}, \"targets\": {}, \
                 \"received\": {received}}}",
                report.sent,
                report.dropped,
                report.elapsed.as_secs_f64(),
                options.targets.len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("mediasoup-loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}
