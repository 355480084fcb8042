//! The one place where core errors become Python exceptions. The exception classes are defined
//! in `mediasoup_py.errors` (Python) and imported here, so Python and Rust raise the same types.

use pyo3::prelude::*;

pyo3::import_exception!(mediasoup_py.errors, MediasoupTypeError);
pyo3::import_exception!(mediasoup_py.errors, RtpError);
pyo3::import_exception!(mediasoup_py.errors, RtcpError);
pyo3::import_exception!(mediasoup_py.errors, SrtpError);
pyo3::import_exception!(mediasoup_py.errors, SrtpAuthenticationError);
pyo3::import_exception!(mediasoup_py.errors, SrtpReplayError);

/// A `MediasoupTypeError` whose `field` attribute names the offending argument or field.
pub fn type_error(field: &str, message: impl Into<String>) -> PyErr {
    MediasoupTypeError::new_err((format!("{field}: {}", message.into()), field.to_owned()))
}

/// An unsigned wire-format field type whose range a Python int is checked against.
pub trait UnsignedField: TryFrom<u64> {
    /// The largest value, for the error message.
    const MAX: u64;
}

impl UnsignedField for u8 {
    const MAX: u64 = u8::MAX as u64;
}

impl UnsignedField for u16 {
    const MAX: u64 = u16::MAX as u64;
}

impl UnsignedField for u32 {
    const MAX: u64 = u32::MAX as u64;
}

/// Reads an integer argument that must fit `T` (e.g. `u16` for a sequence number); anything
/// else, including a non-integer or a negative number, is a `MediasoupTypeError` naming `field`.
pub fn uint_field<T: UnsignedField>(value: &Bound<'_, PyAny>, field: &str) -> PyResult<T> {
    let out_of_range = || type_error(field, format!("must be an int in 0..={}", T::MAX));
    let number: u64 = value.extract().map_err(|_| out_of_range())?;
    T::try_from(number).map_err(|_| out_of_range())
}
