//! Building images through the Docker Engine API (`POST /build`, the classic builder).

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures::StreamExt;
use tokio_util::io::ReaderStream;

use crate::ImageError;

/// What to build.
pub(crate) struct BuildRequest {
    pub reference: String,
    pub dockerfile: String,
    /// Small files: (name in context, mode, bytes).
    pub files: Vec<(String, u32, Vec<u8>)>,
    /// Large files streamed from disk: (name in context, path).
    pub host_files: Vec<(String, PathBuf)>,
    pub labels: Vec<(String, String)>,
}

/// A thin layer over the engine for existence checks and builds.
#[derive(Clone)]
pub(crate) struct ImageBuilder {
    pub docker: Docker,
    pub scratch_dir: PathBuf,
}

impl ImageBuilder {
    /// Whether the engine has an image under `reference`.
    pub async fn exists(&self, reference: &str) -> Result<bool, ImageError> {
        Ok(self.labels(reference).await?.is_some())
    }

    /// The labels of a local image, or `None` when it is absent.
    pub async fn labels(
        &self,
        reference: &str,
    ) -> Result<Option<HashMap<String, String>>, ImageError> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(Some(
                image
                    .config
                    .and_then(|config| config.labels)
                    .unwrap_or_default(),
            )),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(ImageError::docker(format!("inspecting {reference}"), e)),
        }
    }

    /// Builds `request` and tags it as `request.reference`.
    pub async fn build(&self, request: BuildRequest) -> Result<(), ImageError> {
        std::fs::create_dir_all(&self.scratch_dir)
            .map_err(|e| ImageError::io(format!("creating {}", self.scratch_dir.display()), e))?;
        let context = tempfile::Builder::new()
            .prefix("context-")
            .suffix(".tar")
            .tempfile_in(&self.scratch_dir)
            .map_err(|e| ImageError::io("creating a build context file", e))?;
        let context_path = context.path().to_owned();
        let reference = request.reference.clone();
        let dockerfile = request.dockerfile.clone();
        let files = request.files;
        let host_files = request.host_files;
        tokio::task::spawn_blocking(move || {
            write_context(&context_path, &dockerfile, &files, &host_files)
        })
        .await
        .map_err(|e| ImageError::Build {
            reference: reference.clone(),
            message: format!("context writer failed: {e}"),
        })?
        .map_err(|e| ImageError::io(format!("writing the build context of {reference}"), e))?;

        let file = tokio::fs::File::open(context.path())
            .await
            .map_err(|e| ImageError::io("opening the build context", e))?;
        let body = bollard::body_try_stream(ReaderStream::new(file));
        let labels: HashMap<String, String> = request.labels.into_iter().collect();
        let options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(&reference)
            .rm(true)
            .forcerm(true)
            .networkmode("host")
            .labels(&labels)
            .build();
        let mut stream = self.docker.build_image(options, None, Some(body));
        let mut tail: Vec<String> = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(line) = info.stream {
                        let line = line.trim_end().to_owned();
                        if !line.is_empty() {
                            tracing::debug!(image = %reference, "{line}");
                            tail.push(line);
                            if tail.len() > 30 {
                                tail.remove(0);
                            }
                        }
                    }
                    if let Some(detail) = info.error_detail {
                        tail.push(detail.message.unwrap_or_default());
                        return Err(ImageError::Build {
                            reference,
                            message: tail.join("\n"),
                        });
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    tail.push(error);
                    return Err(ImageError::Build {
                        reference,
                        message: tail.join("\n"),
                    });
                }
                Err(e) => return Err(ImageError::docker(format!("building {reference}"), e)),
            }
        }
        if !self.exists(&reference).await? {
            return Err(ImageError::Build {
                reference,
                message: format!(
                    "the engine reported no error but has no image; output:\n{}",
                    tail.join("\n")
                ),
            });
        }
        Ok(())
    }
}

fn write_context(
    path: &std::path::Path,
    dockerfile: &str,
    files: &[(String, u32, Vec<u8>)],
    host_files: &[(String, PathBuf)],
) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let mut append = |name: &str, mode: u32, bytes: &[u8]| -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes)
    };
    append("Dockerfile", 0o644, dockerfile.as_bytes())?;
    for (name, mode, bytes) in files {
        append(name, *mode, bytes)?;
    }
    for (name, host_path) in host_files {
        tar.append_path_with_name(host_path, name)?;
    }
    tar.into_inner()?.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}
