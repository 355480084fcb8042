//! RTCP compound packets for Python as lists of dicts (`{"type": "pli", ...}`), converted
//! from and to the core's typed packets with pythonize.

use mediasoup_core::packet::rtcp::{parse_compound, serialize_compound, RtcpPacket};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{type_error, RtcpError};

/// Parses a compound RTCP packet into a list of dicts, one per packet, each with a "type".
#[pyfunction]
pub fn parse_rtcp<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let packets = parse_compound(data).map_err(|error| RtcpError::new_err(error.to_string()))?;
    pythonize::pythonize(py, &packets).map_err(|error| RtcpError::new_err(error.to_string()))
}

/// Serializes a list of packet dicts (as `parse_rtcp` returns them) into a compound packet.
#[pyfunction]
pub fn serialize_rtcp<'py>(
    py: Python<'py>,
    packets: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let packets: Vec<RtcpPacket> = pythonize::depythonize(packets)
        .map_err(|error| type_error("packets", error.to_string()))?;
    let mut out = Vec::with_capacity(256);
    serialize_compound(&packets, &mut out)
        .map_err(|error| type_error("packets", error.to_string()))?;
    Ok(PyBytes::new(py, &out))
}
