//! Where the output goes and how it replaces the previous one: the output directory resolved
//! to its real place, the stages that runs killed part-way left beside it cleared, and the
//! swap of a complete stage into place.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{EmitError, io_err};

/// An output directory, resolved: the stage and the previous output's remains live beside it
/// under names made from its own.
#[derive(Debug)]
pub(super) struct Place {
    /// The real path: absolute, symbolic links (of `--out` itself and its parents) resolved.
    pub dir: PathBuf,
    parent: PathBuf,
    /// The directory's own name, which the stage names start with.
    base: String,
}

/// What a stage directory is for; part of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The new output being written.
    Stage,
    /// The previous output moved aside (only where the swap takes two renames).
    Old,
}

impl Role {
    fn word(self) -> &'static str {
        match self {
            Role::Stage => "stage",
            Role::Old => "old",
        }
    }
}

impl Place {
    /// Resolves `dir` (creating its parent). A symbolic link to a directory is followed: its
    /// target is the output, and the link stays. `--out .` and any directory that holds the
    /// current directory are refused: the output is replaced as a whole, which would leave the
    /// shell that ran berrys in a deleted directory.
    pub fn resolve(dir: &Path) -> Result<Place, EmitError> {
        let unusable = |why: String| EmitError::Unusable {
            path: dir.to_path_buf(),
            why,
        };
        let real = match fs::symlink_metadata(dir) {
            Ok(meta) if meta.is_dir() || meta.file_type().is_symlink() => match fs::metadata(dir) {
                Ok(target) if target.is_dir() => {
                    fs::canonicalize(dir).map_err(io_err("cannot resolve", dir))?
                }
                Ok(_) => return Err(EmitError::NotADirectory(dir.to_path_buf())),
                Err(_) => {
                    return Err(unusable(
                        "is a symbolic link to nothing; remove it, or point it at a directory"
                            .into(),
                    ));
                }
            },
            Ok(_) => return Err(EmitError::NotADirectory(dir.to_path_buf())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let Some(name) = dir.file_name() else {
                    return Err(unusable("does not name a directory".into()));
                };
                let parent = match dir.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                fs::create_dir_all(parent).map_err(io_err("cannot create", parent))?;
                fs::canonicalize(parent)
                    .map_err(io_err("cannot resolve", parent))?
                    .join(name)
            }
            Err(e) => return Err(io_err("cannot read", dir)(e)),
        };
        let (Some(parent), Some(base)) = (real.parent(), real.file_name()) else {
            return Err(unusable(
                "is the root directory; berrys replaces its output directory as a whole".into(),
            ));
        };
        if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize)
            && cwd.starts_with(&real)
        {
            return Err(unusable(format!(
                "holds the current directory ({}); berrys replaces its output directory as a \
                 whole, which would leave this shell in a deleted directory; render into a \
                 directory of its own, such as `--out rendered`",
                cwd.display()
            )));
        }
        Ok(Place {
            parent: parent.to_path_buf(),
            base: base.to_string_lossy().into_owned(),
            dir: real,
        })
    }

    fn beside(&self, role: Role, pid: u32) -> PathBuf {
        self.parent
            .join(format!(".{}.berrys-{}-{pid}", self.base, role.word()))
    }

    /// This process's stage directory.
    pub fn stage(&self) -> PathBuf {
        self.beside(Role::Stage, std::process::id())
    }

    /// The stages (and moved-aside outputs) of berrys runs that ended without cleaning up:
    /// runs whose process no longer exists. A moved-aside output whose output directory is
    /// missing (a crash between the two renames where there is no atomic exchange) is put
    /// back; everything else is removed. Returns what could not be cleared, as notes: a
    /// leftover is not a reason to refuse a render.
    pub fn clear_stale(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let Ok(entries) = fs::read_dir(&self.parent) else {
            return notes;
        };
        let mut stale: Vec<(Role, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let (role, pid) = self.owner(&e.file_name().to_string_lossy())?;
                (!alive(pid)).then(|| (role, e.path()))
            })
            .collect();
        // Moved-aside outputs first: one of them may be the output to put back.
        stale.sort_by_key(|(role, _)| *role != Role::Old);
        for (role, path) in stale {
            if role == Role::Old
                && fs::symlink_metadata(&self.dir).is_err()
                && fs::rename(&path, &self.dir).is_ok()
            {
                notes.push(format!(
                    "restored the previous output of an interrupted render from {}",
                    path.display()
                ));
                continue;
            }
            if let Err(e) = remove_tree(&path) {
                notes.push(format!(
                    "cannot remove {} left by an interrupted render: {e}",
                    path.display()
                ));
            }
        }
        notes
    }

    /// The role and process of a stage name of this output.
    fn owner(&self, name: &str) -> Option<(Role, u32)> {
        let rest = name.strip_prefix('.')?.strip_prefix(self.base.as_str())?;
        let rest = rest.strip_prefix(".berrys-")?;
        let (word, pid) = rest.split_once('-')?;
        let role = [Role::Stage, Role::Old]
            .into_iter()
            .find(|r| r.word() == word)?;
        let pid = pid.parse().ok().filter(|p: &u32| p.to_string() == pid)?;
        Some((role, pid))
    }

    /// Puts the complete `stage` in place of the output directory. Returns a note when the
    /// new output is in place but the previous one could not be removed.
    pub fn install(&self, stage: &Path) -> Result<Option<String>, EmitError> {
        let dir = &self.dir;
        if fs::symlink_metadata(dir).is_err() {
            fs::rename(stage, dir).map_err(io_err("cannot move into place", dir))?;
            return Ok(None);
        }
        // One system call where the OS has it: there is no moment without an output.
        let old = match exchange(stage, dir) {
            Ok(()) => stage.to_path_buf(),
            Err(_) => {
                let old = self.beside(Role::Old, std::process::id());
                fs::rename(dir, &old).map_err(io_err("cannot move aside", dir))?;
                if let Err(e) = fs::rename(stage, dir) {
                    // Put the previous output back before reporting.
                    if fs::rename(&old, dir).is_err() {
                        return Err(EmitError::Misplaced {
                            dir: dir.clone(),
                            old,
                            source: e,
                        });
                    }
                    return Err(io_err("cannot move into place", dir)(e));
                }
                old
            }
        };
        Ok(remove_tree(&old).err().map(|e| {
            format!(
                "the previous output, moved to {}, could not be removed ({e}); remove it by hand",
                old.display()
            )
        }))
    }
}

/// Whether a process with this id exists (one of another user counts). Only another process
/// can own a stage: a stage with this process's id was left by an earlier one.
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        )
    }
    // Without a way to ask, every owner is taken to be alive: nothing is removed.
    #[cfg(not(unix))]
    true
}

/// Swaps two directories in one step (Linux `renameat2(RENAME_EXCHANGE)`); an error where
/// the OS or the file system cannot.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (a, b);
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Removes a directory tree, its top-level subdirectories on threads of their own: removing
/// 20,000 files from one thread is a noticeable share of a large render. A symbolic link is
/// removed itself, never followed.
pub(super) fn remove_tree(dir: &Path) -> io::Result<()> {
    if !fs::symlink_metadata(dir)?.is_dir() {
        return fs::remove_file(dir);
    }
    let entries: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.symlink_metadata().is_ok_and(|m| m.is_dir()))
        .collect();
    let results = crate::parallel::map(&entries, |sub| fs::remove_dir_all(sub));
    results.into_iter().collect::<io::Result<Vec<()>>>()?;
    fs::remove_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(base: &str) -> Place {
        Place {
            dir: PathBuf::from("/x").join(base),
            parent: PathBuf::from("/x"),
            base: base.into(),
        }
    }

    #[test]
    fn stage_names_are_read_back_exactly() {
        let p = place("out");
        assert_eq!(p.owner(".out.berrys-stage-42"), Some((Role::Stage, 42)));
        assert_eq!(p.owner(".out.berrys-old-7"), Some((Role::Old, 7)));
        // Another output's stage, a stray suffix, a sign or a leading zero are not ours.
        for name in [
            ".outer.berrys-stage-42",
            ".out.berrys-stage-42x",
            ".out.berrys-stage-+42",
            ".out.berrys-stage-042",
            ".out.berrys-new-42",
            "out.berrys-stage-42",
        ] {
            assert_eq!(p.owner(name), None, "{name}");
        }
    }

    #[test]
    fn this_process_is_never_an_owner_that_is_alive() {
        assert!(!alive(std::process::id()));
        #[cfg(unix)]
        assert!(alive(1), "process 1 exists on every unix system");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn exchange_swaps_two_directories() {
        let tmp = std::env::temp_dir().join(format!("berrys-exchange-{}", std::process::id()));
        let (a, b) = (tmp.join("a"), tmp.join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        fs::write(a.join("from-a"), "").unwrap();
        fs::write(b.join("from-b"), "").unwrap();
        exchange(&a, &b).unwrap();
        assert!(a.join("from-b").exists() && b.join("from-a").exists());
        fs::remove_dir_all(&tmp).unwrap();
    }
}
