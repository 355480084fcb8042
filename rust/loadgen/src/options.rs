//! Command-line options.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mediasoup_core::srtp::SrtpProfile;
use mediasoup_core::worker::SLOT_LEN;

use crate::sender::{Shape, RTP_HEADER_LEN};
use mediasoup_py_loadgen::parse_hex;
use mediasoup_py_loadgen::webrtc::{RemoteTransport, WebRtcConfig};

/// Longest run allowed, whatever the arguments say.
const MAX_SECONDS: f64 = 600.0;
/// Most packets per second all streams together may offer: far above what one core forwards,
/// low enough that a typo cannot flood the machine.
const MAX_TOTAL_PPS: f64 = 2_000_000.0;
/// Most receive ports: a fan-out of 500 or a conference of 25 fits with room.
const MAX_RECEIVE_PORTS: usize = 4096;
/// SRTP's longest authentication tag, which protect appends.
const SRTP_TAG_ROOM: usize = 16;

pub const USAGE: &str = "\
usage: mediasoup-loadgen --targets HOST:PORT[,...] [--pps N] [--seconds S]
         [--shape plain|video|audio] [--payload BYTES] [--ssrc N] [--pt N]
         [--frame-packets N] [--keyframe-interval FRAMES]
         [--audio-targets HOST:PORT[,...]] [--audio-pps N] [--audio-ssrc N] [--audio-pt N]
         [--srtp PROFILE:HEX_KEY_AND_SALT]
         [--webrtc-cert PEM --webrtc-key PEM --webrtc-peers JSON [--webrtc-ufrag UFRAG]
          [--webrtc-ice-pwd PASSWORD] [--webrtc-receivers stdin]]
         [--sink HOST:PORT | --recv-base PORT --recv-count N] [--warmup S]
         [--cpu-pid PID] [--phases spread|aligned]
       mediasoup-loadgen --make-cert DIR

--phases spread (the default) starts stream i of n i/n of a packet period late, as
independent senders are; aligned sends every stream's packets on the same beat.

--webrtc-peers names a JSON file {\"senders\": [TRANSPORT], \"receivers\": [TRANSPORT + \"port\"]}
where TRANSPORT is {\"address\": \"HOST:PORT\", \"usernameFragment\", \"password\",
\"fingerprint\": {\"algorithm\", \"value\"}}: the SFU's WebRtcTransport that each target
address is, and the one that sends to each receive port. --webrtc-ufrag is our half of the
ICE USERNAME (default loadgen) and --webrtc-ice-pwd our password, for an SFU that was given
them in SDP: with a password, the SFU's own checks are answered while connecting (Janus's
libnice checks back even as ICE-lite). --webrtc-receivers stdin:
the receivers are not in the file but come as one line {\"receivers\": [...]} on standard
input, read once the senders are connected (Janus takes subscribers only to a publisher whose
PeerConnection is up). --make-cert writes DIR/cert.pem and DIR/key.pem and prints their
sha-256 fingerprint.";

pub struct Options {
    /// Streams shaped by `shape`, one per target, at `packets_per_second` each.
    pub targets: Vec<SocketAddr>,
    pub shape: Shape,
    pub packets_per_second: f64,
    pub payload: usize,
    pub ssrc: u32,
    pub payload_type: u8,
    pub frame_packets: u32,
    pub keyframe_interval: u32,
    /// Opus-shaped streams, one per audio target, besides the `targets` streams.
    pub audio_targets: Vec<SocketAddr>,
    pub audio_packets_per_second: f64,
    pub audio_ssrc: u32,
    pub audio_payload_type: u8,
    pub seconds: f64,
    pub srtp: Option<(SrtpProfile, Vec<u8>)>,
    /// WebRTC mode: every target and receive port is a WebRtcTransport of the SFU.
    pub webrtc: Option<WebRtcConfig>,
    /// Where forwarded packets arrive: one socket each.
    pub receive_ports: Vec<SocketAddr>,
    pub warmup: Duration,
    pub cpu_pid: Option<u32>,
    pub phases: Phases,
}

/// When each stream's packets leave within its packet period.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phases {
    /// Stream i of n lags i/n of a period: independent senders (the speakers of a room) are
    /// not in step, so an SFU mostly receives their packets one at a time.
    Spread,
    /// Every stream on the same beat: the SFU receives one packet of every stream at once.
    Aligned,
}

fn parse_addresses(value: &str) -> Result<Vec<SocketAddr>, String> {
    value
        .split(',')
        .map(|address| {
            address
                .parse()
                .map_err(|_| format!("bad address {address}"))
        })
        .collect()
}

fn parse<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("bad {flag} {value}"))
}

pub fn parse_options(mut arguments: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        targets: Vec::new(),
        shape: Shape::Plain,
        packets_per_second: 100.0,
        payload: 0,
        ssrc: 0x1000_0000,
        payload_type: 96,
        frame_packets: 8,
        keyframe_interval: 300,
        audio_targets: Vec::new(),
        audio_packets_per_second: 50.0,
        audio_ssrc: 0x2000_0000,
        audio_payload_type: 100,
        seconds: 5.0,
        srtp: None,
        webrtc: None,
        receive_ports: Vec::new(),
        warmup: Duration::ZERO,
        cpu_pid: None,
        phases: Phases::Spread,
    };
    let mut payload = None;
    let mut receive_base: Option<SocketAddr> = None;
    let mut receive_count = 0usize;
    let (mut webrtc_certificate, mut webrtc_key, mut webrtc_peers) = (None, None, None);
    let mut webrtc_username_fragment = None;
    let mut webrtc_password = None;
    let mut webrtc_receivers_later = false;
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--targets" => options.targets = parse_addresses(&value)?,
            "--shape" => {
                options.shape = match value.as_str() {
                    "plain" => Shape::Plain,
                    "video" => Shape::Video,
                    "audio" => Shape::Audio,
                    other => return Err(format!("unknown --shape {other}")),
                }
            }
            "--pps" => options.packets_per_second = parse(&flag, &value)?,
            "--payload" => payload = Some(parse(&flag, &value)?),
            "--ssrc" => options.ssrc = parse(&flag, &value)?,
            "--pt" => options.payload_type = parse(&flag, &value)?,
            "--frame-packets" => options.frame_packets = parse(&flag, &value)?,
            "--keyframe-interval" => options.keyframe_interval = parse(&flag, &value)?,
            "--audio-targets" => options.audio_targets = parse_addresses(&value)?,
            "--audio-pps" => options.audio_packets_per_second = parse(&flag, &value)?,
            "--audio-ssrc" => options.audio_ssrc = parse(&flag, &value)?,
            "--audio-pt" => options.audio_payload_type = parse(&flag, &value)?,
            "--seconds" => options.seconds = parse(&flag, &value)?,
            "--warmup" => {
                options.warmup = Duration::try_from_secs_f64(parse(&flag, &value)?)
                    .map_err(|_| "bad --warmup")?;
            }
            "--srtp" => {
                let (name, key) = value.split_once(':').ok_or("--srtp is PROFILE:HEX")?;
                let profile = SrtpProfile::from_name(name).map_err(|error| error.to_string())?;
                let key = parse_hex(key).ok_or("--srtp key is not hex")?;
                options.srtp = Some((profile, key));
            }
            "--webrtc-cert" => webrtc_certificate = Some(PathBuf::from(value)),
            "--webrtc-key" => webrtc_key = Some(PathBuf::from(value)),
            "--webrtc-peers" => webrtc_peers = Some(PathBuf::from(value)),
            "--webrtc-ufrag" => webrtc_username_fragment = Some(value),
            "--webrtc-ice-pwd" => webrtc_password = Some(value),
            "--webrtc-receivers" => {
                if value != "stdin" {
                    return Err(format!("bad --webrtc-receivers {value}: only stdin"));
                }
                webrtc_receivers_later = true;
            }
            "--sink" => options.receive_ports = vec![parse(&flag, &value)?],
            "--recv-base" => {
                // A bare port number is a port on loopback.
                let port: u16 = parse(&flag, &value)?;
                receive_base = Some(SocketAddr::from(([127, 0, 0, 1], port)));
            }
            "--recv-count" => receive_count = parse(&flag, &value)?,
            "--cpu-pid" => options.cpu_pid = Some(parse(&flag, &value)?),
            "--phases" => {
                options.phases = match value.as_str() {
                    "spread" => Phases::Spread,
                    "aligned" => Phases::Aligned,
                    _ => return Err(format!("bad --phases {value}: spread or aligned")),
                }
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if let Some(base) = receive_base {
        if receive_count == 0 || receive_count > MAX_RECEIVE_PORTS {
            return Err(format!("--recv-count must be 1 to {MAX_RECEIVE_PORTS}"));
        }
        if usize::from(base.port()) + receive_count > usize::from(u16::MAX) + 1 {
            return Err("--recv-base + --recv-count passes port 65535".into());
        }
        options.receive_ports = (0..receive_count)
            .map(|index| SocketAddr::new(base.ip(), base.port() + index as u16))
            .collect();
    }
    if options.targets.is_empty() && options.audio_targets.is_empty() {
        return Err("--targets or --audio-targets is required".into());
    }
    if !(0.0..=MAX_SECONDS).contains(&options.seconds) {
        return Err(format!("--seconds must be 0 to {MAX_SECONDS}"));
    }
    if options.warmup.as_secs_f64() >= options.seconds.max(f64::MIN_POSITIVE) {
        return Err("--warmup must be shorter than --seconds".into());
    }
    let total_pps = options.packets_per_second * options.targets.len() as f64
        + options.audio_packets_per_second * options.audio_targets.len() as f64;
    if options.packets_per_second <= 0.0
        || options.audio_packets_per_second <= 0.0
        || total_pps > MAX_TOTAL_PPS
    {
        return Err(format!(
            "packet rates must be positive and at most {MAX_TOTAL_PPS} in all"
        ));
    }
    if options.frame_packets == 0 || options.keyframe_interval == 0 {
        return Err("--frame-packets and --keyframe-interval must be at least 1".into());
    }
    options.payload = payload.unwrap_or(options.shape.default_payload());
    if options.payload < options.shape.min_payload()
        || options.payload + RTP_HEADER_LEN + SRTP_TAG_ROOM > SLOT_LEN
    {
        return Err(format!(
            "--payload must be {} to {} bytes for this shape",
            options.shape.min_payload(),
            SLOT_LEN - RTP_HEADER_LEN - SRTP_TAG_ROOM
        ));
    }
    let webrtc_extras =
        webrtc_username_fragment.is_some() || webrtc_password.is_some() || webrtc_receivers_later;
    match (webrtc_certificate, webrtc_key, webrtc_peers) {
        (None, None, None) => {}
        (Some(certificate), Some(key), Some(peers)) => {
            let mut config = WebRtcConfig::load(&certificate, &key, &peers)?;
            if let Some(fragment) = webrtc_username_fragment {
                config.local.username_fragment = fragment;
            }
            config.local.password = webrtc_password;
            config.receivers_later = webrtc_receivers_later;
            check_webrtc_config(&options, &config)?;
            options.webrtc = Some(config);
        }
        _ => return Err("--webrtc-cert, --webrtc-key and --webrtc-peers go together".into()),
    }
    if options.webrtc.is_none() && webrtc_extras {
        return Err(
            "--webrtc-ufrag, --webrtc-ice-pwd and --webrtc-receivers need --webrtc-peers".into(),
        );
    }
    Ok(options)
}

/// Every target must be a sending transport of the peers file and every receive port a
/// receiving one; DTLS makes the SRTP keys.
fn check_webrtc_config(options: &Options, config: &WebRtcConfig) -> Result<(), String> {
    if options.srtp.is_some() {
        return Err("--srtp is for plain RTP; WebRTC mode keys SRTP with DTLS".into());
    }
    let targets = options.targets.iter().chain(&options.audio_targets);
    if let Some(target) = targets
        .into_iter()
        .find(|t| !config.senders.contains_key(t))
    {
        return Err(format!("--webrtc-peers has no sender for {target}"));
    }
    if !config.receivers_later {
        check_receivers(&options.receive_ports, &config.receivers)?;
    }
    Ok(())
}

/// Every receive port must be a receiving transport's.
pub fn check_receivers(
    ports: &[SocketAddr],
    receivers: &HashMap<u16, RemoteTransport>,
) -> Result<(), String> {
    match ports.iter().find(|p| !receivers.contains_key(&p.port())) {
        Some(port) => Err(format!("no WebRTC receiver for port {}", port.port())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(arguments: &str) -> Result<Options, String> {
        parse_options(arguments.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn receive_ports_are_consecutive_on_loopback() {
        let parsed = options("--targets 127.0.0.1:5000 --recv-base 41000 --recv-count 3").unwrap();
        let ports: Vec<u16> = parsed.receive_ports.iter().map(|a| a.port()).collect();
        assert_eq!(ports, [41000, 41001, 41002]);
        assert!(parsed.receive_ports[0].ip().is_loopback());
    }

    #[test]
    fn each_shape_has_its_own_payload_size() {
        let audio = options("--targets 127.0.0.1:5000 --shape audio").unwrap();
        assert_eq!(audio.payload, 100);
        let video = options("--targets 127.0.0.1:5000 --shape video --payload 900").unwrap();
        assert_eq!(video.payload, 900);
    }

    #[test]
    fn webrtc_credentials_and_late_receivers_need_webrtc_mode() {
        assert!(options("--targets 127.0.0.1:5000 --webrtc-ufrag abcd").is_err());
        assert!(options("--targets 127.0.0.1:5000 --webrtc-ice-pwd secret").is_err());
        assert!(options("--targets 127.0.0.1:5000 --webrtc-receivers stdin").is_err());
        let error = options("--targets 127.0.0.1:5000 --webrtc-receivers peers.json");
        assert!(error.is_err_and(|error| error.contains("only stdin")));
    }

    #[test]
    fn runs_are_bounded() {
        assert!(options("--targets 127.0.0.1:5000 --seconds 601").is_err());
        assert!(options("--targets 127.0.0.1:5000 --pps 3000000").is_err());
        assert!(options("--targets 127.0.0.1:5000 --seconds 2 --warmup 2").is_err());
        assert!(options("--pps 10").is_err());
    }
}
