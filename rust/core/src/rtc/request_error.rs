//! Why a request to a worker, a router or one of their objects failed, in the few kinds the
//! owner maps to its own exceptions (the Python binding: once, to `mediasoup_py.errors`).

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The object the request names does not exist (never created, or closed already).
    #[error("{0} not found")]
    NotFound(String),
    /// A value in the request is wrong; `field` names it as the caller's API does.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, e.g. `rtp_parameters.encodings[1].ssrc`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The object exists but cannot do this now.
    #[error("{0}")]
    InvalidState(String),
    /// Something this worker does not do.
    #[error("{0}")]
    Unsupported(String),
    /// The worker lacks what the request needs: a free port, a socket, randomness.
    #[error("{0}")]
    Resource(String),
}

impl RequestError {
    /// A [`RequestError::NotFound`] for `kind` (e.g. "producer") with id `id`.
    pub fn not_found(kind: &str, id: &str) -> Self {
        RequestError::NotFound(format!("{kind} with id \"{id}\""))
    }

    /// A [`RequestError::InvalidArgument`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        RequestError::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_is_wrong() {
        assert_eq!(
            RequestError::not_found("producer", "p1").to_string(),
            "producer with id \"p1\" not found"
        );
        assert_eq!(
            RequestError::invalid("priority", "must be 1..=255").to_string(),
            "priority: must be 1..=255"
        );
    }
}
