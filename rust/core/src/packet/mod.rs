//! Wire formats: parsing and serialization of the datagrams an SFU sees, without I/O.

pub mod codecs;
pub mod demux;
pub mod rtcp;
pub mod rtp;
pub mod stun;
