//! What Python describes producers and consumers with (dicts of the shapes `_core.pyi`
//! declares as `ProducerSpec` and `ConsumerSpec`), read with pythonize into typed structs
//! and checked into the core's specs. A wrong shape or value is a `MediasoupTypeError`
//! naming the field.

use std::time::Duration;

use mediasoup_core::packet::codecs::PayloadCodec;
use mediasoup_core::rtc::consumer::{ConsumerSpec, LayerSpec, RtxSpec};
use mediasoup_core::rtc::ids::{PayloadType, Ssrc};
use mediasoup_core::rtc::layer_selector::Layers;
use mediasoup_core::rtc::producer_stream::{EncodingSpec, ProducerSpec};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::errors::type_error;

/// A spec read from a Python dict (`spec.0` is the typed value).
#[derive(Debug)]
pub struct Spec<T>(pub T);

impl<'a, 'py, T: DeserializeOwned> FromPyObject<'a, 'py> for Spec<T> {
    type Error = PyErr;

    fn extract(object: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        pythonize::depythonize(&object)
            .map(Spec)
            .map_err(|error| type_error("spec", error.to_string()))
    }
}

fn payload_type(value: u8, field: &str) -> PyResult<PayloadType> {
    PayloadType::new(value).ok_or_else(|| type_error(field, "must be a payload type in 0..=127"))
}

/// One encoding of a producer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodingInput {
    ssrc: Option<u32>,
    rid: Option<String>,
    rtx_ssrc: Option<u32>,
    mapped_ssrc: u32,
}

/// A producer, resolved against its router's capabilities by `mediasoup_py.producer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpecInput {
    /// (client payload type, router payload type, router codec MIME type) per media codec.
    payload_types: Vec<(u8, u8, String)>,
    /// (client id, router id) per header extension the router knows.
    extension_ids: Vec<(u8, u8)>,
    /// (MID extension id, MID).
    mid: Option<(u8, String)>,
    rid_extension_id: Option<u8>,
    repaired_rid_extension_id: Option<u8>,
    encodings: Vec<EncodingInput>,
    store_for_retransmission: bool,
    clock_rate: u32,
    /// (client RTX payload type, client media payload type).
    rtx_payload_types: Vec<(u8, u8)>,
    generate_nacks: bool,
    transport_cc_extension_id: Option<u8>,
    remb_abs_send_time_extension_id: Option<u8>,
    audio_level_extension_id: Option<u8>,
    video_orientation_extension_id: Option<u8>,
    key_frame_request_delay_ms: u64,
    use_fir: bool,
    dependency_descriptor_extension_id: Option<u8>,
}

impl ProducerSpecInput {
    /// The core's spec; a payload type out of range is refused.
    pub fn into_spec(self) -> PyResult<ProducerSpec> {
        let payload_types = self
            .payload_types
            .into_iter()
            .map(|(client, router, mime_type)| {
                Ok((
                    payload_type(client, "rtp_parameters.codecs.payloadType")?,
                    payload_type(router, "rtp_parameters.codecs.payloadType")?,
                    PayloadCodec::from_mime_type(&mime_type),
                ))
            })
            .collect::<PyResult<_>>()?;
        let rtx_payload_types = self
            .rtx_payload_types
            .into_iter()
            .map(|(rtx, media)| {
                Ok((
                    payload_type(rtx, "rtp_parameters.codecs.payloadType")?,
                    payload_type(media, "rtp_parameters.codecs.parameters.apt")?,
                ))
            })
            .collect::<PyResult<_>>()?;
        Ok(ProducerSpec {
            payload_types,
            extension_ids: self.extension_ids,
            mid: self.mid,
            rid_extension_id: self.rid_extension_id,
            repaired_rid_extension_id: self.repaired_rid_extension_id,
            encodings: self
                .encodings
                .into_iter()
                .map(|encoding| EncodingSpec {
                    ssrc: encoding.ssrc.map(Ssrc),
                    rid: encoding.rid,
                    rtx_ssrc: encoding.rtx_ssrc.map(Ssrc),
                    mapped_ssrc: Ssrc(encoding.mapped_ssrc),
                })
                .collect(),
            store_for_retransmission: self.store_for_retransmission,
            clock_rate: self.clock_rate,
            rtx_payload_types,
            generate_nacks: self.generate_nacks,
            transport_cc_extension_id: self.transport_cc_extension_id,
            remb_abs_send_time_extension_id: self.remb_abs_send_time_extension_id,
            audio_level_extension_id: self.audio_level_extension_id,
            video_orientation_extension_id: self.video_orientation_extension_id,
            key_frame_request_delay: Duration::from_millis(self.key_frame_request_delay_ms),
            use_fir: self.use_fir,
            dependency_descriptor_extension_id: self.dependency_descriptor_extension_id,
        })
    }
}

/// The layers a simulcast or SVC consumer chooses among, and aims at.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayersInput {
    svc: bool,
    spatial_layers: u8,
    temporal_layers: u8,
    preferred_spatial_layer: u8,
    preferred_temporal_layer: u8,
}

/// A consumer's RTX stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtxInput {
    ssrc: u32,
    /// (media payload type, RTX payload type).
    payload_types: Vec<(u8, u8)>,
}

/// A consumer, as `mediasoup_py.consumer` derives it from the endpoint's capabilities.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpecInput {
    ssrc: u32,
    /// Router payload types the endpoint accepted.
    payload_types: Vec<u8>,
    /// Router extension ids the endpoint accepted.
    extension_ids: Vec<u8>,
    /// (MID extension id, MID).
    mid: Option<(u8, String)>,
    needs_key_frame: bool,
    rtx: Option<RtxInput>,
    clock_rate: u32,
    cname: String,
    transport_cc_extension_id: Option<u8>,
    mime_type: String,
    layers: Option<LayersInput>,
    /// The producer stream a consumer without layers carries.
    stream: u8,
    dependency_descriptor_extension_id: Option<u8>,
}

impl ConsumerSpecInput {
    /// The core's spec; a payload type out of range is refused.
    pub fn into_spec(self) -> PyResult<ConsumerSpec> {
        let field = "rtp_parameters.codecs.payloadType";
        let payload_types = self
            .payload_types
            .into_iter()
            .map(|value| payload_type(value, field))
            .collect::<PyResult<_>>()?;
        let rtx = self
            .rtx
            .map(|rtx| {
                let payload_types = rtx
                    .payload_types
                    .into_iter()
                    .map(|(media, rtx)| {
                        Ok((payload_type(media, field)?, payload_type(rtx, field)?))
                    })
                    .collect::<PyResult<_>>()?;
                Ok::<_, PyErr>(RtxSpec {
                    ssrc: Ssrc(rtx.ssrc),
                    payload_types,
                })
            })
            .transpose()?;
        Ok(ConsumerSpec {
            ssrc: Ssrc(self.ssrc),
            payload_types,
            extension_ids: self.extension_ids,
            mid: self.mid,
            needs_key_frame: self.needs_key_frame,
            rtx,
            clock_rate: self.clock_rate,
            cname: self.cname,
            transport_cc_extension_id: self.transport_cc_extension_id,
            codec: PayloadCodec::from_mime_type(&self.mime_type),
            layers: self.layers.map(|layers| LayerSpec {
                svc: layers.svc,
                spatial_layers: layers.spatial_layers,
                temporal_layers: layers.temporal_layers,
                preferred: Layers {
                    spatial: layers.preferred_spatial_layer,
                    temporal: layers.preferred_temporal_layer,
                },
            }),
            stream: self.stream,
            dependency_descriptor_extension_id: self.dependency_descriptor_extension_id,
        })
    }
}
