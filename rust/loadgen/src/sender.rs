//! Paced RTP senders: one stream per target, shaped like plain data, VP8 video or opus audio,
//! each packet carrying its send time, batched with sendmmsg per outlet (the socket packets
//! leave from: one for plain RTP, one per SFU transport in WebRTC mode).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use mediasoup_core::srtp::SrtpSession;
use mediasoup_core::worker::{SendBatch, BATCH, SLOT_LEN};

use crate::options::{Options, Phases};
use mediasoup_py_loadgen::webrtc::{ConsentCheck, Link, CONSENT_INTERVAL};

pub const RTP_HEADER_LEN: usize = 12;
/// Where in the RTP payload the send time goes (8 bytes, nanoseconds since the run's epoch,
/// big-endian): past the VP8 payload descriptor and the keyframe header that follows it, so an
/// SFU rewriting the descriptor in place (picture id, TL0PICIDX) leaves it intact. The
/// receiver finds the payload after CSRCs and header extensions, which SFUs do add.
pub const SEND_TIME_OFFSET: usize = 16;
const SEND_TIME_END: usize = SEND_TIME_OFFSET + 8;
/// The pacing period: every tick sends whatever each stream is due, catching up after a late
/// tick so the offered rate holds on a busy machine.
const TICK: Duration = Duration::from_millis(1);
const VIDEO_CLOCK_RATE: f64 = 90_000.0;
/// Opus at 48 kHz, one 20 ms frame per packet.
const AUDIO_TIMESTAMP_STEP: u32 = 960;
/// VP8 payload descriptor (RFC 7741) with X=1 and I=1: a 15-bit picture id follows.
const VP8_DESCRIPTOR_EXTENDED: u8 = 0x80;
const VP8_DESCRIPTOR_START_OF_PARTITION: u8 = 0x10;
const VP8_DESCRIPTOR_PICTURE_ID_PRESENT: u8 = 0x80;
const VP8_DESCRIPTOR_LEN: usize = 4;
/// The VP8 frame tag and keyframe start code with a 640x480 size (RFC 6386 9.1): P=0 is a
/// keyframe; an interframe's tag has P=1 and no start code.
const VP8_KEYFRAME_HEADER: [u8; 10] = [0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
const VP8_INTERFRAME_TAG: u8 = 0x11;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// Same-size packets with no codec structure.
    Plain,
    /// VP8: frames of several packets, marker on the last, periodic keyframes.
    Video,
    /// Opus: one small packet per 20 ms frame.
    Audio,
}

impl Shape {
    pub fn default_payload(self) -> usize {
        match self {
            Shape::Plain | Shape::Video => 1200,
            Shape::Audio => 100,
        }
    }

    /// Room for the codec headers and the send time.
    pub fn min_payload(self) -> usize {
        SEND_TIME_END
    }
}

struct Stream {
    target: SocketAddr,
    shape: Shape,
    payload: usize,
    ssrc: u32,
    payload_type: u8,
    packets_per_second: f64,
    frame_packets: u32,
    keyframe_interval: u32,
    timestamp_step: u32,
    /// Index of the outlet the stream's packets leave from.
    outlet: usize,
    /// How far behind the run's epoch the stream's packets leave, as a share of its packet
    /// period (0 to 1).
    phase: f64,
    sent: u64,
    sequence: u16,
    timestamp: u32,
    /// Packet index within the current frame, and frames sent (video).
    frame_packet: u32,
    frame: u32,
}

impl Stream {
    /// Writes the stream's next packet into `packet`; returns its length before SRTP.
    fn write_next(&mut self, packet: &mut [u8], send_time_nanos: u64) -> usize {
        let len = RTP_HEADER_LEN + self.payload;
        packet[..len].fill(0);
        let last_of_frame = match self.shape {
            Shape::Video => self.frame_packet + 1 == self.frame_packets,
            Shape::Plain | Shape::Audio => false,
        };
        packet[0] = 0x80;
        packet[1] = self.payload_type | if last_of_frame { 0x80 } else { 0 };
        packet[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        packet[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        packet[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let payload = &mut packet[RTP_HEADER_LEN..len];
        if self.shape == Shape::Video {
            self.write_vp8_headers(payload);
        }
        payload[SEND_TIME_OFFSET..SEND_TIME_END].copy_from_slice(&send_time_nanos.to_be_bytes());

        self.sent += 1;
        self.sequence = self.sequence.wrapping_add(1);
        match self.shape {
            Shape::Plain | Shape::Audio => {
                self.timestamp = self.timestamp.wrapping_add(self.timestamp_step)
            }
            Shape::Video if last_of_frame => {
                self.frame_packet = 0;
                self.frame = self.frame.wrapping_add(1);
                self.timestamp = self.timestamp.wrapping_add(self.timestamp_step);
            }
            Shape::Video => self.frame_packet += 1,
        }
        len
    }

    fn write_vp8_headers(&self, payload: &mut [u8]) {
        let first_of_frame = self.frame_packet == 0;
        payload[0] = VP8_DESCRIPTOR_EXTENDED
            | if first_of_frame {
                VP8_DESCRIPTOR_START_OF_PARTITION
            } else {
                0
            };
        payload[1] = VP8_DESCRIPTOR_PICTURE_ID_PRESENT;
        let picture_id = 0x8000 | (self.frame & 0x7fff) as u16;
        payload[2..4].copy_from_slice(&picture_id.to_be_bytes());
        if first_of_frame {
            let header = &mut payload[VP8_DESCRIPTOR_LEN..];
            if self.frame % self.keyframe_interval == 0 {
                header[..VP8_KEYFRAME_HEADER.len()].copy_from_slice(&VP8_KEYFRAME_HEADER);
            } else {
                header[0] = VP8_INTERFRAME_TAG;
            }
        }
    }
}

/// A socket streams send from, the SRTP session that protects what leaves it and, for a
/// WebRTC transport, its consent checks.
pub struct Outlet {
    socket: UdpSocket,
    /// Where the socket's packets go (WebRTC: the SFU transport); `None` for the plain
    /// outlet, which sends to every target.
    remote: Option<SocketAddr>,
    srtp: Option<SrtpSession>,
    consent: Option<ConsentCheck>,
    batch: SendBatch,
}

impl Outlet {
    /// The one outlet of plain (S)RTP: a socket on an ephemeral port, `--srtp`'s session.
    pub fn plain(options: &Options) -> Result<Self, String> {
        let srtp = options
            .srtp
            .as_ref()
            .map(|(profile, key)| {
                let (master_key, salt) = key.split_at(profile.key_len().min(key.len()));
                SrtpSession::new(*profile, master_key, salt).map_err(|error| error.to_string())
            })
            .transpose()?;
        Ok(Outlet {
            socket: UdpSocket::bind("127.0.0.1:0").map_err(|error| error.to_string())?,
            remote: None,
            srtp,
            consent: None,
            batch: SendBatch::default(),
        })
    }

    /// A connected WebRTC transport's outlet.
    pub fn webrtc(link: Link) -> Result<Self, String> {
        Ok(Outlet {
            srtp: Some(link.protect_session()?),
            remote: Some(link.remote),
            socket: link.socket,
            consent: Some(link.consent),
            batch: SendBatch::default(),
        })
    }

    fn flush(&mut self) -> u64 {
        self.batch.flush(&self.socket)
    }
}

/// What the senders did.
pub struct SendReport {
    pub sent: u64,
    /// Packets sent after the warm-up.
    pub sent_measured: u64,
    pub send_errors: u64,
    pub elapsed: Duration,
}

/// One stream per target: the `--targets` streams shaped by `--shape`, then an opus-shaped
/// stream per audio target. SSRCs count up from each list's base. A stream leaves from the
/// outlet whose remote is its target, else from the first (the plain outlet).
fn make_streams(options: &Options, outlets: &[Outlet]) -> Vec<Stream> {
    let main_streams = options.targets.iter().enumerate().map(|(index, target)| {
        let ssrc = options.ssrc.wrapping_add(index as u32);
        let rate = options.packets_per_second;
        (
            *target,
            options.shape,
            ssrc,
            options.payload_type,
            rate,
            options.payload,
        )
    });
    let audio_streams = options
        .audio_targets
        .iter()
        .enumerate()
        .map(|(index, target)| {
            let ssrc = options.audio_ssrc.wrapping_add(index as u32);
            let rate = options.audio_packets_per_second;
            let payload = Shape::Audio.default_payload();
            (
                *target,
                Shape::Audio,
                ssrc,
                options.audio_payload_type,
                rate,
                payload,
            )
        });
    let count = options.targets.len() + options.audio_targets.len();
    main_streams
        .chain(audio_streams)
        .enumerate()
        .map(
            |(index, (target, shape, ssrc, payload_type, packets_per_second, payload))| {
                let phase = match options.phases {
                    Phases::Spread => index as f64 / count as f64,
                    Phases::Aligned => 0.0,
                };
                let outlet = outlets
                    .iter()
                    .position(|outlet| outlet.remote == Some(target))
                    .unwrap_or(0);
                let timestamp_step = match shape {
                    Shape::Audio => AUDIO_TIMESTAMP_STEP,
                    Shape::Plain => (VIDEO_CLOCK_RATE / packets_per_second).max(1.0) as u32,
                    Shape::Video => {
                        let frames_per_second =
                            packets_per_second / f64::from(options.frame_packets);
                        (VIDEO_CLOCK_RATE / frames_per_second).max(1.0) as u32
                    }
                };
                Stream {
                    target,
                    shape,
                    payload,
                    ssrc,
                    payload_type,
                    packets_per_second,
                    frame_packets: options.frame_packets,
                    keyframe_interval: options.keyframe_interval,
                    timestamp_step,
                    outlet,
                    phase,
                    sent: 0,
                    sequence: 0,
                    timestamp: 0,
                    frame_packet: 0,
                    frame: 0,
                }
            },
        )
        .collect()
}

/// Sends every stream at its rate from `epoch` for `options.seconds`, from `outlets`.
/// WebRTC outlets send a consent check every [`CONSENT_INTERVAL`]; what the SFU sends them
/// (RTCP, check responses) is left unread, for the kernel to drop.
pub fn send(
    options: &Options,
    epoch: Instant,
    mut outlets: Vec<Outlet>,
) -> Result<SendReport, String> {
    let mut streams = make_streams(options, &outlets);
    let mut packet = vec![0u8; SLOT_LEN];
    let mut next_consent = epoch + CONSENT_INTERVAL;
    let end = epoch + Duration::from_secs_f64(options.seconds);
    let measured_from = epoch + options.warmup;
    let (mut sent, mut sent_measured) = (0u64, 0u64);
    let mut next_tick = epoch;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let elapsed = now.duration_since(epoch);
        let send_time_nanos = elapsed.as_nanos() as u64;
        let measured = now >= measured_from;
        for stream in &mut streams {
            let due =
                (elapsed.as_secs_f64() * stream.packets_per_second + 1.0 - stream.phase) as u64;
            let outlet = &mut outlets[stream.outlet];
            while stream.sent < due {
                let len = stream.write_next(&mut packet, send_time_nanos);
                let len = match outlet.srtp.as_mut() {
                    Some(session) => session
                        .protect_rtp(&mut packet, len)
                        .map_err(|error| error.to_string())?,
                    None => len,
                };
                if outlet.batch.len() == BATCH {
                    sent += outlet.flush();
                }
                outlet.batch.push(stream.target, &packet[..len]);
                sent_measured += u64::from(measured);
            }
        }
        for outlet in &mut outlets {
            sent += outlet.flush();
        }
        if now >= next_consent {
            next_consent += CONSENT_INTERVAL;
            for outlet in &mut outlets {
                if let Some(consent) = outlet.consent.as_mut() {
                    consent.send(&outlet.socket);
                }
            }
        }
        next_tick += TICK;
        if let Some(wait) = next_tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    Ok(SendReport {
        sent,
        sent_measured,
        send_errors: outlets.iter().map(|outlet| outlet.batch.dropped).sum(),
        elapsed: epoch.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::parse_options;

    fn streams(arguments: &str) -> Vec<Stream> {
        let options = parse_options(arguments.split_whitespace().map(str::to_owned)).unwrap();
        make_streams(&options, &[Outlet::plain(&options).unwrap()])
    }

    #[test]
    fn video_frames_mark_their_last_packet_and_start_with_a_keyframe() {
        let mut streams = streams("--targets 127.0.0.1:5000 --shape video --frame-packets 3 --pps 90 --keyframe-interval 2");
        let stream = &mut streams[0];
        let mut packet = vec![0u8; SLOT_LEN];
        let mut headers = Vec::new();
        for _ in 0..6 {
            let len = stream.write_next(&mut packet, 7);
            assert_eq!(len, RTP_HEADER_LEN + 1200);
            let payload = &packet[RTP_HEADER_LEN..len];
            let send_time = u64::from_be_bytes(payload[16..24].try_into().unwrap());
            assert_eq!(send_time, 7);
            let timestamp = u32::from_be_bytes(packet[4..8].try_into().unwrap());
            headers.push((packet[1] & 0x80 != 0, payload[0], payload[4], timestamp));
        }
        // 30 frames/s: 3000 ticks of the 90 kHz clock per frame.
        assert_eq!(
            headers,
            [
                (false, 0x90, 0x10, 0),
                (false, 0x80, 0x00, 0),
                (true, 0x80, 0x00, 0),
                (false, 0x90, VP8_INTERFRAME_TAG, 3000),
                (false, 0x80, 0x00, 3000),
                (true, 0x80, 0x00, 3000),
            ]
        );
    }

    #[test]
    fn audio_streams_follow_the_video_streams_with_their_own_ssrcs() {
        let streams = streams(
            "--targets 127.0.0.1:5000,127.0.0.1:5001 --shape video --audio-targets 127.0.0.1:5000 \
             --ssrc 100 --audio-ssrc 200 --audio-pt 111",
        );
        let described: Vec<_> = streams
            .iter()
            .map(|stream| {
                (
                    stream.shape,
                    stream.ssrc,
                    stream.payload_type,
                    stream.payload,
                )
            })
            .collect();
        assert_eq!(
            described,
            [
                (Shape::Video, 100, 96, 1200),
                (Shape::Video, 101, 96, 1200),
                (Shape::Audio, 200, 111, 100)
            ]
        );
    }

    #[test]
    fn streams_are_spread_over_their_period_unless_aligned() {
        let phases = |arguments: &str| -> Vec<f64> {
            streams(arguments)
                .iter()
                .map(|stream| stream.phase)
                .collect()
        };
        let targets =
            "--targets 127.0.0.1:5000,127.0.0.1:5001 --audio-targets 127.0.0.1:5000,127.0.0.1:5001";
        assert_eq!(phases(targets), [0.0, 0.25, 0.5, 0.75]);
        assert_eq!(phases(&format!("{targets} --phases aligned")), [0.0; 4]);
    }
}
