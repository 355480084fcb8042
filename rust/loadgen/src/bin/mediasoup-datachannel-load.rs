//! mediasoup-datachannel-load: DataChannel load against an SFU, as browsers reach it. One
//! sender and N receivers, each a WebRtcTransport of the SFU reached from a socket of its own
//! (ICE, a DTLS client handshake: the load tool's `webrtc` module), each with an SCTP
//! association over DTLS (RFC 8261) from `mediasoup_core::sctp` (sctp-proto underneath), the
//! load tool sending the INIT as a browser that is the DTLS client does.
//!
//! The sender writes `--rate` binary messages (PPID 53) of `--size` bytes per second, paced
//! every millisecond, on its DataProducer's stream (ordered, reliable, negotiated out of band
//! as mediasoup-client does); the SFU delivers each one to every receiver on that receiver's
//! DataConsumer stream. Every message carries its sequence number and send time in its first
//! 16 bytes. Only messages sent after `--warmup` and before `--seconds` are measured: how many
//! reached each receiver, reordering, send-to-receive latency (µs percentiles), and the CPU
//! of the SFU (the `--cpu-pid` processes together, and apart the `--cpu-part` threads or
//! processes among them) and of each of the load tool's threads over that window. A send
//! the load tool's own SCTP refuses (its send buffer, as large as a browser's, full: the SFU
//! is not acknowledging what it was sent) is counted apart, not sent. Receivers count for `RECEIVE_GRACE` after sending
//! stops (retransmissions still in flight). Every run is bounded: `--seconds` <= 600.
//!
//! Usage:
//!     mediasoup-datachannel-load --webrtc-cert cert.pem --webrtc-key key.pem \
//!         --peers peers.json --rate 5000 --size 1024 --seconds 6 --warmup 1 \
//!         [--cpu-pid PID]... [--cpu-part PID[/TID]]... [--receiver-threads 1]
//!
//! The peers file: `{"sender": T, "receivers": [T, ...]}`, each T the SFU transport's
//! `address`, `usernameFragment`, `password`, `fingerprint` {algorithm, value} and the
//! `streamId` of its DataProducer (sender) or DataConsumer (receivers). Prints one JSON line.

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mediasoup_core::crypto::certificate::DtlsCertificate;
use mediasoup_core::dtls::DtlsEvent;
use mediasoup_core::packet::demux::{classify, DatagramKind};
use mediasoup_core::sctp::{
    Bytes, Ppid, SctpAssociation, SctpConfig, SctpEvent, SctpRole, SctpSendError, SctpState,
    StreamReliability,
};
use mediasoup_core::worker::SLOT_LEN;
use mediasoup_py_loadgen::stats::LatencyHistogram;
use mediasoup_py_loadgen::webrtc::{self, Link, RemoteTransport, CONSENT_INTERVAL};
use mediasoup_py_loadgen::{enlarge_receive_buffer, process};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use serde::Deserialize;

const USAGE: &str = "usage: mediasoup-datachannel-load --webrtc-cert FILE --webrtc-key FILE \
--peers FILE --rate MSGS_PER_S [--size 1024] [--seconds 6] [--warmup 1] [--cpu-pid PID]... \
[--cpu-part PID[/TID]]... [--receiver-threads 1]";
const LONGEST_RUN_SECONDS: f64 = 600.0;
/// How long every SCTP association together may take to establish.
const ASSOCIATE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the receivers keep counting after sending stops.
const RECEIVE_GRACE: Duration = Duration::from_secs(2);
/// The sender's pacing step.
const SEND_TICK: Duration = Duration::from_millis(1);
/// The load tool's send buffer: a browser's (Chromium queues up to 16 MiB on a DataChannel
/// before refusing), so a burst after the tool was descheduled on a busy machine is queued,
/// not refused; a rate the SFU cannot take shows as latency and then loss.
const SEND_BUFFER_SIZE: u32 = 16 << 20;
/// Sequence number and send time (ns since the run's epoch), both big-endian u64.
const STAMP_LEN: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataTransport {
    #[serde(flatten)]
    remote: RemoteTransport,
    stream_id: u16,
}

#[derive(Debug, Deserialize)]
struct PeersFile {
    sender: DataTransport,
    receivers: Vec<DataTransport>,
}

struct Options {
    certificate: PathBuf,
    private_key: PathBuf,
    peers: PathBuf,
    rate: f64,
    size: usize,
    seconds: f64,
    warmup: f64,
    /// The SFU's processes (summed): mediasoup's worker and its Node process, or the Python
    /// process that holds mediasoup_py's worker threads.
    cpu_pids: Vec<u32>,
    /// Parts of those (processes, or threads given as PID/TID) whose CPU is also reported
    /// on its own: the data plane (mediasoup's worker process, mediasoup_py's worker threads).
    cpu_parts: Vec<CpuSource>,
    receiver_threads: usize,
}

fn parse_options(mut arguments: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        certificate: PathBuf::new(),
        private_key: PathBuf::new(),
        peers: PathBuf::new(),
        rate: 0.0,
        size: 1024,
        seconds: 6.0,
        warmup: 1.0,
        cpu_pids: Vec::new(),
        cpu_parts: Vec::new(),
        receiver_threads: 1,
    };
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |value: &str| -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite() && *number >= 0.0)
                .ok_or_else(|| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--webrtc-cert" => options.certificate = value.into(),
            "--webrtc-key" => options.private_key = value.into(),
            "--peers" => options.peers = value.into(),
            "--rate" => options.rate = number(&value)?,
            "--size" => options.size = number(&value)? as usize,
            "--seconds" => options.seconds = number(&value)?,
            "--warmup" => options.warmup = number(&value)?,
            "--cpu-pid" => options.cpu_pids.push(number(&value)? as u32),
            "--cpu-part" => options.cpu_parts.push(match value.split_once('/') {
                Some((pid, tid)) => CpuSource::Thread(number(pid)? as u32, number(tid)? as u32),
                None => CpuSource::Process(number(&value)? as u32),
            }),
            "--receiver-threads" => options.receiver_threads = number(&value)? as usize,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if options.peers.as_os_str().is_empty() || options.certificate.as_os_str().is_empty() {
        return Err("--peers, --webrtc-cert and --webrtc-key are required".into());
    }
    if options.rate <= 0.0 {
        return Err("--rate must be above 0".into());
    }
    if options.size < STAMP_LEN {
        return Err(format!("--size must be at least {STAMP_LEN}"));
    }
    if options.seconds > LONGEST_RUN_SECONDS || options.warmup >= options.seconds {
        return Err(format!(
            "--seconds must be at most {LONGEST_RUN_SECONDS} and above --warmup"
        ));
    }
    options.receiver_threads = options.receiver_threads.max(1);
    Ok(options)
}

/// One SFU transport: its DTLS link and the SCTP association over it.
struct Endpoint {
    link: Link,
    sctp: SctpAssociation,
    stream_id: u16,
    next_consent: Instant,
}

impl Endpoint {
    fn new(link: Link, stream_id: u16, now: Instant) -> Self {
        let mut sctp = SctpAssociation::new(SctpConfig {
            send_buffer_size: SEND_BUFFER_SIZE,
            ..SctpConfig::default()
        });
        sctp.start(SctpRole::Client);
        Endpoint {
            link,
            sctp,
            stream_id,
            next_consent: now + CONSENT_INTERVAL,
        }
    }

    /// Reads every datagram waiting on the socket into DTLS, and SCTP out of it.
    fn receive(&mut self, buffer: &mut [u8], now: Instant) -> Result<(), String> {
        loop {
            match self.link.socket.recv_from(buffer) {
                Ok((len, from)) => {
                    let datagram = &buffer[..len];
                    if from != self.link.remote || !matches!(classify(datagram), DatagramKind::Dtls)
                    {
                        // Consent answers and anything else: nothing to do with them.
                        continue;
                    }
                    // A record DTLS refuses is dropped; SCTP repairs what it carried.
                    let _ = self.link.dtls.handle_datagram(datagram, now);
                    while let Some(event) = self.link.dtls.poll_event() {
                        match event {
                            DtlsEvent::ApplicationData(packet) => {
                                self.sctp.handle_packet(&packet, now)
                            }
                            DtlsEvent::Failed(reason) => {
                                return Err(format!("{}: DTLS failed: {reason}", self.link.remote))
                            }
                            DtlsEvent::Closed => {
                                return Err(format!("{}: the SFU closed DTLS", self.link.remote))
                            }
                            DtlsEvent::Connected { .. } => {}
                        }
                    }
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(error)
                    if matches!(
                        error.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionRefused
                    ) => {}
                Err(error) => return Err(error.to_string()),
            }
        }
    }

    /// Sends what SCTP has to send, through DTLS.
    fn flush(&mut self, now: Instant) {
        while let Some(packet) = self.sctp.poll_transmit(now) {
            // Refused only once DTLS is closed, which `receive` reports.
            let _ = self.link.dtls.send_application_data(&packet);
        }
        while let Some(datagram) = self.link.dtls.poll_datagram() {
            // A datagram the kernel refuses is a lost one; SCTP retransmits.
            let _ = self.link.socket.send_to(&datagram, self.link.remote);
        }
    }

    fn on_time(&mut self, now: Instant) {
        if self
            .sctp
            .poll_timeout()
            .is_some_and(|deadline| deadline <= now)
        {
            self.sctp.handle_timeout(now);
        }
        if now >= self.next_consent {
            self.link.consent.send(&self.link.socket);
            self.next_consent = now + CONSENT_INTERVAL;
        }
    }

    fn deadline(&self) -> Instant {
        self.sctp
            .poll_timeout()
            .map_or(self.next_consent, |sctp| sctp.min(self.next_consent))
    }
}

/// Endpoints one thread runs, polled together.
struct Group {
    poll: Poll,
    events: Events,
    endpoints: Vec<Endpoint>,
    buffer: Vec<u8>,
}

impl Group {
    fn new(endpoints: Vec<Endpoint>) -> Result<Self, String> {
        let poll = Poll::new().map_err(|error| error.to_string())?;
        for (index, endpoint) in endpoints.iter().enumerate() {
            poll.registry()
                .register(
                    &mut SourceFd(&endpoint.link.socket.as_raw_fd()),
                    Token(index),
                    Interest::READABLE,
                )
                .map_err(|error| error.to_string())?;
        }
        Ok(Group {
            poll,
            events: Events::with_capacity(64),
            endpoints,
            buffer: vec![0; SLOT_LEN],
        })
    }

    fn into_endpoints(self) -> Vec<Endpoint> {
        self.endpoints
    }

    /// Waits for datagrams until `until` at the latest (or an SCTP timer), handles them and
    /// the timers due, hands each SCTP event to `on_event` with its endpoint's index (an error
    /// from it ends the run), and sends what is to be sent.
    fn turn(
        &mut self,
        until: Instant,
        on_event: &mut impl FnMut(usize, SctpEvent, Instant) -> Result<(), String>,
    ) -> Result<(), String> {
        let deadline = self
            .endpoints
            .iter()
            .map(Endpoint::deadline)
            .fold(until, Instant::min);
        let timeout = deadline.saturating_duration_since(Instant::now());
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error.to_string()),
        }
        let now = Instant::now();
        for event in self.events.iter() {
            self.endpoints[event.token().0].receive(&mut self.buffer, now)?;
        }
        for (index, endpoint) in self.endpoints.iter_mut().enumerate() {
            endpoint.on_time(now);
            while let Some(event) = endpoint.sctp.poll_event() {
                on_event(index, event, now)?;
            }
            endpoint.flush(now);
        }
        Ok(())
    }
}

/// Runs every association's handshake (the load tool sends each INIT).
fn associate(group: &mut Group) -> Result<(), String> {
    let deadline = Instant::now() + ASSOCIATE_TIMEOUT;
    let mut failed = None;
    for endpoint in &mut group.endpoints {
        endpoint.flush(Instant::now());
    }
    loop {
        let states: Vec<SctpState> = group.endpoints.iter().map(|e| e.sctp.state()).collect();
        if let Some(index) = states
            .iter()
            .position(|s| *s != SctpState::Connecting && *s != SctpState::Connected)
        {
            failed = failed.or(Some(format!(
                "{}: SCTP association {}",
                group.endpoints[index].link.remote,
                states[index].as_str()
            )));
        }
        if let Some(reason) = failed {
            return Err(reason);
        }
        let connected = states
            .iter()
            .filter(|s| **s == SctpState::Connected)
            .count();
        if connected == states.len() {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(format!(
                "{connected} of {} SCTP associations established in {} s",
                states.len(),
                ASSOCIATE_TIMEOUT.as_secs()
            ));
        }
        group.turn(deadline.min(now + SEND_TICK * 10), &mut |_, _, _| Ok(()))?;
    }
}

/// The measured window, in ns since the run's epoch.
#[derive(Clone, Copy)]
struct Window {
    from_nanos: u64,
    to_nanos: u64,
}

impl Window {
    fn contains(&self, nanos: u64) -> bool {
        (self.from_nanos..self.to_nanos).contains(&nanos)
    }
}

fn since(epoch: Instant, now: Instant) -> u64 {
    now.saturating_duration_since(epoch).as_nanos() as u64
}

fn thread_id() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

#[derive(Default)]
struct SendReport {
    offered: u64,
    sent: u64,
    sent_measured: u64,
    refused: u64,
    refused_measured: u64,
}

/// Paces messages onto the sender's stream until `end`, then keeps the association running
/// (retransmissions, acknowledgements) until `until`.
fn send(
    mut group: Group,
    options: &Options,
    epoch: Instant,
    window: Window,
    end: Instant,
    until: Instant,
) -> Result<SendReport, String> {
    let stream_id = group.endpoints[0].stream_id;
    group.endpoints[0]
        .sctp
        .open_stream(stream_id, StreamReliability::default())
        .map_err(|error| error.to_string())?;
    let mut report = SendReport::default();
    let mut on_event = |_: usize, event: SctpEvent, _: Instant| match event {
        SctpEvent::StateChange(state) if state != SctpState::Connected => Err(format!(
            "the sender's SCTP association is {}",
            state.as_str()
        )),
        _ => Ok(()),
    };
    let mut message = vec![0u8; options.size];
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        if now < end {
            let due = (options.rate * now.duration_since(epoch).as_secs_f64()) as u64;
            let sender = &mut group.endpoints[0];
            while report.offered < due {
                report.offered += 1;
                let sent_at = since(epoch, Instant::now());
                message[..8].copy_from_slice(&report.sent.to_be_bytes());
                message[8..STAMP_LEN].copy_from_slice(&sent_at.to_be_bytes());
                let measured = window.contains(sent_at);
                match sender
                    .sctp
                    .send(stream_id, Ppid::Binary, &Bytes::copy_from_slice(&message))
                {
                    Ok(()) => {
                        report.sent += 1;
                        report.sent_measured += u64::from(measured);
                    }
                    Err(SctpSendError::SendBufferFull { .. }) => {
                        report.refused += 1;
                        report.refused_measured += u64::from(measured);
                    }
                    Err(error) => return Err(format!("sending: {error}")),
                }
            }
            sender.flush(now);
        }
        group.turn((now + SEND_TICK).min(until), &mut on_event)?;
    }
    Ok(report)
}

struct ReceiverCounts {
    received: u64,
    received_measured: u64,
    reordered: u64,
    next_sequence: u64,
}

struct ReceiveReport {
    per_receiver_measured: Vec<u64>,
    reordered: u64,
    unstamped: u64,
    latency: LatencyHistogram,
}

/// Counts what arrives at a group of receivers until `until`.
fn receive(
    mut group: Group,
    epoch: Instant,
    window: Window,
    until: Instant,
) -> Result<ReceiveReport, String> {
    let mut counts: Vec<ReceiverCounts> = group
        .endpoints
        .iter()
        .map(|_| ReceiverCounts {
            received: 0,
            received_measured: 0,
            reordered: 0,
            next_sequence: 0,
        })
        .collect();
    let mut latency = LatencyHistogram::default();
    let mut unstamped = 0u64;
    let mut on_event = |index: usize, event: SctpEvent, now: Instant| match event {
        SctpEvent::Message { payload, .. } => {
            let (Some(sequence), Some(sent_at)) = (
                payload
                    .get(..8)
                    .map(|b| u64::from_be_bytes(b.try_into().unwrap())),
                payload
                    .get(8..STAMP_LEN)
                    .map(|b| u64::from_be_bytes(b.try_into().unwrap())),
            ) else {
                unstamped += 1;
                return Ok(());
            };
            let count = &mut counts[index];
            count.received += 1;
            if sequence < count.next_sequence {
                count.reordered += 1;
            }
            count.next_sequence = count.next_sequence.max(sequence + 1);
            if window.contains(sent_at) {
                count.received_measured += 1;
                latency.record(since(epoch, now).saturating_sub(sent_at) / 1000);
            }
            Ok(())
        }
        SctpEvent::StateChange(state) if state != SctpState::Connected => Err(format!(
            "a receiver's SCTP association is {}",
            state.as_str()
        )),
        _ => Ok(()),
    };
    while Instant::now() < until {
        group.turn(until, &mut on_event)?;
    }
    Ok(ReceiveReport {
        per_receiver_measured: counts.iter().map(|c| c.received_measured).collect(),
        reordered: counts.iter().map(|c| c.reordered).sum(),
        unstamped,
        latency,
    })
}

fn sleep_until(deadline: Instant) {
    if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
}

/// A process or one thread of one, whose CPU time is taken.
#[derive(Debug, Clone, Copy)]
enum CpuSource {
    Process(u32),
    Thread(u32, u32),
}

impl CpuSource {
    fn ticks(self) -> Option<u64> {
        match self {
            CpuSource::Process(pid) => process::sample(pid).map(|sample| sample.cpu_ticks),
            CpuSource::Thread(pid, tid) => process::thread_cpu_ticks(pid, tid),
        }
    }
}

/// CPU seconds of each of `sources` from `from` to `to`.
fn cpu_seconds(sources: &[CpuSource], from: Instant, to: Instant) -> Vec<Option<f64>> {
    sleep_until(from);
    let first: Vec<_> = sources.iter().map(|source| source.ticks()).collect();
    sleep_until(to);
    sources
        .iter()
        .zip(first)
        .map(|(source, first)| {
            let ticks = source.ticks()?.saturating_sub(first?);
            Some(ticks as f64 / process::ticks_per_second())
        })
        .collect()
}

fn run(options: &Options) -> Result<serde_json::Value, String> {
    let read = |path: &PathBuf| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let certificate =
        DtlsCertificate::from_pem(&read(&options.certificate)?, &read(&options.private_key)?)
            .map_err(|error| error.to_string())?;
    let peers: PeersFile = serde_json::from_slice(&read(&options.peers)?)
        .map_err(|error| format!("{}: {error}", options.peers.display()))?;
    if peers.receivers.is_empty() {
        return Err("the peers file lists no receivers".into());
    }
    let started = Instant::now();
    let transports: Vec<&DataTransport> = std::iter::once(&peers.sender)
        .chain(&peers.receivers)
        .collect();
    let sockets = transports
        .iter()
        .map(|_| {
            let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            // A congestion window's burst to every receiver at once must not overflow them.
            enlarge_receive_buffer(&socket, transports.len());
            socket.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok(socket)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let links = webrtc::connect(
        &certificate,
        &webrtc::LocalCredentials::default(),
        sockets,
        transports.iter().map(|t| t.remote.clone()).collect(),
    )?;
    let dtls_seconds = started.elapsed().as_secs_f64();
    let now = Instant::now();
    let endpoints = links
        .into_iter()
        .zip(&transports)
        .map(|(link, transport)| Endpoint::new(link, transport.stream_id, now))
        .collect();
    let mut setup = Group::new(endpoints)?;
    associate(&mut setup)?;
    let setup_seconds = started.elapsed().as_secs_f64();
    let mut endpoints = setup.into_endpoints();
    let receivers = endpoints.split_off(1);

    let epoch = Instant::now();
    let window = Window {
        from_nanos: (options.warmup * 1e9) as u64,
        to_nanos: (options.seconds * 1e9) as u64,
    };
    let send_end = epoch + Duration::from_secs_f64(options.seconds);
    let until = send_end + RECEIVE_GRACE;
    let threads = options.receiver_threads.min(receivers.len());
    let mut groups: Vec<Vec<Endpoint>> = (0..threads).map(|_| Vec::new()).collect();
    for (index, endpoint) in receivers.into_iter().enumerate() {
        groups[index % threads].push(endpoint);
    }
    let (thread_ids, thread_ids_in) = mpsc::channel();
    let mut receiving = Vec::new();
    for endpoints in groups {
        let group = Group::new(endpoints)?;
        let thread_ids = thread_ids.clone();
        receiving.push(std::thread::spawn(move || {
            let _ = thread_ids.send(thread_id());
            receive(group, epoch, window, until)
        }));
    }
    let sender_group = Group::new(endpoints)?;
    let measured_from = epoch + Duration::from_secs_f64(options.warmup);
    let own = std::process::id();
    let mut watched: Vec<CpuSource> = (0..threads)
        .map(|_| thread_ids_in.recv().map(|tid| CpuSource::Thread(own, tid)))
        .collect::<Result<_, _>>()
        .map_err(|_| "a receiver thread did not start")?;
    // The sender runs on this thread; the watcher samples it, the receivers and the SFU.
    watched.insert(0, CpuSource::Thread(own, thread_id()));
    watched.extend(options.cpu_pids.iter().map(|&pid| CpuSource::Process(pid)));
    watched.extend(&options.cpu_parts);
    let watcher = std::thread::spawn(move || cpu_seconds(&watched, measured_from, send_end));
    let sent = send(sender_group, options, epoch, window, send_end, until)?;
    let mut per_receiver_measured = Vec::new();
    let mut reordered = 0;
    let mut unstamped = 0;
    let mut latency = LatencyHistogram::default();
    for thread in receiving {
        let report = thread.join().map_err(|_| "a receiver thread panicked")??;
        per_receiver_measured.extend(report.per_receiver_measured);
        reordered += report.reordered;
        unstamped += report.unstamped;
        latency.merge(&report.latency);
    }
    let cpu = watcher.join().map_err(|_| "the CPU watcher panicked")?;
    let window_seconds = options.seconds - options.warmup;
    let received_measured: u64 = per_receiver_measured.iter().sum();
    let expected = sent.sent_measured * per_receiver_measured.len() as u64;
    let percentile = |quantile| latency.percentile(quantile);
    let sum = |seconds: &[Option<f64>]| -> Option<f64> {
        (!seconds.is_empty()).then(|| seconds.iter().flatten().sum())
    };
    let sfu = &cpu[threads + 1..];
    let (sfu_cpu, sfu_part_cpu) = sfu.split_at(options.cpu_pids.len());
    let (sfu_cpu, sfu_part_cpu) = (sum(sfu_cpu), sum(sfu_part_cpu));
    Ok(serde_json::json!({
        "receivers": per_receiver_measured.len(),
        "size": options.size,
        "rate": options.rate,
        "window_seconds": window_seconds,
        "offered": sent.offered,
        "sent": sent.sent,
        "sent_measured": sent.sent_measured,
        "refused": sent.refused,
        "refused_measured": sent.refused_measured,
        "received_measured": received_measured,
        "received_per_second": received_measured as f64 / window_seconds,
        "receiver_min": per_receiver_measured.iter().min(),
        "receiver_max": per_receiver_measured.iter().max(),
        "lost": expected.saturating_sub(received_measured),
        "reordered": reordered,
        "unstamped": unstamped,
        "latency_us": {
            "p50": percentile(0.5),
            "p99": percentile(0.99),
            "p999": percentile(0.999),
            "max": (latency.count() > 0).then(|| latency.max_micros()),
            "samples": latency.count(),
        },
        "dtls_setup_seconds": dtls_seconds,
        "setup_seconds": setup_seconds,
        "sender_thread_cpu_seconds": cpu[0],
        "receiver_threads_cpu_seconds": &cpu[1..=threads],
        "cpu_seconds": sfu_cpu,
        "cpu_part_seconds": sfu_part_cpu,
        "cpu_percent": sfu_cpu.map(|seconds| 100.0 * seconds / window_seconds),
    }))
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("mediasoup-datachannel-load: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("mediasoup-datachannel-load: {error}");
            ExitCode::FAILURE
        }
    }
}
