//! A stand-in recipe: a Dockerfile on top of the shared Debian base plus the files it copies in.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::ImageError;

/// Placeholder in a recipe's Dockerfile that is replaced by the Debian base image reference.
pub const BASE_PLACEHOLDER: &str = "{{BASE}}";

/// Where a file of the build context comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextSource {
    /// Bytes shipped with the recipe.
    Inline(Vec<u8>),
    /// A file on this machine (e.g. a binary the harness built); its content is hashed.
    Host(PathBuf),
}

/// One file placed in the build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextFile {
    /// Path inside the build context (what the Dockerfile's `COPY` names).
    pub name: String,
    /// Unix mode of the file in the context.
    pub mode: u32,
    /// Its content.
    pub source: ContextSource,
}

impl ContextFile {
    /// A file shipped with the recipe.
    pub fn inline(name: &str, mode: u32, content: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.to_owned(),
            mode,
            source: ContextSource::Inline(content.into()),
        }
    }

    /// A file taken from this machine at build time.
    pub fn host(name: &str, mode: u32, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.to_owned(),
            mode,
            source: ContextSource::Host(path.into()),
        }
    }

    /// The file's bytes.
    pub fn read(&self, reference: &str) -> Result<Vec<u8>, ImageError> {
        match &self.source {
            ContextSource::Inline(bytes) => Ok(bytes.clone()),
            ContextSource::Host(path) => {
                std::fs::read(path).map_err(|source| ImageError::ContextFile {
                    reference: reference.to_owned(),
                    path: path.clone(),
                    source,
                })
            }
        }
    }
}

/// How to build a stand-in for one image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// The image reference the stand-in is tagged as (what pods and jobs name).
    pub reference: String,
    /// Plain words on what the real image is and what the stand-in keeps of it.
    pub description: String,
    /// The tools the stand-in provides, for `harness images` and the image label.
    pub provides: Vec<String>,
    /// Dockerfile text; `{{BASE}}` stands for the Debian base image.
    pub dockerfile: String,
    /// Files the Dockerfile copies in.
    pub files: Vec<ContextFile>,
}

impl Recipe {
    /// The Dockerfile with the base image filled in.
    pub fn dockerfile_for(&self, base: &str) -> String {
        self.dockerfile.replace(BASE_PLACEHOLDER, base)
    }

    /// Content hash of everything that determines the image: the Dockerfile, the base it builds
    /// on, the description and labels, and every context file's name, mode and bytes.
    pub fn content_hash(&self, base: &str) -> Result<String, ImageError> {
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(b"recipe-v1");
        field(self.reference.as_bytes());
        field(self.dockerfile_for(base).as_bytes());
        field(self.description.as_bytes());
        field(self.provides.join(",").as_bytes());
        for file in &self.files {
            field(file.name.as_bytes());
            field(&file.mode.to_le_bytes());
            field(&file.read(&self.reference)?);
        }
        Ok(hex::encode(&hasher.finalize()[..8]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe() -> Recipe {
        Recipe {
            reference: "example:1".into(),
            description: "an example".into(),
            provides: vec!["sh".into()],
            dockerfile: "FROM {{BASE}}\nCOPY a /a\n".into(),
            files: vec![ContextFile::inline("a", 0o644, "one")],
        }
    }

    #[test]
    fn hash_is_stable_for_the_same_recipe() {
        assert_eq!(
            recipe().content_hash("base:1").unwrap(),
            recipe().content_hash("base:1").unwrap()
        );
    }

    #[test]
    fn hash_changes_with_each_input() {
        let reference = recipe().content_hash("base:1").unwrap();
        assert_ne!(reference, recipe().content_hash("base:2").unwrap(), "base");
        let mut r = recipe();
        r.dockerfile.push_str("RUN true\n");
        assert_ne!(reference, r.content_hash("base:1").unwrap(), "dockerfile");
        let mut r = recipe();
        r.files[0] = ContextFile::inline("a", 0o644, "two");
        assert_ne!(reference, r.content_hash("base:1").unwrap(), "file content");
        let mut r = recipe();
        r.files[0].mode = 0o755;
        assert_ne!(reference, r.content_hash("base:1").unwrap(), "file mode");
        let mut r = recipe();
        r.provides.push("git".into());
        assert_ne!(reference, r.content_hash("base:1").unwrap(), "provides");
    }

    #[test]
    fn host_file_content_is_hashed_and_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin");
        std::fs::write(&path, "v1").unwrap();
        let mut r = recipe();
        r.files.push(ContextFile::host("bin", 0o755, &path));
        let first = r.content_hash("b").unwrap();
        std::fs::write(&path, "v2").unwrap();
        assert_ne!(first, r.content_hash("b").unwrap());
        std::fs::remove_file(&path).unwrap();
        let err = r.content_hash("b").unwrap_err().to_string();
        assert!(err.contains("example:1") && err.contains("bin"), "{err}");
    }

    #[test]
    fn placeholder_is_replaced() {
        assert_eq!(recipe().dockerfile_for("x:y"), "FROM x:y\nCOPY a /a\n");
    }
}
