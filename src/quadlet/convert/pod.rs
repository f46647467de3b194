//! `.pod` (not converted yet).

use super::common::missing;
use super::{Converted, Ctx};
use crate::quadlet::{ConvertError, Source};

pub fn convert(src: &Source, _ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    Err(missing(&src.unit, "-", "this kind is not converted yet"))
}
