//! An artifact upload on its way to disk: streamed into a temporary file while counted, kept
//! under its final name only once complete and accepted, removed in every other case.

use std::path::{Path, PathBuf};

use axum::extract::multipart::Field;
use axum::http::StatusCode;
use axum::response::Response;
use tokio::io::AsyncWriteExt;

use crate::api::body::too_large;
use crate::api::{bad_request, message};
use crate::private_fs;

/// The temporary file of one upload.
pub(super) struct Upload {
    temp: PathBuf,
    kept: bool,
}

fn storing(e: std::io::Error) -> Response {
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("storing artifacts: {e}"),
    )
}

impl Upload {
    /// An upload that will be written to `temp`.
    pub(super) fn new(temp: PathBuf) -> Self {
        Self { temp, kept: false }
    }

    /// Streams `field` into the temporary file; its size, or `413` once it passes `max` bytes.
    pub(super) async fn receive(&self, field: &mut Field<'_>, max: u64) -> Result<u64, Response> {
        let mut file = private_fs::create_file(&self.temp).await.map_err(storing)?;
        let mut size = 0u64;
        loop {
            let chunk = field
                .chunk()
                .await
                .map_err(|_| bad_request("could not read the upload"))?;
            let Some(chunk) = chunk else { break };
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large());
            }
            file.write_all(&chunk).await.map_err(storing)?;
        }
        file.flush().await.map_err(storing)?;
        Ok(size)
    }

    /// Moves the received file to `path` (replacing what was there).
    pub(super) async fn keep_as(mut self, path: &Path) -> std::io::Result<()> {
        tokio::fs::rename(&self.temp, path).await?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
