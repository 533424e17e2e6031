//! `artifacts-uploader` and `artifacts-downloader`: zip matching files and POST them with the
//! job token; GET a dependency's archive and extract it into the checkout.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use super::HelperError;
use crate::api::Client;

/// Arguments of `artifacts-uploader`.
#[derive(Debug, Clone, Args)]
pub struct UploaderArgs {
    /// GitLab URL.
    #[arg(long = "url", env = "CI_SERVER_URL")]
    pub url: String,
    /// Job token.
    #[arg(long = "token", env = "CI_JOB_TOKEN")]
    pub token: String,
    /// Job id.
    #[arg(long = "id", env = "CI_JOB_ID")]
    pub id: i64,
    /// Globs of files to archive (relative to the working directory).
    #[arg(long = "path")]
    pub paths: Vec<String>,
    /// Globs to leave out.
    #[arg(long = "exclude")]
    pub exclude: Vec<String>,
    /// Add files git does not track.
    #[arg(long = "untracked")]
    pub untracked: bool,
    /// Archive name (default `artifacts`).
    #[arg(long = "name", default_value = "")]
    pub name: String,
    /// How long GitLab keeps them.
    #[arg(long = "expire-in")]
    pub expire_in: Option<String>,
    /// `zip` (only format produced here).
    #[arg(long = "artifact-format", default_value = "zip")]
    pub artifact_format: String,
    /// `archive`, `junit`, ….
    #[arg(long = "artifact-type", default_value = "archive")]
    pub artifact_type: String,
}

/// Arguments of `artifacts-downloader`.
#[derive(Debug, Clone, Args)]
pub struct DownloaderArgs {
    /// GitLab URL.
    #[arg(long = "url", env = "CI_SERVER_URL")]
    pub url: String,
    /// Token allowed to read the dependency's artifacts.
    #[arg(long = "token", env = "CI_JOB_TOKEN")]
    pub token: String,
    /// Job id whose artifacts to fetch.
    #[arg(long = "id")]
    pub id: i64,
}

fn short(token: &str) -> String {
    token.chars().take(8).collect()
}

fn glob_options() -> glob::MatchOptions {
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    }
}

/// Files under `root` matched by `patterns` (directories expand to their content), minus
/// `exclude`, as sorted relative paths; reports per pattern to `out`.
pub fn collect_files(
    root: &Path,
    patterns: &[String],
    exclude: &[String],
    out: &mut dyn Write,
) -> Result<BTreeSet<PathBuf>, HelperError> {
    let excludes: Vec<glob::Pattern> = exclude
        .iter()
        .filter_map(|e| glob::Pattern::new(e).ok())
        .collect();
    let mut files = BTreeSet::new();
    for pattern in patterns {
        let full = root.join(pattern.trim_start_matches("./"));
        let entries = glob::glob_with(&full.to_string_lossy(), glob_options()).map_err(|e| {
            HelperError::Usage(format!(
                "artifact path {pattern:?} is not a valid glob: {e}"
            ))
        })?;
        let mut found = 0;
        for entry in entries.flatten() {
            let mut add = |p: &Path| {
                if let Ok(rel) = p.strip_prefix(root) {
                    let opts = glob_options();
                    if !excludes.iter().any(|x| x.matches_path_with(rel, opts)) {
                        found += 1;
                        files.insert(rel.to_path_buf());
                    }
                }
            };
            if entry.is_dir() {
                add(&entry);
                walk(&entry, &mut add);
            } else {
                add(&entry);
            }
        }
        if found == 0 {
            let _ = writeln!(
                out,
                "\x1b[0;33mWARNING: {pattern}: no matching files\x1b[0;m"
            );
        } else {
            let _ = writeln!(out, "{pattern}: found {found} matching files");
        }
    }
    Ok(files)
}

fn walk(dir: &Path, add: &mut dyn FnMut(&Path)) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        add(&p);
        if p.is_dir() && !p.is_symlink() {
            walk(&p, add);
        }
    }
}

/// Zips `files` (relative to `root`) with their unix modes.
pub fn zip_files(root: &Path, files: &BTreeSet<PathBuf>) -> Result<Vec<u8>, HelperError> {
    use std::os::unix::fs::PermissionsExt;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for rel in files {
        let path = root.join(rel);
        let io = |source| HelperError::Io {
            path: path.clone(),
            source,
        };
        let meta = std::fs::symlink_metadata(&path).map_err(io)?;
        let name = rel.to_string_lossy().into_owned();
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(meta.permissions().mode() & 0o7777);
        if meta.is_dir() {
            w.add_directory(format!("{name}/"), opts).map_err(zip_err)?;
        } else if meta.is_file() {
            w.start_file(name, opts).map_err(zip_err)?;
            let data = std::fs::read(&path).map_err(io)?;
            w.write_all(&data).map_err(io)?;
        }
    }
    Ok(w.finish().map_err(zip_err)?.into_inner())
}

fn zip_err(e: zip::result::ZipError) -> HelperError {
    HelperError::Archive(e.to_string())
}

/// Extracts a zip archive into `root` (entries escaping `root` are refused).
pub fn unzip_into(root: &Path, data: &[u8]) -> Result<usize, HelperError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(data)).map_err(zip_err)?;
    let mut count = 0;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(HelperError::Archive(format!(
                "entry {:?} points outside the project directory",
                entry.name()
            )));
        };
        if let Some(link) = symlink_on_the_way(root, &rel) {
            return Err(HelperError::Archive(format!(
                "entry {:?} would be written through the symbolic link {}, which may point outside the project directory",
                entry.name(),
                link.display()
            )));
        }
        let target = root.join(&rel);
        let io = |source| HelperError::Io {
            path: target.clone(),
            source,
        };
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(io)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(io)?;
        std::fs::write(&target, data).map_err(io)?;
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let _ =
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & 0o7777));
        }
        count += 1;
    }
    Ok(count)
}

/// The first symbolic link among `root`'s existing entries on the way to `rel` (its parents and
/// itself): writing through one could leave the project directory (a link committed in the
/// repository that points at `/builds`, say).
fn symlink_on_the_way(root: &Path, rel: &Path) -> Option<std::path::PathBuf> {
    let mut path = root.to_path_buf();
    for component in rel.components() {
        path.push(component);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(path),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

fn untracked_files(root: &Path) -> Vec<String> {
    std::process::Command::new("git")
        .args(["ls-files", "-o", "--exclude-standard"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl UploaderArgs {
    /// Archives and uploads; returns the number of files (0: nothing uploaded).
    pub async fn execute(&self, root: &Path, out: &mut dyn Write) -> Result<usize, HelperError> {
        let mut patterns = self.paths.clone();
        if self.untracked {
            patterns.extend(untracked_files(root));
        }
        let files = collect_files(root, &patterns, &self.exclude, out)?;
        if files.is_empty() {
            let _ = writeln!(out, "\x1b[31;1mERROR: No files to upload\x1b[0;m");
            return Ok(0);
        }
        if self.artifact_format != "zip" {
            return Err(HelperError::Usage(format!(
                "--artifact-format {}: only zip archives are produced by this helper",
                self.artifact_format
            )));
        }
        let data = zip_files(root, &files)?;
        let name = if self.name.is_empty() {
            "artifacts"
        } else {
            &self.name
        };
        let mut query = vec![
            ("artifact_format", self.artifact_format.clone()),
            ("artifact_type", self.artifact_type.clone()),
        ];
        if let Some(e) = self.expire_in.as_ref().filter(|e| !e.is_empty()) {
            query.push(("expire_in", e.clone()));
        }
        let client = Client::new(&self.url)?;
        client
            .upload_artifacts(self.id, &self.token, &format!("{name}.zip"), data, &query)
            .await?;
        let _ = writeln!(
            out,
            "Uploading artifacts to coordinator... ok        id={} responseStatus=201 Created token={}",
            self.id,
            short(&self.token)
        );
        Ok(files.len())
    }
}

impl DownloaderArgs {
    /// Downloads and extracts into `root`; returns the number of files.
    pub async fn execute(&self, root: &Path, out: &mut dyn Write) -> Result<usize, HelperError> {
        let client = Client::new(&self.url)?;
        let data = client.download_artifacts(self.id, &self.token).await?;
        let _ = writeln!(
            out,
            "Downloading artifacts from coordinator... ok       id={} responseStatus=200 OK token={}",
            self.id,
            short(&self.token)
        );
        unzip_into(root, &data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_select_files_and_zip_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("target/classes")).unwrap();
        std::fs::write(root.join("target/app.war"), b"war").unwrap();
        std::fs::write(root.join("target/classes/A.class"), b"a").unwrap();
        std::fs::write(root.join("pom.xml"), b"pom").unwrap();
        let mut log = Vec::new();
        let files = collect_files(
            root,
            &["target/*.war".into(), "nothing/*".into()],
            &[],
            &mut log,
        )
        .unwrap();
        assert_eq!(
            files.into_iter().collect::<Vec<_>>(),
            vec![PathBuf::from("target/app.war")]
        );
        let log = String::from_utf8(log).unwrap();
        assert!(
            log.contains("target/*.war: found 1 matching files"),
            "{log}"
        );
        assert!(log.contains("nothing/*: no matching files"), "{log}");

        let files = collect_files(
            root,
            &["target".into()],
            &["target/classes/*".into()],
            &mut Vec::new(),
        )
        .unwrap();
        assert!(files.contains(Path::new("target/app.war")));
        assert!(!files.contains(Path::new("target/classes/A.class")));

        let data = zip_files(root, &files).unwrap();
        let out = tempfile::tempdir().unwrap();
        unzip_into(out.path(), &data).unwrap();
        assert_eq!(
            std::fs::read(out.path().join("target/app.war")).unwrap(),
            b"war"
        );
    }

    #[test]
    fn archives_escaping_the_checkout_are_refused() {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("../evil", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"x").unwrap();
        let data = w.finish().unwrap().into_inner();
        let out = tempfile::tempdir().unwrap();
        assert!(unzip_into(out.path(), &data).is_err());
    }

    #[test]
    fn entries_are_not_written_through_a_symbolic_link() {
        let outside = tempfile::tempdir().unwrap();
        let checkout = tempfile::tempdir().unwrap();
        // A link committed in the repository: `lnk -> <somewhere outside>`.
        std::os::unix::fs::symlink(outside.path(), checkout.path().join("lnk")).unwrap();
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("lnk/x", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"payload").unwrap();
        let data = w.finish().unwrap().into_inner();
        let err = unzip_into(checkout.path(), &data).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(
            !outside.path().join("x").exists(),
            "written outside the checkout"
        );
    }
}
