//! Embeds every chart version kept under `charts/<version>/` into the library, so adding a chart
//! version is adding a directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, root, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            out.push((rel, path));
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let charts = manifest.join("charts");
    println!("cargo:rerun-if-changed={}", charts.display());
    let mut versions: Vec<_> = std::fs::read_dir(&charts)?.collect::<Result<_, _>>()?;
    versions.sort_by_key(|e| e.file_name());
    let mut code = String::from(
        "/// Chart versions embedded from `charts/`: (version, [(relative path, text)]).\n",
    );
    code.push_str("pub(crate) static EMBEDDED: &[(&str, &[(&str, &str)])] = &[\n");
    for version in versions {
        if !version.path().is_dir() {
            continue;
        }
        let name = version.file_name().to_string_lossy().into_owned();
        let mut files = Vec::new();
        collect(&version.path(), &version.path(), &mut files)?;
        let _ = writeln!(code, "    ({name:?}, &[");
        for (rel, path) in files {
            println!("cargo:rerun-if-changed={}", path.display());
            let _ = writeln!(
                code,
                "        ({rel:?}, include_str!({:?})),",
                path.display().to_string()
            );
        }
        code.push_str("    ]),\n");
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("embedded_charts.rs");
    std::fs::write(out, code)
}
