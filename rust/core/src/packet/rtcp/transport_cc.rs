//! Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
//! extensions-01 §3.1, RTPFB 15): which transport-wide sequence numbers arrived, and when.

use super::feedback::{read_ssrcs, write_feedback_header, FMT_TRANSPORT_CC};
use super::header::{packet_type, padding_to_word, BodyReader};
use super::RtcpError;

/// Receive deltas are in units of 250 µs.
pub const DELTA_TICK_US: i64 = 250;
/// The reference time is in units of 64 ms.
pub const REFERENCE_TIME_TICK_US: i64 = 64_000;
/// Most packets one feedback may describe here: bounds the state a malformed packet can
/// make us allocate (a 2-byte run-length chunk can claim 8191 packets).
pub const MAX_PACKET_STATUS_COUNT: usize = 16_384;

const REFERENCE_TIME_MIN: i32 = -(1 << 23);
const REFERENCE_TIME_MAX: i32 = (1 << 23) - 1;
const MAX_RUN_LENGTH: usize = (1 << 13) - 1;
const TWO_BIT_SYMBOLS_PER_CHUNK: usize = 7;

/// What the feedback says about one transport-wide sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TransportCcPacket {
    /// The transport-wide sequence number.
    pub sequence: u16,
    /// `None` if not received; else the arrival time minus the previous received packet's
    /// (or the reference time, for the first), in 250 µs ticks.
    pub receive_delta: Option<i16>,
}

/// A transport-cc feedback message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TransportCc {
    /// Who sends the feedback.
    pub sender_ssrc: u32,
    /// The media source (unused by the algorithm; kept as received).
    pub media_ssrc: u32,
    /// The first sequence number described.
    pub base_sequence: u16,
    /// Arrival time base, in 64 ms ticks (24-bit signed).
    pub reference_time: i32,
    /// Feedback packet counter, to detect lost feedback.
    pub feedback_count: u8,
    /// One entry per sequence number from `base_sequence`, in order.
    pub packets: Vec<TransportCcPacket>,
}

/// Packet status symbols (§3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    NotReceived,
    SmallDelta,
    LargeDelta,
}

impl Status {
    fn from_bits(bits: u16) -> Result<Self, RtcpError> {
        match bits {
            0 => Ok(Status::NotReceived),
            1 => Ok(Status::SmallDelta),
            2 => Ok(Status::LargeDelta),
            _ => Err(RtcpError::MalformedTransportCc("reserved status symbol 3")),
        }
    }

    fn bits(self) -> u16 {
        match self {
            Status::NotReceived => 0,
            Status::SmallDelta => 1,
            Status::LargeDelta => 2,
        }
    }

    fn of(delta: Option<i16>) -> Self {
        match delta {
            None => Status::NotReceived,
            Some(0..=255) => Status::SmallDelta,
            Some(_) => Status::LargeDelta,
        }
    }
}

impl TransportCc {
    /// The arrival time in µs of each received packet (`None` for lost ones), on the
    /// feedback sender's clock.
    pub fn arrival_times_us(&self) -> impl Iterator<Item = (u16, Option<i64>)> + '_ {
        let mut time = i64::from(self.reference_time) * REFERENCE_TIME_TICK_US;
        self.packets.iter().map(move |packet| {
            let arrival = packet.receive_delta.map(|delta| {
                time += i64::from(delta) * DELTA_TICK_US;
                time
            });
            (packet.sequence, arrival)
        })
    }

    /// Builds feedback for consecutive sequence numbers from `base_sequence`, given each
    /// packet's arrival time in µs (`None` if lost). Fails if two consecutive arrivals are more
    /// than ~8 s apart (the caller starts a new feedback) or times are out of the 24-bit range.
    pub fn from_arrivals(
        sender_ssrc: u32,
        media_ssrc: u32,
        feedback_count: u8,
        base_sequence: u16,
        arrivals_us: &[Option<i64>],
    ) -> Result<Self, RtcpError> {
        let first = arrivals_us.iter().flatten().next().copied().unwrap_or(0);
        let reference_time = first.div_euclid(REFERENCE_TIME_TICK_US);
        let reference_time = i32::try_from(reference_time)
            .ok()
            .filter(|time| (REFERENCE_TIME_MIN..=REFERENCE_TIME_MAX).contains(time))
            .ok_or(RtcpError::ValueOutOfRange {
                field: "reference_time",
                value: reference_time.unsigned_abs(),
                max: REFERENCE_TIME_MAX as u64,
            })?;
        // Deltas accumulate in ticks so rounding never drifts.
        let mut previous_ticks =
            i64::from(reference_time) * (REFERENCE_TIME_TICK_US / DELTA_TICK_US);
        let mut packets = Vec::with_capacity(arrivals_us.len());
        for (offset, arrival) in arrivals_us.iter().enumerate() {
            let receive_delta = match arrival {
                None => None,
                Some(arrival) => {
                    let ticks = arrival.div_euclid(DELTA_TICK_US);
                    let delta = i16::try_from(ticks - previous_ticks).map_err(|_| {
                        RtcpError::ValueOutOfRange {
                            field: "receive_delta",
                            value: (ticks - previous_ticks).unsigned_abs(),
                            max: i16::MAX as u64,
                        }
                    })?;
                    previous_ticks = ticks;
                    Some(delta)
                }
            };
            packets.push(TransportCcPacket {
                sequence: base_sequence.wrapping_add(offset as u16),
                receive_delta,
            });
        }
        Ok(TransportCc {
            sender_ssrc,
            media_ssrc,
            base_sequence,
            reference_time,
            feedback_count,
            packets,
        })
    }

    pub(super) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "transport-cc");
        let (sender_ssrc, media_ssrc) = read_ssrcs(&mut reader)?;
        let base_sequence = reader.u16()?;
        let status_count = usize::from(reader.u16()?);
        if status_count > MAX_PACKET_STATUS_COUNT {
            return Err(RtcpError::MalformedTransportCc(
                "packet status count too large",
            ));
        }
        let [t0, t1, t2, feedback_count] = reader.array::<4>()?;
        let reference_time = (i32::from_be_bytes([t0, t1, t2, 0])) >> 8;

        let mut statuses = Vec::with_capacity(status_count);
        while statuses.len() < status_count {
            let chunk = reader.u16()?;
            let wanted = status_count - statuses.len();
            if chunk & 0x8000 == 0 {
                let status = Status::from_bits((chunk >> 13) & 0x03)?;
                let run = usize::from(chunk & 0x1FFF);
                if run == 0 {
                    return Err(RtcpError::MalformedTransportCc("empty run-length chunk"));
                }
                statuses.extend(std::iter::repeat_n(status, run.min(wanted)));
            } else if chunk & 0x4000 == 0 {
                for bit in (0..14).rev().take(wanted) {
                    statuses.push(if chunk & (1 << bit) != 0 {
                        Status::SmallDelta
                    } else {
                        Status::NotReceived
                    });
                }
            } else {
                for symbol in (0..TWO_BIT_SYMBOLS_PER_CHUNK).rev().take(wanted) {
                    statuses.push(Status::from_bits((chunk >> (2 * symbol)) & 0x03)?);
                }
            }
        }

        let mut packets = Vec::with_capacity(status_count);
        for (offset, status) in statuses.into_iter().enumerate() {
            let receive_delta = match status {
                Status::NotReceived => None,
                Status::SmallDelta => Some(i16::from(reader.u8()?)),
                Status::LargeDelta => Some(i16::from_be_bytes(reader.array()?)),
            };
            packets.push(TransportCcPacket {
                sequence: base_sequence.wrapping_add(offset as u16),
                receive_delta,
            });
        }
        Ok(TransportCc {
            sender_ssrc,
            media_ssrc,
            base_sequence,
            reference_time,
            feedback_count,
            packets,
        })
    }

    /// Status chunks: run-length chunks for runs of 7 or more, two-bit vectors otherwise.
    fn chunks(statuses: &[Status]) -> Vec<u16> {
        let mut chunks = Vec::new();
        let mut position = 0;
        while position < statuses.len() {
            let status = statuses[position];
            let run = statuses[position..]
                .iter()
                .take(MAX_RUN_LENGTH)
                .take_while(|other| **other == status)
                .count();
            if run >= TWO_BIT_SYMBOLS_PER_CHUNK {
                chunks.push((status.bits() << 13) | run as u16);
                position += run;
            } else {
                let mut chunk = 0xC000;
                for (slot, status) in statuses[position..]
                    .iter()
                    .take(TWO_BIT_SYMBOLS_PER_CHUNK)
                    .enumerate()
                {
                    chunk |= status.bits() << (2 * (TWO_BIT_SYMBOLS_PER_CHUNK - 1 - slot));
                }
                chunks.push(chunk);
                position += TWO_BIT_SYMBOLS_PER_CHUNK;
            }
        }
        chunks
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        if self.packets.len() > MAX_PACKET_STATUS_COUNT {
            return Err(RtcpError::ValueOutOfRange {
                field: "packets",
                value: self.packets.len() as u64,
                max: MAX_PACKET_STATUS_COUNT as u64,
            });
        }
        if !(REFERENCE_TIME_MIN..=REFERENCE_TIME_MAX).contains(&self.reference_time) {
            return Err(RtcpError::ValueOutOfRange {
                field: "reference_time",
                value: self.reference_time.unsigned_abs().into(),
                max: REFERENCE_TIME_MAX as u64,
            });
        }
        let statuses: Vec<Status> = self
            .packets
            .iter()
            .map(|packet| Status::of(packet.receive_delta))
            .collect();
        let chunks = Self::chunks(&statuses);
        let deltas_len: usize = statuses
            .iter()
            .map(|status| match status {
                Status::NotReceived => 0,
                Status::SmallDelta => 1,
                Status::LargeDelta => 2,
            })
            .sum();
        let fci_len = 8 + 2 * chunks.len() + deltas_len;
        let padding = padding_to_word(fci_len);
        write_feedback_header(
            out,
            FMT_TRANSPORT_CC,
            packet_type::RTPFB,
            self.sender_ssrc,
            self.media_ssrc,
            fci_len + padding,
        )?;
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&(self.packets.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.reference_time.to_be_bytes()[1..]);
        out.push(self.feedback_count);
        for chunk in chunks {
            out.extend_from_slice(&chunk.to_be_bytes());
        }
        for packet in &self.packets {
            match (Status::of(packet.receive_delta), packet.receive_delta) {
                (Status::SmallDelta, Some(delta)) => out.push(delta as u8),
                (Status::LargeDelta, Some(delta)) => out.extend_from_slice(&delta.to_be_bytes()),
                _ => {}
            }
        }
        out.resize(out.len() + padding, 0);
        Ok(())
    }
}
