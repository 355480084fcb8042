//! mediasoup_py._core: the thin pyo3 layer over `mediasoup_core`. Each submodule wraps one
//! core concept; conversions and error mapping live here so the core stays free of Python.

use pyo3::prelude::*;

mod demux;
mod errors;
mod events;
mod frames;
mod rtcp;
mod rtp;
mod sctp;
mod specs;
mod srtp;
mod worker;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(demux::classify_datagram, m)?)?;
    m.add_class::<rtp::PyRtpPacket>()?;
    m.add_class::<srtp::PySrtpSession>()?;
    m.add_class::<sctp::PySctpAssociation>()?;
    m.add_function(wrap_pyfunction!(rtcp::parse_rtcp, m)?)?;
    m.add_function(wrap_pyfunction!(rtcp::serialize_rtcp, m)?)?;
    m.add_function(wrap_pyfunction!(srtp::srtp_key_and_salt_lengths, m)?)?;
    m.add("SRTP_PROFILES", srtp::profile_names())?;
    m.add_class::<worker::PyWorkerChannel>()?;
    m.add_class::<frames::PyFrameAssembler>()?;
    m.add_class::<frames::PyFramePacketizer>()?;
    Ok(())
}
