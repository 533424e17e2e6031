//! Writing volume files on the host: keys of ConfigMaps and Secrets, downward API files, modes
//! and fsGroup ownership.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, DownwardAPIVolumeFile, KeyToPath};

use crate::KubeletError;
use crate::env::{self, EnvContext, KeyRef};
use crate::error::Result;

/// Writes the keys of `object` (all, or the `items` chosen) into `dir`; a missing optional
/// object writes nothing.
pub(crate) async fn write_object_keys(
    ctx: &EnvContext<'_>,
    dir: &Path,
    object: KeyRef<'_>,
    items: Option<&[KeyToPath]>,
    mode: i32,
) -> Result<()> {
    let data = object.bytes(ctx.client).await?;
    write_keys(dir, data, items, mode, &object.to_string())
}

pub(crate) fn write_keys(
    dir: &Path,
    data: Option<BTreeMap<String, Vec<u8>>>,
    items: Option<&[KeyToPath]>,
    default_mode: i32,
    what: &str,
) -> Result<()> {
    let Some(data) = data else { return Ok(()) };
    match items {
        Some(items) if !items.is_empty() => {
            for item in items {
                let bytes = data.get(&item.key).ok_or_else(|| {
                    KubeletError::Spec(format!("couldn't find key {} in {what}", item.key))
                })?;
                write_file(dir, &item.path, bytes, item.mode.unwrap_or(default_mode))?;
            }
        }
        _ => {
            for (key, bytes) in &data {
                write_file(dir, key, bytes, default_mode)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn write_downward(
    ctx: &EnvContext<'_>,
    dir: &Path,
    items: &[DownwardAPIVolumeFile],
    default_mode: i32,
) -> Result<()> {
    let spec = ctx.pod.spec.as_ref();
    for item in items {
        let value = if let Some(field) = &item.field_ref {
            env::field_value(ctx, field)?
        } else if let Some(res) = &item.resource_field_ref {
            let container: Option<&Container> = spec.and_then(|s| {
                s.containers
                    .iter()
                    .find(|c| Some(&c.name) == res.container_name.as_ref())
                    .or(s.containers.first())
            });
            container
                .map(|c| env::resource_value(c, &res.resource))
                .unwrap_or_else(|| "0".into())
        } else {
            String::new()
        };
        write_file(
            dir,
            &item.path,
            value.as_bytes(),
            item.mode.unwrap_or(default_mode),
        )?;
    }
    Ok(())
}

/// A relative path without `..` or root components, or `None`.
pub(crate) fn clean_relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    if p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        Some(p.to_path_buf())
    } else {
        None
    }
}

pub(crate) fn write_file(dir: &Path, relative: &str, bytes: &[u8], mode: i32) -> Result<()> {
    let rel = clean_relative(relative).ok_or_else(|| {
        KubeletError::Spec(format!(
            "volume file path {relative:?} must be relative and must not contain '..'"
        ))
    })?;
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        make_dir(parent, 0o755)?;
    }
    std::fs::write(&path, bytes)
        .map_err(|e| KubeletError::io(format!("writing {}", path.display()), e))?;
    set_mode(&path, mode as u32 & 0o7777)
}

pub(crate) fn make_dir(path: &Path, mode: u32) -> Result<()> {
    std::fs::create_dir_all(path)
        .map_err(|e| KubeletError::io(format!("creating {}", path.display()), e))?;
    set_mode(path, mode)
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| KubeletError::io(format!("setting the mode of {}", path.display()), e))
}

/// Gives `gid` ownership of everything under `path`, group read/write, and setgid directories,
/// as the kubelet does for `securityContext.fsGroup`.
pub(crate) fn apply_fs_group(path: &Path, gid: u32) -> Result<()> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| KubeletError::io(format!("reading {}", path.display()), e))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    std::os::unix::fs::chown(path, None, Some(gid)).map_err(|e| {
        KubeletError::io(
            format!("giving group {gid} ownership of {}", path.display()),
            e,
        )
    })?;
    let mode = meta.permissions().mode() & 0o7777;
    if meta.is_dir() {
        set_mode(path, mode | 0o2070)?;
        let entries = std::fs::read_dir(path)
            .map_err(|e| KubeletError::io(format!("listing {}", path.display()), e))?;
        for entry in entries.flatten() {
            apply_fs_group(&entry.path(), gid)?;
        }
    } else {
        let group_bits = (mode & 0o600) >> 3;
        set_mode(path, mode | group_bits)?;
    }
    Ok(())
}
