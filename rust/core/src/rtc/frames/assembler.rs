//! One stream's frame assembly: packets in (any order, with loss), whole frames out.
//!
//! Packets are kept by extended sequence number. A frame is the run of consecutive packets
//! with one RTP timestamp that starts where the previous frame ended and ends at the marker
//! bit (video) or with its one packet (audio). A hole in the run is waited for (a reordered
//! or retransmitted packet) for at most `max_reorder_delay`, or until too many packets are
//! buffered; then the frame is given up and counted. Video after a loss, or starting
//! anywhere but a keyframe, cannot be decoded until the next keyframe: its frames are
//! dropped (counted) and a keyframe is asked for, again each `keyframe_retry_interval`
//! while none comes. Audio frames stand alone, so a loss costs only the lost frames.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::{depacketize, starts_frame, DepacketizedFrame};
use crate::packet::codecs::PayloadCodec;

/// How long a hole is waited for, and how much is buffered at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssemblerConfig {
    /// The longest a missing packet is waited for once later packets arrived.
    pub max_reorder_delay: Duration,
    /// The most packets buffered; past it the oldest frame is given up.
    pub max_buffered_packets: usize,
    /// How often a keyframe is asked for again while video waits for one.
    pub keyframe_retry_interval: Duration,
}

impl Default for AssemblerConfig {
    fn default() -> Self {
        AssemblerConfig {
            // Long enough for a NACK round trip on a good path; an SFU's consumer repairs
            // its own losses first.
            max_reorder_delay: Duration::from_millis(150),
            // A 1080p keyframe is a few hundred packets.
            max_buffered_packets: 2048,
            keyframe_retry_interval: Duration::from_secs(1),
        }
    }
}

/// A frame put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledFrame {
    /// The frame in the codec's decoder format (see [`super`]).
    pub data: Vec<u8>,
    /// The RTP timestamp of its packets.
    pub rtp_timestamp: u32,
    /// Keyframe and layers.
    pub info: DepacketizedFrame,
    /// How many packets carried it.
    pub packets: usize,
}

/// What an assembler did, for stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssemblerCounters {
    /// Frames handed out.
    pub frames: u64,
    /// Frames given up because a packet of theirs was lost (or never came in time).
    pub frames_lost: u64,
    /// Whole video frames dropped while waiting for a keyframe after a loss.
    pub frames_waiting_for_keyframe: u64,
    /// Frames whose packets did not make a valid frame.
    pub frames_malformed: u64,
    /// Packets that came after their frame was handed out or given up, or twice.
    pub packets_late: u64,
    /// Keyframe requests made.
    pub keyframe_requests: u64,
}

#[derive(Debug)]
struct BufferedPacket {
    timestamp: u32,
    marker: bool,
    payload: Vec<u8>,
}

/// The last packet a frame was built from or dropped with: where the next frame must start.
#[derive(Debug, Clone, Copy)]
struct Consumed {
    sequence: u64,
    timestamp: u32,
    marker: bool,
}

/// Where the frame at the head of the buffer stands.
enum HeadFrame {
    /// Its packets run from the head to this sequence number.
    Complete(u64),
    /// It is still arriving, with nothing buffered past it.
    InProgress,
    /// A packet of it is missing while later ones are buffered.
    Hole,
}

/// Frames from one stream's packets.
#[derive(Debug)]
pub struct FrameAssembler {
    codec: PayloadCodec,
    config: AssemblerConfig,
    packets: BTreeMap<u64, BufferedPacket>,
    highest_sequence: Option<u64>,
    /// The last packet consumed; `None` until the first frame starts.
    consumed: Option<Consumed>,
    /// Assembly resumes at a packet that surely starts a frame (after a give-up).
    resyncing: bool,
    hole_since: Option<Instant>,
    needs_keyframe: bool,
    keyframe_request_pending: bool,
    next_keyframe_request: Option<Instant>,
    ready: VecDeque<AssembledFrame>,
    spare_payloads: Vec<Vec<u8>>,
    counters: AssemblerCounters,
}

/// Payload buffers kept for reuse.
const SPARE_PAYLOADS: usize = 64;

impl FrameAssembler {
    /// An assembler for one stream of `codec`.
    pub fn new(codec: PayloadCodec, config: AssemblerConfig) -> Self {
        FrameAssembler {
            codec,
            config,
            packets: BTreeMap::new(),
            highest_sequence: None,
            consumed: None,
            resyncing: true,
            hole_since: None,
            needs_keyframe: codec.is_video(),
            keyframe_request_pending: false,
            next_keyframe_request: None,
            ready: VecDeque::new(),
            spare_payloads: Vec::new(),
            counters: AssemblerCounters::default(),
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> AssemblerCounters {
        self.counters
    }

    /// Takes one RTP packet's fields.
    pub fn push_packet(
        &mut self,
        sequence_number: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
        now: Instant,
    ) {
        let sequence = self.extend_sequence(sequence_number);
        let too_old = self
            .consumed
            .is_some_and(|consumed| sequence <= consumed.sequence);
        if too_old || self.packets.contains_key(&sequence) {
            self.counters.packets_late += 1;
            return;
        }
        let mut buffer = self.spare_payloads.pop().unwrap_or_default();
        buffer.extend_from_slice(payload);
        self.packets.insert(
            sequence,
            BufferedPacket {
                timestamp,
                marker,
                payload: buffer,
            },
        );
        self.assemble(now);
    }

    /// Gives up on holes waited for long enough, and repeats keyframe requests.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.assemble(now);
        if self.needs_keyframe && self.next_keyframe_request.is_some_and(|at| now >= at) {
            self.request_keyframe(now);
        }
    }

    /// When [`Self::handle_timeout`] wants to be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let hole_deadline = self
            .hole_since
            .map(|since| since + self.config.max_reorder_delay);
        let retry = self.next_keyframe_request.filter(|_| self.needs_keyframe);
        match (hole_deadline, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next assembled frame.
    pub fn poll_frame(&mut self) -> Option<AssembledFrame> {
        self.ready.pop_front()
    }

    /// Whether a keyframe should be asked for now (once per request).
    pub fn poll_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_request_pending)
    }

    fn extend_sequence(&mut self, sequence_number: u16) -> u64 {
        let sequence = match self.highest_sequence {
            // Start away from zero so that earlier packets stay representable.
            None => (1 << 32) + u64::from(sequence_number),
            Some(highest) => {
                let delta = sequence_number.wrapping_sub(highest as u16) as i16;
                highest.wrapping_add_signed(i64::from(delta))
            }
        };
        self.highest_sequence = Some(self.highest_sequence.map_or(sequence, |h| h.max(sequence)));
        sequence
    }

    fn assemble(&mut self, now: Instant) {
        loop {
            if self.resyncing && !self.resync() {
                return;
            }
            let Some((&head, _)) = self.packets.first_key_value() else {
                self.hole_since = None;
                return;
            };
            match self.head_frame(head) {
                HeadFrame::Complete(end) => {
                    self.hole_since = None;
                    self.emit(head, end, now);
                }
                HeadFrame::InProgress => {
                    self.hole_since = None;
                    return;
                }
                HeadFrame::Hole => {
                    let since = *self.hole_since.get_or_insert(now);
                    let waited_enough = now >= since + self.config.max_reorder_delay;
                    if !waited_enough && self.packets.len() <= self.config.max_buffered_packets {
                        return;
                    }
                    self.hole_since = None;
                    self.give_up(now);
                }
            }
        }
    }

    /// Where the frame at the head of the buffer stands; the head is the packet right
    /// after the last consumed one, or there is a hole before it.
    fn head_frame(&self, head: u64) -> HeadFrame {
        let expected = self.consumed.map_or(head, |consumed| consumed.sequence + 1);
        if head != expected {
            return HeadFrame::Hole;
        }
        let timestamp = self.packets[&head].timestamp;
        let mut last = head;
        for (&sequence, packet) in self.packets.range(head..) {
            if sequence != last + 1 && sequence != head {
                return HeadFrame::Hole;
            }
            if packet.timestamp != timestamp {
                return HeadFrame::Complete(last);
            }
            if packet.marker || !self.codec.is_video() {
                return HeadFrame::Complete(sequence);
            }
            last = sequence;
        }
        HeadFrame::InProgress
    }

    /// Builds the frame from packets `first..=last` and consumes them.
    fn emit(&mut self, first: u64, last: u64, now: Instant) {
        let mut data = Vec::new();
        let result = depacketize(
            self.codec,
            self.packets
                .range(first..=last)
                .map(|(_, packet)| packet.payload.as_slice()),
            &mut data,
        );
        let timestamp = self.packets[&first].timestamp;
        let packets = self.consume_through(last);
        match result {
            Ok(info) if self.needs_keyframe && !info.is_keyframe => {
                self.counters.frames_waiting_for_keyframe += 1;
                // A stream that did not start with a keyframe has not asked for one yet.
                if self.next_keyframe_request.is_none() {
                    self.request_keyframe(now);
                }
            }
            Ok(info) => {
                self.needs_keyframe = false;
                self.next_keyframe_request = None;
                self.counters.frames += 1;
                self.ready.push_back(AssembledFrame {
                    data,
                    rtp_timestamp: timestamp,
                    info,
                    packets,
                });
            }
            Err(_) => {
                self.counters.frames_malformed += 1;
                self.lost_video_reference(now);
            }
        }
    }

    /// Removes the packets up to `last` (included), remembering the last one; returns how
    /// many there were.
    fn consume_through(&mut self, last: u64) -> usize {
        let rest = self.packets.split_off(&(last + 1));
        let done = std::mem::replace(&mut self.packets, rest);
        let count = done.len();
        for (sequence, packet) in done {
            self.consumed = Some(Consumed {
                sequence,
                timestamp: packet.timestamp,
                marker: packet.marker,
            });
            self.recycle(packet.payload);
        }
        count
    }

    fn recycle(&mut self, mut payload: Vec<u8>) {
        if self.spare_payloads.len() < SPARE_PAYLOADS {
            payload.clear();
            self.spare_payloads.push(payload);
        }
    }

    /// The frame at the head cannot be completed: count it lost and skip to where a frame
    /// surely starts.
    fn give_up(&mut self, now: Instant) {
        let Some((&head, _)) = self.packets.first_key_value() else {
            return;
        };
        let expected = self.consumed.map_or(head, |consumed| consumed.sequence + 1);
        if !self.codec.is_video() {
            // Each audio packet is a frame (so the head is complete when it is the expected
            // one): the missing packets are the lost frames, and the head comes next, as if
            // they had been consumed.
            self.counters.frames_lost += head - expected;
            self.consumed = Some(Consumed {
                sequence: head - 1,
                timestamp: self.packets[&head].timestamp.wrapping_sub(1),
                marker: true,
            });
            return;
        }
        self.counters.frames_lost += 1;
        self.lost_video_reference(now);
        self.resyncing = true;
        if head == expected {
            // The head frame is partly here: drop its packets along with the hole.
            let timestamp = self.packets[&head].timestamp;
            let last = self
                .packets
                .iter()
                .take_while(|(_, packet)| packet.timestamp == timestamp)
                .map(|(&sequence, _)| sequence)
                .last()
                .unwrap_or(head);
            self.consume_through(last);
        }
    }

    /// Video frames after a lost or broken one do not decode until a keyframe.
    fn lost_video_reference(&mut self, now: Instant) {
        let already_asked = self.needs_keyframe && self.next_keyframe_request.is_some();
        if self.codec.is_video() && !already_asked {
            self.needs_keyframe = true;
            self.request_keyframe(now);
        }
    }

    fn request_keyframe(&mut self, now: Instant) {
        self.keyframe_request_pending = true;
        self.counters.keyframe_requests += 1;
        self.next_keyframe_request = Some(now + self.config.keyframe_retry_interval);
    }

    /// Drops buffered packets until the head surely starts a frame: the first packet of
    /// the stream, or one right after a frame's last packet (marker or another
    /// timestamp) that the codec sees as a frame start. Returns whether assembly can go on.
    fn resync(&mut self) -> bool {
        while let Some((&head, packet)) = self.packets.first_key_value() {
            let follows_frame_end = match self.consumed {
                None => true,
                Some(consumed) => {
                    !self.codec.is_video()
                        || (consumed.sequence + 1 == head
                            && (consumed.marker || consumed.timestamp != packet.timestamp))
                }
            };
            if follows_frame_end && starts_frame(self.codec, &packet.payload) {
                self.resyncing = false;
                return true;
            }
            // Count each frame dropped here once: at its first packet seen.
            let new_frame = self
                .consumed
                .is_none_or(|consumed| consumed.timestamp != packet.timestamp);
            if new_frame && self.consumed.is_some() {
                self.counters.frames_lost += 1;
            }
            self.consume_through(head);
        }
        false
    }
}
