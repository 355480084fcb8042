//! Worker log records for the owner (Python's `logging`), with mediasoup's levels and tags.
//! Records are filtered in the worker before they are formatted, so disabled logging costs
//! a comparison.

/// mediasoup's `logLevel`: records at or above it are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Everything, including per-event details.
    Debug,
    /// Something unexpected that the worker handled.
    Warn,
    /// Something failed.
    Error,
    /// Nothing.
    None,
}

impl LogLevel {
    /// Parses mediasoup's names: "debug", "warn", "error", "none".
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "debug" => Some(LogLevel::Debug),
            "warn" => Some(LogLevel::Warn),
            "error" => Some(LogLevel::Error),
            "none" => Some(LogLevel::None),
            _ => None,
        }
    }

    /// mediasoup's name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::None => "none",
        }
    }
}

/// mediasoup's `logTags`: which subsystems' debug and warn records are sent (errors always
/// are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogTag {
    /// General lifecycle.
    Info,
    /// ICE.
    Ice,
    /// DTLS.
    Dtls,
    /// RTP.
    Rtp,
    /// SRTP.
    Srtp,
    /// RTCP.
    Rtcp,
    /// Retransmissions.
    Rtx,
    /// Bandwidth estimation.
    Bwe,
    /// Stream scores.
    Score,
    /// Simulcast.
    Simulcast,
    /// SVC.
    Svc,
    /// SCTP.
    Sctp,
}

impl LogTag {
    /// Every tag.
    pub const ALL: [LogTag; 12] = [
        LogTag::Info,
        LogTag::Ice,
        LogTag::Dtls,
        LogTag::Rtp,
        LogTag::Srtp,
        LogTag::Rtcp,
        LogTag::Rtx,
        LogTag::Bwe,
        LogTag::Score,
        LogTag::Simulcast,
        LogTag::Svc,
        LogTag::Sctp,
    ];

    /// mediasoup's name, e.g. "ice".
    pub fn as_str(self) -> &'static str {
        match self {
            LogTag::Info => "info",
            LogTag::Ice => "ice",
            LogTag::Dtls => "dtls",
            LogTag::Rtp => "rtp",
            LogTag::Srtp => "srtp",
            LogTag::Rtcp => "rtcp",
            LogTag::Rtx => "rtx",
            LogTag::Bwe => "bwe",
            LogTag::Score => "score",
            LogTag::Simulcast => "simulcast",
            LogTag::Svc => "svc",
            LogTag::Sctp => "sctp",
        }
    }

    /// Parses a name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tag| tag.as_str() == name)
    }
}

/// Which records a worker sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    level: LogLevel,
    tags: Vec<LogTag>,
}

impl Default for LogFilter {
    /// mediasoup's defaults: errors only, no tags.
    fn default() -> Self {
        LogFilter {
            level: LogLevel::Error,
            tags: Vec::new(),
        }
    }
}

impl LogFilter {
    /// Records at `level` or above, and for debug/warn only with one of `tags`.
    pub fn new(level: LogLevel, tags: Vec<LogTag>) -> Self {
        LogFilter { level, tags }
    }

    /// Whether a record of this level and tag is sent.
    pub fn enabled(&self, level: LogLevel, tag: LogTag) -> bool {
        level != LogLevel::None
            && level >= self.level
            && (level == LogLevel::Error || self.tags.contains(&tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_follows_mediasoup_rules() {
        let filter = LogFilter::new(LogLevel::Warn, vec![LogTag::Dtls]);
        assert!(filter.enabled(LogLevel::Warn, LogTag::Dtls));
        assert!(!filter.enabled(LogLevel::Warn, LogTag::Ice));
        assert!(!filter.enabled(LogLevel::Debug, LogTag::Dtls));
        assert!(filter.enabled(LogLevel::Error, LogTag::Rtp));
        assert!(!LogFilter::new(LogLevel::None, vec![LogTag::Dtls])
            .enabled(LogLevel::Error, LogTag::Dtls));
        assert_eq!(LogTag::from_name("simulcast"), Some(LogTag::Simulcast));
        assert_eq!(LogLevel::from_name("verbose"), None);
    }
}
