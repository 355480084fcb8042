//! Encoded frames for Python: a stream's frame assembler fed the RTP and RTCP a
//! DirectTransport consumer hands over, and a packetizer that turns frames into RTP packets
//! and sender reports for a DirectTransport producer. All parsing, reassembly and
//! packetization happen here, in `mediasoup_core::rtc::frames`.

use std::time::{Duration, Instant};

use mediasoup_core::packet::codecs::PayloadCodec;
use mediasoup_core::packet::rtcp::{parse_compound, RtcpPacket, SenderReport};
use mediasoup_core::packet::rtp::{RtpHeader, RtpPacket};
use mediasoup_core::rtc::frames::assembler::{AssemblerConfig, FrameAssembler};
use mediasoup_core::rtc::frames::capture_clock::CaptureClock;
use mediasoup_core::rtc::frames::packetizer::FramePacketizer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::errors::type_error;

fn codec_of(mime_type: &str) -> PyResult<PayloadCodec> {
    PayloadCodec::from_mime_type(mime_type).ok_or_else(|| {
        type_error(
            "mime_type",
            format!("{mime_type} has no frame format here (opus, VP8, VP9, H264, AV1)"),
        )
    })
}

/// Seconds of the caller's monotonic clock (asyncio's `loop.time()`) as `Instant`s.
#[derive(Debug, Clone, Copy)]
struct Clock {
    origin: Instant,
    origin_seconds: f64,
}

impl Clock {
    fn new(now: f64) -> Self {
        Clock {
            origin: Instant::now(),
            origin_seconds: now,
        }
    }

    fn instant(&self, seconds: f64) -> Instant {
        self.origin + Duration::from_secs_f64((seconds - self.origin_seconds).max(0.0))
    }

    fn seconds(&self, instant: Instant) -> f64 {
        self.origin_seconds + instant.saturating_duration_since(self.origin).as_secs_f64()
    }
}

/// One stream's frames from its RTP packets (`push_rtp`), with capture times from its
/// sender reports (`push_rtcp`).
#[derive(Debug)]
#[pyclass(module = "mediasoup_py._core", name = "FrameAssembler")]
pub struct PyFrameAssembler {
    assembler: FrameAssembler,
    capture_clock: CaptureClock,
    ssrc: u32,
    clock: Option<Clock>,
    packets_malformed: u64,
    packets_other_ssrc: u64,
}

#[pymethods]
impl PyFrameAssembler {
    /// An assembler for the stream `ssrc` of `mime_type` at `clock_rate` Hz; a hole is
    /// waited for at most `max_reorder_delay` seconds.
    #[new]
    #[pyo3(signature = (mime_type, clock_rate, ssrc, max_reorder_delay = 0.15))]
    fn new(mime_type: &str, clock_rate: u32, ssrc: u32, max_reorder_delay: f64) -> PyResult<Self> {
        if !(0.0..=10.0).contains(&max_reorder_delay) {
            return Err(type_error("max_reorder_delay", "must be 0..=10 seconds"));
        }
        let config = AssemblerConfig {
            max_reorder_delay: Duration::from_secs_f64(max_reorder_delay),
            ..AssemblerConfig::default()
        };
        Ok(PyFrameAssembler {
            assembler: FrameAssembler::new(codec_of(mime_type)?, config),
            capture_clock: CaptureClock::new(clock_rate),
            ssrc,
            clock: None,
            packets_malformed: 0,
            packets_other_ssrc: 0,
        })
    }

    /// Takes one RTP packet received at `now` (seconds of the caller's monotonic clock).
    fn push_rtp(&mut self, packet: &[u8], now: f64) {
        let Ok(packet) = RtpPacket::parse(packet) else {
            self.packets_malformed += 1;
            return;
        };
        if packet.ssrc() != self.ssrc {
            self.packets_other_ssrc += 1;
            return;
        }
        let clock = *self.clock.get_or_insert_with(|| Clock::new(now));
        self.assembler.push_packet(
            packet.sequence_number(),
            packet.timestamp(),
            packet.marker(),
            packet.payload(),
            clock.instant(now),
        );
    }

    /// Takes an RTCP compound: the stream's sender reports set its capture clock.
    fn push_rtcp(&mut self, packet: &[u8]) {
        let Ok(packets) = parse_compound(packet) else {
            self.packets_malformed += 1;
            return;
        };
        for packet in packets {
            if let RtcpPacket::SenderReport(report) = packet {
                if report.ssrc == self.ssrc {
                    let ntp =
                        (u64::from(report.ntp_seconds) << 32) | u64::from(report.ntp_fraction);
                    self.capture_clock
                        .on_sender_report(ntp, report.rtp_timestamp);
                }
            }
        }
    }

    /// The frames assembled so far: tuples of (data, RTP timestamp, keyframe, spatial
    /// layer, temporal layer, capture time in Unix seconds or None before a sender report).
    fn poll_frames<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        while let Some(frame) = self.assembler.poll_frame() {
            let capture_time = self.capture_clock.capture_time(frame.rtp_timestamp);
            let item = PyTuple::new(
                py,
                [
                    PyBytes::new(py, &frame.data).into_any(),
                    frame.rtp_timestamp.into_pyobject(py)?.into_any(),
                    pyo3::types::PyBool::new(py, frame.info.is_keyframe)
                        .to_owned()
                        .into_any(),
                    frame.info.spatial_layer.into_pyobject(py)?.into_any(),
                    frame.info.temporal_layer.into_pyobject(py)?.into_any(),
                    capture_time.into_pyobject(py)?.into_any(),
                ],
            )?;
            list.append(item)?;
        }
        Ok(list)
    }

    /// Whether a keyframe should be asked for now (once per request).
    fn poll_keyframe_request(&mut self) -> bool {
        self.assembler.poll_keyframe_request()
    }

    /// When `handle_timeout` wants to be called (the caller's clock), or None.
    fn timeout(&self) -> Option<f64> {
        let clock = self.clock?;
        self.assembler.poll_timeout().map(|at| clock.seconds(at))
    }

    /// Gives up holes waited for long enough, repeats keyframe requests.
    fn handle_timeout(&mut self, now: f64) {
        if let Some(clock) = self.clock {
            self.assembler.handle_timeout(clock.instant(now));
        }
    }

    /// What the assembler counted.
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let counters = self.assembler.counters();
        let dict = PyDict::new(py);
        dict.set_item("frames", counters.frames)?;
        dict.set_item("framesLost", counters.frames_lost)?;
        dict.set_item(
            "framesWaitingForKeyframe",
            counters.frames_waiting_for_keyframe,
        )?;
        dict.set_item("framesMalformed", counters.frames_malformed)?;
        dict.set_item("packetsLate", counters.packets_late)?;
        dict.set_item("packetsMalformed", self.packets_malformed)?;
        dict.set_item("packetsOtherSsrc", self.packets_other_ssrc)?;
        dict.set_item("keyframeRequests", counters.keyframe_requests)?;
        Ok(dict)
    }
}

/// Frames into RTP packets of one stream (`packetize`), and its sender reports.
#[derive(Debug)]
#[pyclass(module = "mediasoup_py._core", name = "FramePacketizer")]
pub struct PyFramePacketizer {
    packetizer: FramePacketizer,
    payload_type: u8,
    ssrc: u32,
    next_sequence_number: u16,
    packets_sent: u32,
    octets_sent: u32,
}

#[pymethods]
impl PyFramePacketizer {
    /// A packetizer for `mime_type` frames sent as `payload_type` on `ssrc`, payloads of at
    /// most `max_payload_size` bytes, numbering from `first_sequence_number`.
    #[new]
    #[pyo3(signature = (mime_type, payload_type, ssrc, first_sequence_number, max_payload_size = 1100))]
    fn new(
        mime_type: &str,
        payload_type: u8,
        ssrc: u32,
        first_sequence_number: u16,
        max_payload_size: usize,
    ) -> PyResult<Self> {
        if payload_type > 127 {
            return Err(type_error("payload_type", "must be 0..=127"));
        }
        Ok(PyFramePacketizer {
            packetizer: FramePacketizer::new(
                codec_of(mime_type)?,
                max_payload_size,
                first_sequence_number,
            ),
            payload_type,
            ssrc,
            next_sequence_number: first_sequence_number,
            packets_sent: 0,
            octets_sent: 0,
        })
    }

    /// The RTP packets of one frame with this RTP timestamp (the marker bit on the last).
    fn packetize<'py>(
        &mut self,
        py: Python<'py>,
        frame: &[u8],
        timestamp: u32,
        keyframe: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut payloads = Vec::new();
        self.packetizer
            .packetize(frame, keyframe, &mut payloads)
            .map_err(|error| type_error("data", error.to_string()))?;
        let list = PyList::empty(py);
        let count = payloads.len();
        let mut packet = Vec::new();
        for (index, payload) in payloads.iter().enumerate() {
            let header = RtpHeader {
                marker: index + 1 == count,
                payload_type: self.payload_type,
                sequence_number: self.next_sequence_number,
                timestamp,
                ssrc: self.ssrc,
                ..RtpHeader::default()
            };
            packet.clear();
            header
                .write_into(payload, &mut packet)
                .map_err(|error| type_error("data", error.to_string()))?;
            self.next_sequence_number = self.next_sequence_number.wrapping_add(1);
            self.packets_sent = self.packets_sent.wrapping_add(1);
            self.octets_sent = self.octets_sent.wrapping_add(payload.len() as u32);
            list.append(PyBytes::new(py, &packet))?;
        }
        Ok(list)
    }

    /// A sender report pairing `unix_time` (seconds) with `rtp_timestamp`, with the
    /// packets and payload octets sent so far.
    fn sender_report<'py>(
        &self,
        py: Python<'py>,
        unix_time: f64,
        rtp_timestamp: u32,
    ) -> PyResult<Bound<'py, PyBytes>> {
        // NTP counts seconds from 1900 (RFC 5905); Unix time from 1970.
        let ntp = unix_time.max(0.0) + 2_208_988_800.0;
        let report = SenderReport {
            ssrc: self.ssrc,
            ntp_seconds: ntp.trunc() as u32,
            ntp_fraction: (ntp.fract() * 4_294_967_296.0) as u32,
            rtp_timestamp,
            packet_count: self.packets_sent,
            octet_count: self.octets_sent,
            reports: Vec::new(),
        };
        let mut out = Vec::new();
        RtcpPacket::SenderReport(report)
            .write(&mut out)
            .map_err(|error| type_error("sender report", error.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }
}
