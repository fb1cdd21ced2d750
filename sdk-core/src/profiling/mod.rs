//! Progressive profiling: marketer-configured questions ([`config`]) and the scheduler that
//! decides which one, if any, to show now and why ([`scheduler`]).
//!
//! The engine holds the config and the visitor's profile (`Engine::set_prompts`, `next_prompt`,
//! `answer_prompt`, …). Not yet exposed by the browser bindings (issue 4 is in progress).

pub mod config;
pub mod scheduler;
pub mod schema;
pub mod simulate;
pub mod view;
pub mod visit;

use crate::error::ErrorCode;

/// Why a prompt call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    #[error("no prompt config is loaded")]
    NoConfig,
    #[error("no question has the id {id:?}")]
    UnknownQuestion { id: String },
    #[error("answer to {question:?}: {message}")]
    InvalidAnswer { question: String, message: String },
    #[error("question {question:?} needs purpose {purpose:?}, which is not granted")]
    NotGranted { question: String, purpose: String },
}

impl ErrorCode for PromptError {
    fn code(&self) -> &'static str {
        match self {
            PromptError::NoConfig => "no_prompt_config",
            PromptError::UnknownQuestion { .. } => "unknown_question",
            PromptError::InvalidAnswer { .. } => "invalid_answer",
            PromptError::NotGranted { .. } => "purpose_not_granted",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            PromptError::NoConfig | PromptError::NotGranted { .. } => None,
            PromptError::UnknownQuestion { .. } => Some("id".into()),
            PromptError::InvalidAnswer { .. } => Some("value".into()),
        }
    }
}

#[cfg(test)]
mod tests;
