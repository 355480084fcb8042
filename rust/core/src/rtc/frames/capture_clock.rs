//! The sender's wall clock of an RTP timestamp, from its last sender report (RFC 3550
//! §6.4.1: an SR pairs an NTP time with the RTP timestamp of the same instant).

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECONDS: u64 = 2_208_988_800;

/// One stream's mapping from RTP timestamps to the sender's wall clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureClock {
    clock_rate: u32,
    reference: Option<(u32, f64)>,
}

impl CaptureClock {
    /// A clock for a stream with this RTP clock rate (Hz); it knows nothing until the first
    /// sender report.
    pub fn new(clock_rate: u32) -> Self {
        CaptureClock {
            clock_rate: clock_rate.max(1),
            reference: None,
        }
    }

    /// Takes a sender report's NTP timestamp (64-bit fixed point) and RTP timestamp.
    pub fn on_sender_report(&mut self, ntp_timestamp: u64, rtp_timestamp: u32) {
        let seconds = (ntp_timestamp >> 32).saturating_sub(NTP_UNIX_OFFSET_SECONDS);
        let fraction = (ntp_timestamp & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
        self.reference = Some((rtp_timestamp, seconds as f64 + fraction));
    }

    /// The sender's wall clock (seconds since the Unix epoch) when the frame with this RTP
    /// timestamp was captured, once a sender report arrived. Timestamps up to half the
    /// 32-bit range either side of the report's are placed around it.
    pub fn capture_time(&self, rtp_timestamp: u32) -> Option<f64> {
        let (reference_rtp, reference_time) = self.reference?;
        let ticks = rtp_timestamp.wrapping_sub(reference_rtp) as i32;
        Some(reference_time + f64::from(ticks) / f64::from(self.clock_rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_timestamps_around_the_report() {
        let mut clock = CaptureClock::new(90_000);
        assert_eq!(clock.capture_time(0), None);
        // 1_700_000_000.5 s Unix time.
        let ntp = ((1_700_000_000 + NTP_UNIX_OFFSET_SECONDS) << 32) | (1 << 31);
        clock.on_sender_report(ntp, u32::MAX - 89_999);
        assert_eq!(clock.capture_time(u32::MAX - 89_999), Some(1_700_000_000.5));
        // One second later, across the 32-bit wrap.
        assert_eq!(clock.capture_time(0), Some(1_700_000_001.5));
        assert_eq!(
            clock.capture_time(u32::MAX - 179_999),
            Some(1_699_999_999.5)
        );
    }
}
