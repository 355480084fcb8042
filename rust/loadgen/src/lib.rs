//! What the load tool's binaries (`mediasoup-loadgen`, `mediasoup-flood`) share.

/// Bytes from hexadecimal text (SRTP keys, packets given on the command line); `None` when
/// the text is not whole hex bytes.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_text_into_bytes() {
        assert_eq!(parse_hex("00ff7A"), Some(vec![0x00, 0xFF, 0x7A]));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex("é0"), None);
    }
}
