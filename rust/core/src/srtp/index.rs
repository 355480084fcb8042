//! Packet indices: the 48-bit SRTP index (rollover counter and sequence number) estimated
//! from a 16-bit sequence number (RFC 3711 §3.3.1, Appendix A), and the 31-bit SRTCP index.

/// Half the sequence number space: the distance at which a sequence number is read as
/// having wrapped forwards or backwards.
const SEQUENCE_HALF: i64 = 1 << 15;
const SEQUENCE_SPACE: i64 = 1 << 16;
/// Largest SRTP index (48 bits).
pub const MAX_SRTP_INDEX: u64 = (1 << 48) - 1;
const MAX_INDEX: i64 = MAX_SRTP_INDEX as i64;

/// The SRTP index of a packet with sequence number `sequence`, given the highest index seen
/// so far on this SSRC (`None` for the first packet).
///
/// The index closest to `highest` is chosen (RFC 3711 Appendix A). While `highest` is still
/// in the first half of the first cycle the rollover counter is taken as 0, as libsrtp does:
/// a stream may start at any sequence number, and its first packets must not be read as
/// belonging to rollover -1.
pub fn estimate_srtp_index(highest: Option<u64>, sequence: u16) -> u64 {
    let Some(highest) = highest else {
        return u64::from(sequence);
    };
    if highest <= SEQUENCE_HALF as u64 {
        return u64::from(sequence);
    }
    // The index closest to `highest` with this sequence number is `highest` moved by the
    // signed 16-bit distance between their sequence numbers (a tie, 2^15 either way, goes
    // to the lower index). This runs for every packet; the index space's ends go the long
    // way.
    let distance = i64::from(sequence.wrapping_sub(highest as u16) as i16);
    match (highest as i64).checked_add(distance) {
        Some(index) if highest <= MAX_SRTP_INDEX && (0..=MAX_INDEX).contains(&index) => {
            index as u64
        }
        _ => closest_in_range(highest, sequence),
    }
}

/// The index with sequence number `sequence` closest to `highest` among those in the 48-bit
/// space.
#[cold]
fn closest_in_range(highest: u64, sequence: u16) -> u64 {
    let sequence = i64::from(sequence);
    let highest = (highest.min(MAX_SRTP_INDEX)) as i64;
    let base = highest - (highest % SEQUENCE_SPACE);
    let candidates = [base - SEQUENCE_SPACE, base, base + SEQUENCE_SPACE].map(|b| b + sequence);
    let closest = candidates
        .into_iter()
        .filter(|index| (0..=MAX_INDEX).contains(index))
        .min_by_key(|index| (index - highest).abs())
        .unwrap_or(sequence);
    closest as u64
}

/// The rollover counter of an SRTP index.
pub fn rollover_counter(index: u64) -> u32 {
    // The index has 48 bits, so the counter fits in 32.
    (index >> 16) as u32
}

/// The E flag of the SRTCP trailer (RFC 3711 §3.4): the payload is encrypted.
pub const SRTCP_ENCRYPTED_FLAG: u32 = 0x8000_0000;
/// SRTCP indices are 31 bits.
pub const MAX_SRTCP_INDEX: u32 = 0x7FFF_FFFF;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_wraps_in_both_directions() {
        assert_eq!(estimate_srtp_index(None, 65400), 65400);
        // Early in the first cycle: rollover 0 whatever the distance.
        assert_eq!(estimate_srtp_index(Some(10), 65000), 65000);
        // Forward wrap.
        assert_eq!(estimate_srtp_index(Some(65530), 5), 65536 + 5);
        // A late packet from before the wrap.
        assert_eq!(estimate_srtp_index(Some(65536 + 5), 65530), 65530);
        // Far into the stream.
        let highest = 7 * 65536 + 100;
        assert_eq!(estimate_srtp_index(Some(highest), 99), 7 * 65536 + 99);
        assert_eq!(estimate_srtp_index(Some(highest), 65000), 6 * 65536 + 65000);
        assert_eq!(rollover_counter(7 * 65536 + 99), 7);
        // At the end of the index space, the index that fits.
        assert_eq!(
            estimate_srtp_index(Some(MAX_SRTP_INDEX - 10), 20),
            MAX_SRTP_INDEX - 65535 + 20
        );
    }

    proptest::proptest! {
        /// The per-packet shortcut picks what a search of the three candidate rollovers
        /// (RFC 3711 Appendix A) picks.
        #[test]
        fn the_shortcut_agrees_with_the_candidate_search(
            highest in 0u64..=MAX_SRTP_INDEX,
            sequence: u16,
        ) {
            let expected = if highest <= SEQUENCE_HALF as u64 {
                u64::from(sequence)
            } else {
                closest_in_range(highest, sequence)
            };
            proptest::prop_assert_eq!(estimate_srtp_index(Some(highest), sequence), expected);
        }
    }
}
