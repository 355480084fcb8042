//! RFC 4571 framing (ICE-TCP) on arbitrary bytes arriving in arbitrary pieces: the frames
//! found are the same whatever the pieces, and what is left is an unfinished frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediasoup_core::worker::for_each_frame;

fn frames_of(pieces: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut buffer = Vec::new();
    let mut frames = Vec::new();
    for piece in pieces {
        buffer.extend_from_slice(piece);
        for_each_frame(&mut buffer, |frame| frames.push(frame.to_vec()));
    }
    (frames, buffer)
}

fuzz_target!(|data: &[u8]| {
    // The first byte says where to cut the rest into pieces.
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(cut).max(1);
    let pieces: Vec<&[u8]> = stream.chunks(step).collect();
    let (in_pieces, left) = frames_of(&pieces);
    let (at_once, left_at_once) = frames_of(&[stream]);
    assert_eq!(in_pieces, at_once);
    assert_eq!(left, left_at_once);
    // What is left never holds a whole frame.
    if let [high, low, rest @ ..] = left.as_slice() {
        assert!(rest.len() < usize::from(u16::from_be_bytes([*high, *low])));
    }
    let framed: usize = in_pieces.iter().map(|frame| frame.len() + 2).sum();
    assert!(framed + left.len() <= stream.len());
});
