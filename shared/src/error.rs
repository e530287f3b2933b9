//! `ApiError`: every way a request can fail, each mapped once (in
//! `runtime::http::ApiResponse::error`) to the contract's status and error code.

use std::error::Error as StdError;

/// A failure the client cannot fix. The source is logged, never sent.
pub type Internal = Box<dyn StdError + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidApiKey(&'static str),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// 1.1: the tenant's monthly image quota is used up.
    #[error("{message}")]
    QuotaExceeded {
        message: String,
        retry_after_secs: u64,
    },
    #[error("Job not found")]
    JobNotFound,
    #[error("{0}")]
    InvalidState(String),
    #[error("This Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    #[error("No route matches this method and path")]
    NotFound,
    /// The message shown to the client is fixed; `public` may replace it with
    /// a sentence that still reveals nothing internal.
    #[error("internal error: {source}")]
    Internal {
        source: Internal,
        public: Option<&'static str>,
    },
}

impl ApiError {
    pub fn internal(source: impl Into<Internal>) -> ApiError {
        ApiError::Internal {
            source: source.into(),
            public: None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "INVALID_REQUEST",
            ApiError::InvalidApiKey(_) => "INVALID_API_KEY",
            ApiError::RateLimited { .. } => "RATE_LIMIT_EXCEEDED",
            ApiError::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            ApiError::JobNotFound => "JOB_NOT_FOUND",
            ApiError::InvalidState(_) => "INVALID_STATE",
            ApiError::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::Internal { .. } => "UNKNOWN_ERROR",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidRequest(_) | ApiError::InvalidState(_) => 400,
            ApiError::InvalidApiKey(_) => 401,
            ApiError::JobNotFound | ApiError::NotFound => 404,
            ApiError::IdempotencyKeyReused => 422,
            ApiError::RateLimited { .. } | ApiError::QuotaExceeded { .. } => 429,
            ApiError::Internal { .. } => 500,
        }
    }

    /// What the client reads in `message`.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal { public, .. } => public
                .unwrap_or(
                    "An unexpected error occurred. Please retry; if it persists, contact support.",
                )
                .to_string(),
            other => other.to_string(),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::cursor::InvalidCursor> for ApiError {
    fn from(e: crate::cursor::InvalidCursor) -> Self {
        ApiError::InvalidRequest(e.to_string())
    }
}

impl From<crate::domain::ValidationError> for ApiError {
    fn from(e: crate::domain::ValidationError) -> Self {
        ApiError::InvalidRequest(e.0)
    }
}
