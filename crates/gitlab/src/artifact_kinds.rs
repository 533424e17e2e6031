//! GitLab's enumerated job-artifact types and formats (`Ci::JobArtifact.file_types` and
//! `TYPE_AND_FORMAT_PAIRS`).
//!
//! An upload names its type and format in request fields; GitLab accepts only these values and
//! never derives a storage path from them. The server stores each artifact under a name it makes
//! itself ([`storage_name`]), so no request value reaches the file system.

/// Every `artifact_type` GitLab accepts, each with the one format it is stored in.
const TYPES: &[(&str, &str)] = &[
    ("archive", "zip"),
    ("metadata", "gzip"),
    ("trace", "raw"),
    ("junit", "gzip"),
    ("sast", "raw"),
    ("secret_detection", "raw"),
    ("dependency_scanning", "raw"),
    ("container_scanning", "raw"),
    ("cluster_image_scanning", "raw"),
    ("dast", "raw"),
    ("codequality", "raw"),
    ("license_scanning", "raw"),
    ("performance", "raw"),
    ("browser_performance", "raw"),
    ("load_performance", "raw"),
    ("metrics", "gzip"),
    ("metrics_referee", "gzip"),
    ("network_referee", "gzip"),
    ("lsif", "zip"),
    ("dotenv", "gzip"),
    ("cobertura", "gzip"),
    ("terraform", "raw"),
    ("accessibility", "raw"),
    ("requirements", "raw"),
    ("requirements_v2", "raw"),
    ("coverage_fuzzing", "raw"),
    ("api_fuzzing", "raw"),
    ("cyclonedx", "gzip"),
    ("annotations", "gzip"),
    ("repository_xray", "gzip"),
    ("jacoco", "gzip"),
];

/// The formats GitLab knows (`Ci::JobArtifact.file_formats`).
const FORMATS: &[&str] = &["raw", "zip", "gzip"];

/// A validated artifact type and format, as GitLab stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArtifactKind {
    /// One of [`TYPES`].
    pub(crate) file_type: &'static str,
    /// One of [`FORMATS`].
    pub(crate) file_format: &'static str,
}

/// Checks an upload's `artifact_type` and `artifact_format` the way GitLab's API does. `None`
/// means the field was absent (GitLab's defaults: `archive`, and the type's own format).
/// The error is GitLab's 400 message.
pub(crate) fn parse(
    file_type: Option<&str>,
    file_format: Option<&str>,
) -> Result<ArtifactKind, String> {
    let file_type = file_type.unwrap_or("archive");
    let Some(&(file_type, expected)) = TYPES.iter().find(|(t, _)| *t == file_type) else {
        return Err("artifact_type does not have a valid value".into());
    };
    let file_format = match file_format {
        None => expected,
        Some(f) => match FORMATS.iter().find(|known| **known == f) {
            Some(known) => known,
            None => return Err("artifact_format does not have a valid value".into()),
        },
    };
    if file_format != expected {
        return Err("Invalid file format with specified file type".into());
    }
    Ok(ArtifactKind {
        file_type,
        file_format,
    })
}

/// The file name an artifact is stored under inside its job's folder: made by the server from
/// the validated type only, so nothing a client sends becomes part of a path.
pub(crate) fn storage_name(kind: ArtifactKind) -> String {
    format!("{}.{}", kind.file_type, kind.file_format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_a_zip_archive() {
        let kind = parse(None, None).unwrap();
        assert_eq!((kind.file_type, kind.file_format), ("archive", "zip"));
        assert_eq!(storage_name(kind), "archive.zip");
        assert_eq!(
            parse(Some("junit"), Some("gzip")).unwrap().file_type,
            "junit"
        );
    }

    #[test]
    fn refuses_unknown_types_paths_and_mismatched_formats() {
        for bad in [
            "../../../../tmp/pwn",
            "archive/../x",
            "",
            "ARCHIVE",
            "archive\0",
        ] {
            assert_eq!(
                parse(Some(bad), None).unwrap_err(),
                "artifact_type does not have a valid value",
                "{bad:?}"
            );
        }
        assert_eq!(
            parse(Some("archive"), Some("../x")).unwrap_err(),
            "artifact_format does not have a valid value"
        );
        assert_eq!(
            parse(Some("archive"), Some("gzip")).unwrap_err(),
            "Invalid file format with specified file type"
        );
    }
}
