//! mediasoup-udp-ceiling: what this machine's kernel can move per core over loopback UDP,
//! with the system calls the worker uses, so that forwarding figures can be held against the
//! physical ceiling. Each measurement runs for `--seconds` (default 1) and reports datagrams
//! per second of the measuring thread's own CPU time (getrusage(RUSAGE_THREAD)), while
//! another thread drains or feeds the sockets:
//!
//! - `sendmmsg`: batches of 32 datagrams of 1200 bytes, round-robin to 10 destinations (the
//!   fan-out case where no two neighbours share a destination);
//! - `sendmmsg_gso`: the worker's egress with UDP GSO: 32 datagrams to each of 10
//!   destinations per flush, each destination's run one GSO message;
//! - `recvmmsg`: batches of up to 32 from one socket that another thread floods.
//!
//! Prints one JSON line: {"<measurement>": {"datagrams": N, "cpu_seconds": S,
//! "datagrams_per_cpu_second": R}, ...}. Loopback only; every loop is bounded in time.
//!
//! Usage: mediasoup-udp-ceiling [--seconds 1]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediasoup_core::worker::{recv_batch, EgressQueue, RecvBatch, SendBatch, BATCH};

const DATAGRAM_LEN: usize = 1200;
const DESTINATIONS: usize = 10;
const MAX_SECONDS: f64 = 10.0;
/// How long a draining thread waits for more before it looks at its stop flag.
const DRAIN_WAKE: Duration = Duration::from_millis(50);

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: rusage is plain data; getrusage fills it for the calling thread.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        usage
    };
    let micros = |time: libc::timeval| time.tv_sec as u64 * 1_000_000 + time.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

struct Measurement {
    name: &'static str,
    datagrams: u64,
    cpu: Duration,
}

/// Sockets on 127.0.0.1 that a thread drains until dropped, so that sends go the whole way.
struct Sinks {
    addresses: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    drainer: Option<std::thread::JoinHandle<()>>,
}

impl Sinks {
    fn new(count: usize) -> std::io::Result<Self> {
        let sockets = (0..count)
            .map(|_| {
                let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
                socket.set_read_timeout(Some(DRAIN_WAKE))?;
                Ok(socket)
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let addresses = sockets
            .iter()
            .map(UdpSocket::local_addr)
            .collect::<std::io::Result<Vec<_>>>()?;
        for socket in &sockets {
            socket.set_nonblocking(true)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let drainer = std::thread::spawn(move || {
            let mut batch = RecvBatch::default();
            while !stopping.load(Ordering::Relaxed) {
                let mut idle = true;
                for socket in &sockets {
                    while recv_batch(socket, &mut batch).unwrap_or(0) > 0 {
                        idle = false;
                    }
                }
                if idle {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        });
        Ok(Sinks {
            addresses,
            stop,
            drainer: Some(drainer),
        })
    }
}

impl Drop for Sinks {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(drainer) = self.drainer.take() {
            let _ = drainer.join();
        }
    }
}

/// Runs `step` (which reports datagrams moved) until `seconds` pass.
fn measure(name: &'static str, seconds: f64, mut step: impl FnMut() -> u64) -> Measurement {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let cpu_before = thread_cpu();
    let mut datagrams = 0;
    while Instant::now() < end {
        datagrams += step();
    }
    Measurement {
        name,
        datagrams,
        cpu: thread_cpu() - cpu_before,
    }
}

fn sendmmsg_round_robin(seconds: f64) -> std::io::Result<Measurement> {
    let sinks = Sinks::new(DESTINATIONS)?;
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let datagram = [0x80u8; DATAGRAM_LEN];
    let mut batch = SendBatch::default();
    Ok(measure("sendmmsg", seconds, || {
        for index in 0..BATCH {
            batch.push(sinks.addresses[index % DESTINATIONS], &datagram);
        }
        batch.flush(&socket)
    }))
}

fn sendmmsg_gso(seconds: f64) -> std::io::Result<Measurement> {
    let sinks = Sinks::new(DESTINATIONS)?;
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let datagram = [0x80u8; DATAGRAM_LEN];
    // System calls, as the measurement says (the worker's egress sends through an io_uring
    // where the kernel allows it).
    let mut egress = EgressQueue::with_system_calls();
    Ok(measure("sendmmsg_gso", seconds, || {
        for destination in &sinks.addresses {
            for _ in 0..BATCH {
                egress.push(socket.as_raw_fd(), *destination, &datagram);
            }
        }
        egress.flush()
    }))
}

fn recvmmsg_flooded(seconds: f64) -> std::io::Result<Measurement> {
    let receiver = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    receiver.set_nonblocking(true)?;
    let target = receiver.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let flooder = std::thread::spawn(move || -> std::io::Result<()> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        let datagram = [0x80u8; DATAGRAM_LEN];
        let mut batch = SendBatch::default();
        while !stopping.load(Ordering::Relaxed) {
            for _ in 0..BATCH {
                batch.push(target, &datagram);
            }
            batch.flush(&socket);
        }
        Ok(())
    });
    let mut batch = RecvBatch::default();
    let measurement = measure("recvmmsg", seconds, || {
        let received = recv_batch(&receiver, &mut batch).unwrap_or(0);
        if received == 0 {
            // Caught up with the flooder: wait in the kernel rather than spin.
            let mut poll = libc::pollfd {
                fd: receiver.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            unsafe { libc::poll(&mut poll, 1, DRAIN_WAKE.as_millis() as libc::c_int) };
        }
        received as u64
    });
    stop.store(true, Ordering::Relaxed);
    flooder
        .join()
        .map_err(|_| std::io::Error::other("the flooding thread panicked"))??;
    Ok(measurement)
}

fn parse_seconds() -> Result<f64, String> {
    let mut seconds = 1.0;
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => {
                seconds = value
                    .parse::<f64>()
                    .map_err(|_| format!("bad --seconds {value}"))?
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(seconds.clamp(0.1, MAX_SECONDS))
}

fn main() -> ExitCode {
    let seconds = match parse_seconds() {
        Ok(seconds) => seconds,
        Err(error) => {
            eprintln!("{error}\nusage: mediasoup-udp-ceiling [--seconds 1]");
            return ExitCode::from(2);
        }
    };
    let measured = [
        sendmmsg_round_robin(seconds),
        sendmmsg_gso(seconds),
        recvmmsg_flooded(seconds),
    ];
    let mut fields = Vec::new();
    for measurement in measured {
        match measurement {
            Ok(Measurement {
                name,
                datagrams,
                cpu,
            }) => {
                let cpu_seconds = cpu.as_secs_f64();
                let rate = if cpu_seconds > 0.0 {
                    datagrams as f64 / cpu_seconds
                } else {
                    0.0
                };
                fields.push(format!(
                    "\"{name}\": {{\"datagrams\": {datagrams}, \"cpu_seconds\": {cpu_seconds:.3}, \
                     \"datagrams_per_cpu_second\": {rate:.0}}}"
                ));
            }
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("{{{}}}", fields.join(", "));
    ExitCode::SUCCESS
}
