//! The one place where core errors become Python exceptions. The exception classes are defined
//! in `mediasoup_py.errors` (Python) and imported here, so Python and Rust raise the same types.

use mediasoup_core::rtc::request_error::RequestError;
use pyo3::prelude::*;

pyo3::import_exception!(mediasoup_py.errors, MediasoupTypeError);
pyo3::import_exception!(mediasoup_py.errors, InvalidStateError);
pyo3::import_exception!(mediasoup_py.errors, NotFoundError);
pyo3::import_exception!(mediasoup_py.errors, UnsupportedError);
pyo3::import_exception!(mediasoup_py.errors, ResourceError);
pyo3::import_exception!(mediasoup_py.errors, RtpError);
pyo3::import_exception!(mediasoup_py.errors, RtcpError);
pyo3::import_exception!(mediasoup_py.errors, SrtpError);
pyo3::import_exception!(mediasoup_py.errors, SrtpAuthenticationError);
pyo3::import_exception!(mediasoup_py.errors, SrtpReplayError);

/// A `MediasoupTypeError` whose `field` attribute names the offending argument or field.
pub fn type_error(field: &str, message: impl Into<String>) -> PyErr {
    MediasoupTypeError::new_err((format!("{field}: {}", message.into()), field.to_owned()))
}

/// The exception for a request a worker refused, by why.
pub fn request_error(error: &RequestError) -> PyErr {
    let message = error.to_string();
    match error {
        RequestError::NotFound(_) => NotFoundError::new_err(message),
        RequestError::InvalidArgument { field, .. } => {
            MediasoupTypeError::new_err((message, field.clone()))
        }
        RequestError::InvalidState(_) => InvalidStateError::new_err(message),
        RequestError::Unsupported(_) => UnsupportedError::new_err(message),
        RequestError::Resource(_) => ResourceError::new_err(message),
    }
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
