//! mediasoup-loadgen: the load tool of the mediasoup_py benchmarks. It sends paced RTP
//! (optionally SRTP) to an SFU on loopback, receives what the SFU forwards on N ports, and
//! prints one JSON line: what was sent, what arrived per port, sequence gaps, reordering,
//! one-way latency percentiles and the SFU process's CPU and memory.
//!
//! Usage (see `options::USAGE` for every flag):
//!     mediasoup-loadgen --targets 127.0.0.1:40000 --shape video --pps 5000 --seconds 6 \
//!         --warmup 1 --ssrc 287454020 --pt 101 --recv-base 41000 --recv-count 10 --cpu-pid 1234
//!
//! Streams: one per `--targets` address, shaped `plain` (same-size packets), `video` (VP8:
//! frames of `--frame-packets` ~1200-byte packets, marker on the last, a keyframe every
//! `--keyframe-interval` frames) or `audio` (opus: ~100 bytes, by default every 20 ms), plus
//! an opus-shaped stream per `--audio-targets` address. `--pps` is per stream. Every packet
//! carries its send time at byte 16 of the payload.
//!
//! Receivers: `--recv-base B --recv-count N` binds 127.0.0.1:B..B+N; `--sink ADDRESS` binds
//! one port that any number of consumers may share. RTCP and PT 127 (probation) packets are
//! not counted. Only packets sent after `--warmup` are measured (delivery, gaps, latency), and
//! the CPU of `--cpu-pid` is taken over that same window; the receivers keep counting for a
//! second after sending stops (packets in flight). Every run is bounded: `--seconds` <= 600.
//!
//! WebRTC mode (`--webrtc-cert`, `--webrtc-key`, `--webrtc-peers`): every target and every
//! receive port is one of the SFU's WebRtcTransports, reached from a socket of its own that
//! runs ICE, a DTLS client handshake and SRTP (AEAD_AES_128_GCM); see `webrtc`. Media starts
//! once every transport is connected; the time that took is reported apart
//! (`webrtc_setup_seconds`), as are SRTP packets that fail to unprotect. With
//! `--webrtc-receivers stdin` the receiving transports come on standard input once the
//! senders are connected (Janus).
//! `mediasoup-loadgen --make-cert DIR` makes the certificate and key.

mod options;
mod receiver;
mod sender;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mediasoup_py_loadgen::process::{self, ProcessSample};
use mediasoup_py_loadgen::webrtc::{self, RemoteTransport, WebRtcConfig};
use options::{check_receivers, parse_options, Options, USAGE};
use receiver::{ReceivePort, ReceiveReport, Window};
use sender::{Outlet, SendReport};

/// How long the receivers keep counting after sending stops.
const RECEIVE_GRACE: Duration = Duration::from_secs(1);

/// The SFU process's CPU over the measured window and its memory at the end of it.
struct ProcessReport {
    cpu_seconds: f64,
    rss_bytes: u64,
}

fn sleep_until(deadline: Instant) {
    if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
}

/// Samples `pid` at the start and the end of the measured window, on its own thread.
fn watch_process(
    pid: u32,
    from: Instant,
    to: Instant,
) -> std::thread::JoinHandle<Option<ProcessReport>> {
    std::thread::spawn(move || {
        sleep_until(from);
        let first: ProcessSample = process::sample(pid)?;
        sleep_until(to);
        let last = process::sample(pid)?;
        Some(ProcessReport {
            cpu_seconds: last.cpu_ticks.saturating_sub(first.cpu_ticks) as f64
                / process::ticks_per_second(),
            rss_bytes: last.rss_bytes,
        })
    })
}

fn json_number(value: Option<impl std::fmt::Display>) -> String {
    value.map_or_else(|| "null".to_owned(), |value| value.to_string())
}

/// How the WebRTC transports connected.
struct WebRtcSetup {
    transports: usize,
    seconds: f64,
}

fn report_json(
    options: &Options,
    sent: &SendReport,
    received: Option<&ReceiveReport>,
    process: Option<&ProcessReport>,
    webrtc: Option<&WebRtcSetup>,
) -> String {
    let window_seconds = options.seconds - options.warmup.as_secs_f64();
    let mut fields = vec![
        format!("\"sent\": {}", sent.sent),
        format!("\"send_errors\": {}", sent.send_errors),
        format!("\"seconds\": {:.3}", sent.elapsed.as_secs_f64()),
        format!(
            "\"targets\": {}",
            options.targets.len() + options.audio_targets.len()
        ),
        format!("\"window_seconds\": {window_seconds:.3}"),
        format!("\"sent_measured\": {}", sent.sent_measured),
        format!(
            "\"received\": {}",
            json_number(received.map(|report| report.received))
        ),
    ];
    if let Some(report) = received {
        let latency = &report.latency;
        let percentile = |quantile| json_number(latency.percentile(quantile));
        let port_min = report.per_port_measured.iter().min();
        let port_max = report.per_port_measured.iter().max();
        fields.extend([
            format!("\"received_measured\": {}", report.received_measured),
            format!(
                "\"received_pps\": {:.1}",
                report.received_measured as f64 / window_seconds
            ),
            format!("\"ports\": {}", report.per_port_measured.len()),
            format!("\"port_received_min\": {}", json_number(port_min)),
            format!("\"port_received_max\": {}", json_number(port_max)),
            format!("\"gaps\": {}", report.gaps),
            format!("\"reordered\": {}", report.reordered),
            format!("\"lost\": {}", report.lost),
            format!("\"unstamped\": {}", report.unstamped),
            format!(
                "\"latency_us\": {{\"p50\": {}, \"p99\": {}, \"p999\": {}, \"max\": {}, \
                 \"samples\": {}}}",
                percentile(0.5),
                percentile(0.99),
                percentile(0.999),
                json_number((latency.count() > 0).then(|| latency.max_micros())),
                latency.count()
            ),
        ]);
    }
    if let Some(setup) = webrtc {
        fields.extend([
            format!("\"webrtc_transports\": {}", setup.transports),
            format!("\"webrtc_setup_seconds\": {:.3}", setup.seconds),
        ]);
        if let Some(report) = received {
            fields.extend([
                format!("\"srtp_auth_failures\": {}", report.srtp_auth_failures),
                format!("\"srtp_rejected\": {}", report.srtp_rejected),
            ]);
        }
    }
    if options.cpu_pid.is_some() {
        fields.extend([
            format!(
                "\"cpu_seconds\": {}",
                json_number(process.map(|p| format!("{:.3}", p.cpu_seconds)))
            ),
            format!(
                "\"cpu_percent\": {}",
                json_number(
                    process.map(|p| format!("{:.1}", 100.0 * p.cpu_seconds / window_seconds))
                )
            ),
            format!(
                "\"rss_bytes\": {}",
                json_number(process.map(|p| p.rss_bytes))
            ),
        ]);
    }
    format!("{{{}}}", fields.join(", "))
}

/// Connects a socket per distinct target and every receive port's socket to their SFU
/// transports; returns the sender's outlets and the receive ports. With the receivers given
/// later, the senders connect first, then the receivers read from standard input.
fn connect_webrtc(
    options: &Options,
    config: &WebRtcConfig,
    receive_sockets: Vec<UdpSocket>,
) -> Result<(Vec<Outlet>, Vec<ReceivePort>, WebRtcSetup), String> {
    let started = Instant::now();
    let mut targets: Vec<SocketAddr> = Vec::new();
    for target in options.targets.iter().chain(&options.audio_targets) {
        if !targets.contains(target) {
            targets.push(*target);
        }
    }
    let mut sockets = Vec::with_capacity(targets.len() + receive_sockets.len());
    for _ in &targets {
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
        socket
            .set_nonblocking(true)
            .map_err(|error| error.to_string())?;
        sockets.push(socket);
    }
    // Options checked that every target has its transport (and every port, unless later).
    let senders = targets.iter().map(|target| config.senders[target].clone());
    let connect = |sockets, transports| {
        webrtc::connect(&config.certificate, &config.local, sockets, transports)
    };
    let receivers = |receivers: &HashMap<u16, RemoteTransport>| -> Vec<RemoteTransport> {
        let ports = options.receive_ports.iter();
        ports
            .map(|address| receivers[&address.port()].clone())
            .collect()
    };
    let (links, receive_links) = if config.receivers_later {
        let links = connect(sockets, senders.collect())?;
        let late = webrtc::read_receivers(std::io::stdin().lock())?;
        check_receivers(&options.receive_ports, &late)?;
        (links, connect(receive_sockets, receivers(&late))?)
    } else {
        sockets.extend(receive_sockets);
        let mut links = connect(
            sockets,
            senders.chain(receivers(&config.receivers)).collect(),
        )?;
        let receive_links = links.split_off(targets.len());
        (links, receive_links)
    };
    let setup = WebRtcSetup {
        transports: links.len() + receive_links.len(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((
        links
            .into_iter()
            .map(Outlet::webrtc)
            .collect::<Result<_, _>>()?,
        receive_links
            .into_iter()
            .map(ReceivePort::webrtc)
            .collect::<Result<_, _>>()?,
        setup,
    ))
}

fn run(options: &Options) -> Result<String, String> {
    let receive_sockets = receiver::bind(&options.receive_ports)?;
    let (outlets, receive_ports, webrtc_setup) = match &options.webrtc {
        Some(config) => {
            let (outlets, ports, setup) = connect_webrtc(options, config, receive_sockets)?;
            (outlets, ports, Some(setup))
        }
        None => (
            vec![Outlet::plain(options)?],
            receive_sockets
                .into_iter()
                .map(ReceivePort::plain)
                .collect(),
            None,
        ),
    };
    let epoch = Instant::now();
    let measured_from = epoch + options.warmup;
    let send_end = epoch + Duration::from_secs_f64(options.seconds);
    let window = Window {
        from_nanos: options.warmup.as_nanos() as u64,
        to_nanos: (options.seconds * 1e9) as u64,
    };
    let receivers = (!receive_ports.is_empty())
        .then(|| receiver::spawn(receive_ports, epoch, window, send_end + RECEIVE_GRACE))
        .transpose()?;
    let watcher = options
        .cpu_pid
        .map(|pid| watch_process(pid, measured_from, send_end));
    let sent = sender::send(options, epoch, outlets)?;
    let received = receivers
        .map(|thread| thread.join().map_err(|_| "the receiver thread panicked"))
        .transpose()?;
    let process = watcher
        .map(|thread| thread.join().map_err(|_| "the process watcher panicked"))
        .transpose()?
        .flatten();
    Ok(report_json(
        options,
        &sent,
        received.as_ref(),
        process.as_ref(),
        webrtc_setup.as_ref(),
    ))
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, directory] = arguments.as_slice() {
        if flag == "--make-cert" {
            return print_outcome(webrtc::make_certificate(Path::new(directory)));
        }
    }
    let options = match parse_options(arguments.into_iter()) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("mediasoup-loadgen: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    print_outcome(run(&options))
}

/// Prints a JSON report line on stdout, or the error on stderr.
fn print_outcome(outcome: Result<String, String>) -> ExitCode {
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("mediasoup-loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}
