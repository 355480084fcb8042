//! `SctpAssociation` for Python over `mediasoup_core::sctp`: the sans-IO association the
//! transports use, driven from Python with time as seconds since the object was made. It lets
//! tests put the association in front of other SCTP implementations (aiortc's) without a
//! worker, and lets applications inspect what a DataChannel peer sends.

use std::time::{Duration, Instant};

use mediasoup_core::sctp::{
    Bytes, Ppid, Reliability, SctpAssociation, SctpConfig, SctpEvent, SctpMessageDrop, SctpRole,
    SctpSendError, StreamReliability,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::type_error;

pyo3::import_exception!(mediasoup_py.errors, InvalidStateError);

/// One SCTP association (RFC 9260) carrying WebRTC data channels (RFC 8831, DCEP RFC 8832).
#[pyclass(module = "mediasoup_py._core", name = "SctpAssociation")]
#[derive(Debug)]
pub struct PySctpAssociation {
    association: SctpAssociation,
    /// Time zero of the seconds Python passes in.
    epoch: Instant,
}

impl PySctpAssociation {
    fn at(&self, now: f64) -> PyResult<Instant> {
        if !now.is_finite() || now < 0.0 {
            return Err(type_error(
                "now",
                "must be a non-negative number of seconds",
            ));
        }
        Ok(self.epoch + Duration::from_secs_f64(now))
    }
}

fn ppid_from(value: u32) -> PyResult<Ppid> {
    Ppid::from_value(value).ok_or_else(|| type_error("ppid", "must be 50, 51, 53, 56 or 57"))
}

fn reliability(
    ordered: bool,
    max_packet_life_time: Option<u16>,
    max_retransmits: Option<u16>,
) -> PyResult<StreamReliability> {
    let reliability = match (max_packet_life_time, max_retransmits) {
        (None, None) => Reliability::Reliable,
        (Some(ms), None) => Reliability::MaxPacketLifeTime(ms),
        (None, Some(count)) => Reliability::MaxRetransmits(count),
        (Some(_), Some(_)) => {
            return Err(type_error(
                "max_retransmits",
                "cannot be given with max_packet_life_time",
            ))
        }
    };
    Ok(StreamReliability {
        ordered,
        reliability,
    })
}

#[pymethods]
impl PySctpAssociation {
    #[new]
    #[pyo3(signature = (*, os = 1024, mis = 1024, max_message_size = 262_144, send_buffer_size = 262_144))]
    fn new(os: u16, mis: u16, max_message_size: u32, send_buffer_size: u32) -> PyResult<Self> {
        if os == 0 || mis == 0 {
            return Err(type_error("os", "OS and MIS must be at least 1"));
        }
        Ok(PySctpAssociation {
            association: SctpAssociation::new(SctpConfig {
                os,
                mis,
                max_message_size,
                send_buffer_size,
                ..SctpConfig::default()
            }),
            epoch: Instant::now(),
        })
    }

    /// mediasoup's `sctpState`: "new", "connecting", "connected", "failed" or "closed".
    #[getter]
    fn state(&self) -> &'static str {
        self.association.state().as_str()
    }

    /// Starts the association: "client" sends the INIT, "server" answers one.
    fn start(&mut self, role: &str) -> PyResult<()> {
        let role = match role {
            "client" => SctpRole::Client,
            "server" => SctpRole::Server,
            _ => return Err(type_error("role", "must be 'client' or 'server'")),
        };
        self.association.start(role);
        Ok(())
    }

    /// Handles one SCTP packet from the peer at `now` seconds.
    fn handle_packet(&mut self, packet: &[u8], now: f64) -> PyResult<()> {
        let now = self.at(now)?;
        self.association.handle_packet(packet, now);
        Ok(())
    }

    /// Runs the timers due at `now`.
    fn handle_timeout(&mut self, now: f64) -> PyResult<()> {
        let now = self.at(now)?;
        self.association.handle_timeout(now);
        Ok(())
    }

    /// When `handle_timeout` must run next, in seconds, or None.
    fn poll_timeout(&self) -> Option<f64> {
        self.association
            .poll_timeout()
            .map(|deadline| deadline.saturating_duration_since(self.epoch).as_secs_f64())
    }

    /// The next SCTP packet to send, or None.
    fn poll_transmit<'py>(
        &mut self,
        py: Python<'py>,
        now: f64,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let now = self.at(now)?;
        Ok(self
            .association
            .poll_transmit(now)
            .map(|packet| PyBytes::new(py, &packet)))
    }

    /// The next event as a dict with a "type" ("state", "message", "channel_opened",
    /// "stream_closed", "message_dropped", "buffered_amount_low"), or None.
    fn poll_event<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(event) = self.association.poll_event() else {
            return Ok(None);
        };
        let dict = PyDict::new(py);
        match event {
            SctpEvent::StateChange(state) => {
                dict.set_item("type", "state")?;
                dict.set_item("state", state.as_str())?;
            }
            SctpEvent::Message {
                stream_id,
                ppid,
                payload,
            } => {
                dict.set_item("type", "message")?;
                dict.set_item("stream_id", stream_id)?;
                dict.set_item("ppid", ppid.value())?;
                dict.set_item("payload", PyBytes::new(py, &payload))?;
            }
            SctpEvent::ChannelOpened { stream_id, open } => {
                dict.set_item("type", "channel_opened")?;
                dict.set_item("stream_id", stream_id)?;
                dict.set_item("label", open.label)?;
                dict.set_item("protocol", open.protocol)?;
                dict.set_item("ordered", open.reliability.ordered)?;
                match open.reliability.reliability {
                    Reliability::Reliable => {}
                    Reliability::MaxRetransmits(count) => {
                        dict.set_item("max_retransmits", count)?
                    }
                    Reliability::MaxPacketLifeTime(ms) => {
                        dict.set_item("max_packet_life_time", ms)?
                    }
                }
            }
            SctpEvent::StreamClosed { stream_id } => {
                dict.set_item("type", "stream_closed")?;
                dict.set_item("stream_id", stream_id)?;
            }
            SctpEvent::MessageDropped { stream_id, reason } => {
                dict.set_item("type", "message_dropped")?;
                dict.set_item("stream_id", stream_id)?;
                dict.set_item(
                    "reason",
                    match reason {
                        SctpMessageDrop::TooLarge => "too_large",
                        SctpMessageDrop::UnknownPpid => "unknown_ppid",
                    },
                )?;
            }
            SctpEvent::BufferedAmountLow {
                stream_id,
                buffered_amount,
            } => {
                dict.set_item("type", "buffered_amount_low")?;
                dict.set_item("stream_id", stream_id)?;
                dict.set_item("buffered_amount", buffered_amount)?;
            }
        }
        Ok(Some(dict))
    }

    /// Opens stream `stream_id` for sending with its delivery rules.
    #[pyo3(signature = (stream_id, *, ordered = true, max_packet_life_time = None, max_retransmits = None))]
    fn open_stream(
        &mut self,
        stream_id: u16,
        ordered: bool,
        max_packet_life_time: Option<u16>,
        max_retransmits: Option<u16>,
    ) -> PyResult<()> {
        let rules = reliability(ordered, max_packet_life_time, max_retransmits)?;
        self.association
            .open_stream(stream_id, rules)
            .map_err(|error| type_error("stream_id", error.to_string()))
    }

    /// Closes (resets) stream `stream_id`.
    fn close_stream(&mut self, stream_id: u16) {
        self.association.close_stream(stream_id);
    }

    /// Queues one message on an open stream with PPID 50, 51, 53, 56 or 57.
    fn send(&mut self, stream_id: u16, ppid: u32, payload: &[u8]) -> PyResult<()> {
        let ppid = ppid_from(ppid)?;
        self.association
            .send(stream_id, ppid, &Bytes::copy_from_slice(payload))
            .map_err(|error| match error {
                SctpSendError::TooLarge { .. } => type_error("payload", error.to_string()),
                SctpSendError::StreamNotOpen(_) => type_error("stream_id", error.to_string()),
                other => InvalidStateError::new_err(other.to_string()),
            })
    }

    /// Bytes queued on stream `stream_id`.
    fn buffered_amount(&mut self, stream_id: u16) -> usize {
        self.association.buffered_amount(stream_id)
    }

    /// Sets the level at which stream `stream_id` reports "buffered_amount_low".
    fn set_buffered_amount_low_threshold(&mut self, stream_id: u16, threshold: usize) {
        self.association
            .set_buffered_amount_low_threshold(stream_id, threshold);
    }

    /// Dropped input by reason.
    fn drops<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let drops = self.association.drops();
        let dict = PyDict::new(py);
        dict.set_item("not_connected", drops.not_connected)?;
        dict.set_item("malformed", drops.malformed)?;
        dict.set_item("extra_init", drops.extra_init)?;
        dict.set_item("stream_out_of_range", drops.stream_out_of_range)?;
        dict.set_item("invalid_dcep", drops.invalid_dcep)?;
        dict.set_item("unknown_ppid", drops.unknown_ppid)?;
        dict.set_item("too_large", drops.too_large)?;
        Ok(dict)
    }

    /// Ends the association at once, releasing everything.
    fn close(&mut self) {
        self.association.close();
    }

    /// Whether nothing of the association remains (no state, stream, packet or timer).
    fn is_released(&self) -> bool {
        self.association.is_released()
    }
}
