//! A push's `edit:` entries: change, write or copy a file of the working copy before the commit.

use std::path::Path;

use anyhow::{Context, anyhow, bail};

use crate::scenario::model::FileEdit;
use crate::scenario::vars::Vars;

/// Applies one edit to the working copy in `dir`; `scenario_dir` resolves `copy_from`. A new
/// file may sit in folders the project does not have yet: they are created.
pub(super) fn apply_edit(
    dir: &Path,
    scenario_dir: &Path,
    edit: &FileEdit,
    vars: &Vars,
) -> anyhow::Result<()> {
    let path = dir.join(&edit.file);
    if let Some(from) = &edit.copy_from {
        let from = scenario_dir.join(from);
        create_parent(&path)?;
        std::fs::copy(&from, &path)
            .with_context(|| format!("copying {} to {}", from.display(), path.display()))?;
        return Ok(());
    }
    if let Some(content) = &edit.content {
        let content = vars.expand(content).map_err(|e| anyhow!(e))?;
        create_parent(&path)?;
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        return Ok(());
    }
    let (Some(from), Some(to)) = (&edit.replace, &edit.with) else {
        bail!(
            "edit of {}: give `content`, `copy_from`, or `replace` with `with`",
            edit.file
        );
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    if !text.contains(from.as_str()) {
        bail!(
            "edit of {}: the text {from:?} is not in the file",
            edit.file
        );
    }
    let to = vars.expand(to).map_err(|e| anyhow!(e))?;
    std::fs::write(&path, text.replacen(from.as_str(), &to, 1))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn create_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the folder {}", parent.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(file: &str) -> FileEdit {
        FileEdit {
            file: file.into(),
            replace: None,
            with: None,
            content: None,
            copy_from: None,
        }
    }

    #[test]
    fn content_creates_missing_folders() {
        let work = tempfile::tempdir().unwrap();
        let mut vars = Vars::default();
        vars.set("registry.host", "127.0.0.1:5000");
        let edit = FileEdit {
            content: Some("image: ${registry.host}/app\n".into()),
            ..edit("k8s/overlays/dev/image.yaml")
        };
        apply_edit(work.path(), work.path(), &edit, &vars).unwrap();
        let written = work.path().join("k8s/overlays/dev/image.yaml");
        assert_eq!(
            std::fs::read_to_string(written).unwrap(),
            "image: 127.0.0.1:5000/app\n"
        );
    }

    #[test]
    fn copy_from_creates_missing_folders() {
        let work = tempfile::tempdir().unwrap();
        let scenario = tempfile::tempdir().unwrap();
        std::fs::write(scenario.path().join("ci.yml"), "stages: [build]\n").unwrap();
        let edit = FileEdit {
            copy_from: Some("ci.yml".into()),
            ..edit("ci/templates/build.yml")
        };
        apply_edit(work.path(), scenario.path(), &edit, &Vars::default()).unwrap();
        let copied = work.path().join("ci/templates/build.yml");
        assert_eq!(
            std::fs::read_to_string(copied).unwrap(),
            "stages: [build]\n"
        );
    }

    #[test]
    fn replace_changes_the_first_occurrence() {
        let work = tempfile::tempdir().unwrap();
        std::fs::write(work.path().join("a.txt"), "x x").unwrap();
        let edit = FileEdit {
            replace: Some("x".into()),
            with: Some("y".into()),
            ..edit("a.txt")
        };
        apply_edit(work.path(), work.path(), &edit, &Vars::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(work.path().join("a.txt")).unwrap(),
            "y x"
        );
    }
}
