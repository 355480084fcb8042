//! The dependency descriptor RTP header extension (AV1 RTP payload format, Appendix A): the
//! part an SFU needs to forward layers, not the whole of it. Every packet carries its
//! frame's template id, frame number and frame boundaries; keyframes carry the template
//! dependency structure, whose template layers say which spatial and temporal layer each
//! template belongs to. Decode target indications, frame diffs, chains and resolutions
//! follow the layers in the structure; they are not needed to choose layers, so parsing stops
//! there.

use thiserror::Error;

/// What is wrong with a dependency descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DependencyDescriptorError {
    /// Fewer bytes than the fields need.
    #[error("dependency descriptor truncated: needs {needed} bits, has {available}")]
    Truncated {
        /// Bits needed.
        needed: usize,
        /// Bits there.
        available: usize,
    },
    /// More templates than template ids (64).
    #[error("dependency descriptor declares more than 64 templates")]
    TooManyTemplates,
}

/// Template ids are 6 bits: at most this many templates.
const MAX_TEMPLATES: usize = 64;

/// The layers of each template of a template dependency structure, by template index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateLayers {
    /// The template id of index 0 (template ids count from it, modulo 64).
    pub template_id_offset: u8,
    /// (spatial, temporal) of each template.
    pub layers: Vec<(u8, u8)>,
}

impl TemplateLayers {
    /// The (spatial, temporal) layer of frames using `template_id`, if the structure has it.
    pub fn layers_of(&self, template_id: u8) -> Option<(u8, u8)> {
        let index = usize::from(template_id.wrapping_sub(self.template_id_offset) & 0x3F);
        self.layers.get(index).copied()
    }
}

/// One packet's dependency descriptor, as far as layer forwarding needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyDescriptor {
    /// The first packet of its frame.
    pub start_of_frame: bool,
    /// The last packet of its frame.
    pub end_of_frame: bool,
    /// The template its frame uses.
    pub template_id: u8,
    /// The frame's number (16 bits, wrapping).
    pub frame_number: u16,
    /// The template layers, when the packet carries a structure (keyframes do).
    pub structure: Option<TemplateLayers>,
}

struct BitReader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl BitReader<'_> {
    fn read(&mut self, bits: usize) -> Result<u32, DependencyDescriptorError> {
        let available = self.bytes.len() * 8;
        let needed = self.position + bits;
        if needed > available {
            return Err(DependencyDescriptorError::Truncated { needed, available });
        }
        let mut value = 0u32;
        for _ in 0..bits {
            let byte = self.bytes[self.position / 8];
            let bit = (byte >> (7 - self.position % 8)) & 1;
            value = (value << 1) | u32::from(bit);
            self.position += 1;
        }
        Ok(value)
    }
}

impl DependencyDescriptor {
    /// Parses the extension's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, DependencyDescriptorError> {
        let mut reader = BitReader { bytes, position: 0 };
        let start_of_frame = reader.read(1)? == 1;
        let end_of_frame = reader.read(1)? == 1;
        let template_id = reader.read(6)? as u8;
        let frame_number = reader.read(16)? as u16;
        let mut structure = None;
        if bytes.len() > 3 {
            let structure_present = reader.read(1)? == 1;
            // active decode targets, custom dtis, custom fdiffs, custom chains flags.
            reader.read(4)?;
            if structure_present {
                structure = Some(Self::template_layers(&mut reader)?);
            }
        }
        Ok(DependencyDescriptor {
            start_of_frame,
            end_of_frame,
            template_id,
            frame_number,
            structure,
        })
    }

    /// template_id_offset, dt_cnt_minus_one, then template_layers() (Appendix A.2.2).
    fn template_layers(
        reader: &mut BitReader<'_>,
    ) -> Result<TemplateLayers, DependencyDescriptorError> {
        let template_id_offset = reader.read(6)? as u8;
        // The decode target count: needed only by the fields after the layers.
        reader.read(5)?;
        let (mut spatial, mut temporal) = (0u8, 0u8);
        let mut layers = Vec::new();
        loop {
            if layers.len() == MAX_TEMPLATES {
                return Err(DependencyDescriptorError::TooManyTemplates);
            }
            layers.push((spatial, temporal));
            match reader.read(2)? {
                // The next template: same layers.
                0 => {}
                1 => temporal = temporal.saturating_add(1),
                2 => {
                    temporal = 0;
                    spatial = spatial.saturating_add(1);
                }
                _ => break,
            }
        }
        Ok(TemplateLayers {
            template_id_offset,
            layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Writes bits MSB first.
    fn bits(fields: &[(u32, usize)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut position = 0;
        for &(value, width) in fields {
            for bit in (0..width).rev() {
                if position % 8 == 0 {
                    out.push(0);
                }
                let set = (value >> bit) & 1;
                *out.last_mut().unwrap() |= (set as u8) << (7 - position % 8);
                position += 1;
            }
        }
        out
    }

    #[test]
    fn mandatory_fields_of_a_packet_without_a_structure() {
        let descriptor =
            DependencyDescriptor::parse(&bits(&[(1, 1), (0, 1), (5, 6), (777, 16)])).unwrap();
        assert_eq!(
            descriptor,
            DependencyDescriptor {
                start_of_frame: true,
                end_of_frame: false,
                template_id: 5,
                frame_number: 777,
                structure: None,
            }
        );
    }

    #[test]
    fn a_keyframes_structure_gives_each_template_its_layers() {
        // L2T2: templates (0,0) (0,1) | (1,0) (1,1), offset 60 (ids wrap past 63).
        let descriptor = DependencyDescriptor::parse(&bits(&[
            (1, 1),
            (1, 1),
            (60, 6),
            (1, 16),
            (1, 1), // structure present
            (0, 4),
            (60, 6), // template id offset
            (3, 5),  // 4 decode targets
            (1, 2),  // next template: temporal + 1
            (2, 2),  // next: spatial + 1
            (1, 2),
            (3, 2), // no more templates
            (0, 16),
        ]))
        .unwrap();
        let structure = descriptor.structure.unwrap();
        assert_eq!(structure.layers, [(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(structure.layers_of(60), Some((0, 0)));
        assert_eq!(structure.layers_of(63), Some((1, 1)));
        assert_eq!(structure.layers_of(0), None);
    }

    #[test]
    fn truncation_and_endless_templates_are_errors() {
        assert_eq!(
            DependencyDescriptor::parse(&[0x80, 0x01]),
            Err(DependencyDescriptorError::Truncated {
                needed: 24,
                available: 16
            })
        );
        let mut fields = vec![
            (1, 1),
            (1, 1),
            (0, 6),
            (0, 16),
            (1, 1),
            (0, 4),
            (0, 6),
            (0, 5),
        ];
        fields.extend(std::iter::repeat_n((0, 2), 70));
        assert_eq!(
            DependencyDescriptor::parse(&bits(&fields)),
            Err(DependencyDescriptorError::TooManyTemplates)
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = DependencyDescriptor::parse(&bytes);
        }
    }
}
