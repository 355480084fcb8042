//! `RtpPacket` for Python: an owned packet buffer, validated once on construction, read and
//! rewritten through the core's zero-copy view (`mediasoup_core::packet::rtp`).

use std::collections::BTreeMap;

use mediasoup_core::packet::codecs::{self, PayloadCodec};
use mediasoup_core::packet::rtp::{
    self as core_rtp, ExtensionBlock, ExtensionForm, ExtensionIdMap, RtpHeader, ONE_BYTE_MAX_ID,
    ONE_BYTE_MAX_VALUE_LEN,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyType};

use crate::errors::{type_error, uint_field, RtpError};

/// Spare bytes allocated after a packet whose length an edit may grow (MID/RID values, RTX):
/// a two-byte element header plus the longest value, plus block header and alignment.
const GROWTH_ROOM: usize = 2 + 255 + 4 + 3;

pub fn rtp_error(error: core_rtp::RtpError) -> PyErr {
    RtpError::new_err(error.to_string())
}

/// An RTP packet (RFC 3550) with RFC 8285 header extensions.
///
/// Build one from fields, or parse received bytes with `RtpPacket.parse`. Setters rewrite the
/// packet in place; `to_bytes()` returns the wire form.
#[derive(Debug)]
#[pyclass(module = "mediasoup_py._core", name = "RtpPacket")]
pub struct PyRtpPacket {
    /// Exactly the packet's bytes; always a valid RTP packet (checked on every change).
    bytes: Vec<u8>,
}

impl PyRtpPacket {
    fn view(&self) -> PyResult<core_rtp::RtpPacket<&[u8]>> {
        core_rtp::RtpPacket::parse(self.bytes.as_slice()).map_err(rtp_error)
    }

    fn view_mut(&mut self) -> PyResult<core_rtp::RtpPacket<&mut [u8]>> {
        core_rtp::RtpPacket::parse(self.bytes.as_mut_slice()).map_err(rtp_error)
    }

    /// Runs a length-changing edit on a copy with spare room and keeps the result.
    fn edit_with_growth(
        &mut self,
        edit: impl FnOnce(&mut [u8], usize) -> Result<usize, core_rtp::RtpError>,
    ) -> PyResult<()> {
        let len = self.bytes.len();
        let mut buffer = std::mem::take(&mut self.bytes);
        buffer.resize(len + GROWTH_ROOM, 0);
        let result = edit(&mut buffer, len);
        buffer.truncate(*result.as_ref().unwrap_or(&len));
        self.bytes = buffer;
        result.map(|_| ()).map_err(rtp_error)
    }
}

/// Reads the `extensions` argument: a dict of id -> bytes.
fn extension_elements(extensions: &Bound<'_, PyDict>) -> PyResult<Vec<(u8, Vec<u8>)>> {
    let mut elements = Vec::with_capacity(extensions.len());
    for (id, value) in extensions.iter() {
        let id: u8 = uint_field(&id, "extensions")?;
        let value: Vec<u8> = value
            .extract::<Vec<u8>>()
            .map_err(|_| type_error("extensions", format!("value of id {id} must be bytes")))?;
        elements.push((id, value));
    }
    elements.sort_by_key(|(id, _)| *id);
    Ok(elements)
}

/// The RFC 8285 form that can carry every element: one-byte unless an id or a length needs two.
fn extension_form_for(elements: &[(u8, Vec<u8>)]) -> ExtensionForm {
    let fits_one_byte = elements.iter().all(|(id, value)| {
        (1..=ONE_BYTE_MAX_ID).contains(id) && (1..=ONE_BYTE_MAX_VALUE_LEN).contains(&value.len())
    });
    if fits_one_byte {
        ExtensionForm::OneByte
    } else {
        ExtensionForm::TwoByte
    }
}

#[pymethods]
impl PyRtpPacket {
    #[new]
    #[pyo3(signature = (*, payload_type, sequence_number, timestamp, ssrc, marker = false,
        csrcs = Vec::new(), extensions = None, payload = Vec::new(), padding_len = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        payload_type: &Bound<'_, PyAny>,
        sequence_number: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
        ssrc: &Bound<'_, PyAny>,
        marker: bool,
        csrcs: Vec<Bound<'_, PyAny>>,
        extensions: Option<&Bound<'_, PyDict>>,
        payload: Vec<u8>,
        padding_len: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let payload_type: u8 = uint_field(payload_type, "payload_type")?;
        if payload_type > 0x7F {
            return Err(type_error("payload_type", "must be an int in 0..=127"));
        }
        let csrcs = csrcs
            .iter()
            .map(|csrc| uint_field::<u32>(csrc, "csrcs"))
            .collect::<PyResult<Vec<u32>>>()?;
        if csrcs.len() > 15 {
            return Err(type_error("csrcs", "at most 15 CSRCs fit the 4-bit count"));
        }
        let extensions = match extensions {
            Some(dict) if !dict.is_empty() => {
                let elements = extension_elements(dict)?;
                Some(ExtensionBlock {
                    form: extension_form_for(&elements),
                    elements,
                })
            }
            _ => None,
        };
        let header = RtpHeader {
            marker,
            payload_type,
            sequence_number: uint_field(sequence_number, "sequence_number")?,
            timestamp: uint_field(timestamp, "timestamp")?,
            ssrc: uint_field(ssrc, "ssrc")?,
            csrcs,
            extensions,
            padding_len: padding_len.map_or(Ok(0), |value| uint_field(value, "padding_len"))?,
        };
        let mut bytes = Vec::with_capacity(header.header_len() + payload.len() + 255);
        header
            .write_into(&payload, &mut bytes)
            .map_err(|error| type_error("extensions", error.to_string()))?;
        Ok(Self { bytes })
    }

    /// Parses received bytes; raises `RtpError` saying what is malformed.
    #[classmethod]
    fn parse(_cls: &Bound<'_, PyType>, data: &[u8]) -> PyResult<Self> {
        core_rtp::RtpPacket::parse(data).map_err(rtp_error)?;
        Ok(Self {
            bytes: data.to_vec(),
        })
    }

    #[getter]
    fn payload_type(&self) -> PyResult<u8> {
        Ok(self.view()?.payload_type())
    }

    #[setter]
    fn set_payload_type(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let payload_type: u8 = uint_field(value, "payload_type")?;
        self.view_mut()?
            .set_payload_type(payload_type)
            .map_err(|error| type_error("payload_type", error.to_string()))
    }

    #[getter]
    fn sequence_number(&self) -> PyResult<u16> {
        Ok(self.view()?.sequence_number())
    }

    #[setter]
    fn set_sequence_number(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let sequence_number = uint_field(value, "sequence_number")?;
        self.view_mut()?.set_sequence_number(sequence_number);
        Ok(())
    }

    #[getter]
    fn timestamp(&self) -> PyResult<u32> {
        Ok(self.view()?.timestamp())
    }

    #[setter]
    fn set_timestamp(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let timestamp = uint_field(value, "timestamp")?;
        self.view_mut()?.set_timestamp(timestamp);
        Ok(())
    }

    #[getter]
    fn ssrc(&self) -> PyResult<u32> {
        Ok(self.view()?.ssrc())
    }

    #[setter]
    fn set_ssrc(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let ssrc = uint_field(value, "ssrc")?;
        self.view_mut()?.set_ssrc(ssrc);
        Ok(())
    }

    #[getter]
    fn marker(&self) -> PyResult<bool> {
        Ok(self.view()?.marker())
    }

    #[setter]
    fn set_marker(&mut self, value: bool) -> PyResult<()> {
        self.view_mut()?.set_marker(value);
        Ok(())
    }

    #[getter]
    fn csrcs(&self) -> PyResult<Vec<u32>> {
        Ok(self.view()?.csrcs().collect())
    }

    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, self.view()?.payload()))
    }

    #[getter]
    fn padding_len(&self) -> PyResult<usize> {
        Ok(self.view()?.padding_len())
    }

    #[getter]
    fn header_len(&self) -> PyResult<usize> {
        Ok(self.view()?.header_len())
    }

    /// The value of header extension `id`, or None when the packet has no such element.
    fn header_extension<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let id: u8 = uint_field(id, "id")?;
        Ok(self
            .view()?
            .header_extension(id)
            .map(|value| PyBytes::new(py, value)))
    }

    /// Every header extension element as a dict of id -> value, in packet order.
    fn header_extensions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let extensions = PyDict::new(py);
        for (id, value) in self.view()?.header_extensions() {
            extensions.set_item(id, PyBytes::new(py, value))?;
        }
        Ok(extensions)
    }

    /// Sets extension `id` to `value`, adding the element (and the block) if missing; the
    /// packet grows or shrinks as needed (this is how an SFU rewrites MID and RID).
    fn set_header_extension(&mut self, id: &Bound<'_, PyAny>, value: &[u8]) -> PyResult<()> {
        let id: u8 = uint_field(id, "id")?;
        self.edit_with_growth(|buffer, len| {
            core_rtp::upsert_header_extension(buffer, len, id, value)
        })
    }

    /// Removes every element with extension `id` (no-op when absent).
    fn remove_header_extension(&mut self, id: &Bound<'_, PyAny>) -> PyResult<()> {
        let id: u8 = uint_field(id, "id")?;
        self.edit_with_growth(|buffer, len| core_rtp::remove_header_extension(buffer, len, id))
    }

    /// Rewrites extension ids in place with a dict of sender id -> our id; elements whose id
    /// is not in the dict are removed (turned into padding), as a router does with extensions
    /// it did not negotiate.
    fn remap_header_extension_ids(&mut self, mapping: BTreeMap<u8, u8>) -> PyResult<()> {
        let mut map = ExtensionIdMap::new();
        for (from, to) in mapping {
            map.insert(from, to)
                .map_err(|error| type_error("mapping", error.to_string()))?;
        }
        self.view_mut()?
            .remap_header_extension_ids(&map)
            .map_err(rtp_error)
    }

    /// A copy of this packet encapsulated for retransmission on an RTX stream (RFC 4588 §4).
    fn rtx_encapsulate(
        &self,
        payload_type: &Bound<'_, PyAny>,
        ssrc: &Bound<'_, PyAny>,
        sequence_number: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let payload_type: u8 = uint_field(payload_type, "payload_type")?;
        let ssrc: u32 = uint_field(ssrc, "ssrc")?;
        let sequence_number: u16 = uint_field(sequence_number, "sequence_number")?;
        let mut packet = Self {
            bytes: self.bytes.clone(),
        };
        packet.edit_with_growth(|buffer, len| {
            core_rtp::rtx_encapsulate(buffer, len, payload_type, ssrc, sequence_number)
        })?;
        Ok(packet)
    }

    /// The original packet carried by this RTX packet, with the original stream's payload
    /// type and SSRC (RFC 4588 §4).
    fn rtx_decapsulate(
        &self,
        payload_type: &Bound<'_, PyAny>,
        ssrc: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let payload_type: u8 = uint_field(payload_type, "payload_type")?;
        let ssrc: u32 = uint_field(ssrc, "ssrc")?;
        let mut packet = Self {
            bytes: self.bytes.clone(),
        };
        packet.edit_with_growth(|buffer, len| {
            core_rtp::rtx_decapsulate(buffer, len, payload_type, ssrc)
        })?;
        Ok(packet)
    }

    /// Whether the payload starts a keyframe for the codec `mime_type` (e.g. "video/VP8").
    fn is_keyframe(&self, mime_type: &str) -> PyResult<bool> {
        let codec = PayloadCodec::from_mime_type(mime_type).ok_or_else(|| {
            type_error(
                "mime_type",
                format!("{mime_type:?} is not a codec with keyframes mediasoup_py knows"),
            )
        })?;
        Ok(codecs::is_keyframe(codec, self.view()?.payload()))
    }

    /// The packet's wire bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.bytes)
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.to_bytes(py)
    }

    fn __len__(&self) -> usize {
        self.bytes.len()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Self>()
            .is_ok_and(|other| other.borrow().bytes == self.bytes)
    }

    fn __repr__(&self) -> PyResult<String> {
        let view = self.view()?;
        Ok(format!(
            "RtpPacket(payload_type={}, sequence_number={}, timestamp={}, ssrc={}, marker={}, \
             payload_len={})",
            view.payload_type(),
            view.sequence_number(),
            view.timestamp(),
            view.ssrc(),
            if view.marker() { "True" } else { "False" },
            view.payload().len()
        ))
    }
}
