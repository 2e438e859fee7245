//! What can go wrong while rendering. Never the input, which compiled: only a template
//! berrys ships, a value a serialiser refuses, a rendering thread that failed, or the sink
//! the files go to.

use crate::output::WriteError;
use crate::yaml::YamlError;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// A template or a JSON value that could not be rendered.
    #[error("cannot serialise {kind}: {message}")]
    Serialise { kind: String, message: String },
    #[error("cannot serialise {kind}: a rendering thread failed")]
    Thread { kind: &'static str },
    /// The sink could not take a file.
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl RenderError {
    pub(crate) fn serialise(kind: &str, message: impl std::fmt::Display) -> RenderError {
        RenderError::Serialise {
            kind: kind.to_string(),
            message: message.to_string(),
        }
    }
}
