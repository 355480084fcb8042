//! Locating the parts SRTP treats differently: the RTP header (authenticated, never
//! encrypted, RFC 3711 §3.1) and the first 8 bytes of RTCP. Only lengths are read, because
//! the payload, including any padding count, may be ciphertext.

use super::SrtpError;

const RTP_FIXED_HEADER_LEN: usize = 12;
/// RTCP header and sender SSRC: always in the clear (RFC 3711 §3.4).
pub const RTCP_CLEAR_LEN: usize = 8;

fn check_version(first: u8) -> Result<(), SrtpError> {
    match first >> 6 {
        2 => Ok(()),
        version => Err(SrtpError::BadVersion(version)),
    }
}

fn too_short(what: &'static str, needed: usize, got: usize) -> SrtpError {
    SrtpError::TooShort { what, needed, got }
}

/// The length of the RTP header at the start of `packet` (fixed part, CSRCs, extension), and
/// its SSRC and sequence number.
pub fn rtp_header(packet: &[u8]) -> Result<(usize, u32, u16), SrtpError> {
    let fixed: &[u8; RTP_FIXED_HEADER_LEN] = packet
        .first_chunk()
        .ok_or_else(|| too_short("RTP header", RTP_FIXED_HEADER_LEN, packet.len()))?;
    check_version(fixed[0])?;
    let csrc_count = usize::from(fixed[0] & 0x0F);
    let has_extension = fixed[0] & 0x10 != 0;
    let sequence = u16::from_be_bytes([fixed[2], fixed[3]]);
    let ssrc = u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);
    let mut len = RTP_FIXED_HEADER_LEN + 4 * csrc_count;
    if has_extension {
        let words = packet
            .get(len + 2..len + 4)
            .ok_or_else(|| too_short("RTP header extension", len + 4, packet.len()))?;
        len += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    if len > packet.len() {
        return Err(too_short("RTP header", len, packet.len()));
    }
    Ok((len, ssrc, sequence))
}

/// The sender SSRC of the first RTCP packet of a compound packet.
pub fn rtcp_ssrc(packet: &[u8]) -> Result<u32, SrtpError> {
    let clear: &[u8; RTCP_CLEAR_LEN] = packet
        .first_chunk()
        .ok_or_else(|| too_short("RTCP header", RTCP_CLEAR_LEN, packet.len()))?;
    check_version(clear[0])?;
    Ok(u32::from_be_bytes([clear[4], clear[5], clear[6], clear[7]]))
}
