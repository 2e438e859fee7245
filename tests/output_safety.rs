//! The emit contract, as users meet it: `render` never writes or deletes outside `--out`,
//! never loses a file it did not write, and every message it prints about the output is
//! true. Each test runs the binary in a scratch directory.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn berrys(dir: &Path, args: &[&str]) -> Output {
    common::berrys_in(dir).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", stderr(out));
}

use common::workspace;

/// Every entry under `dir` (files with their bytes, links with their targets), not
/// following links.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                out.push((rel, format!("-> {}", fs::read_link(&p).unwrap().display())));
            } else if meta.is_dir() {
                out.push((rel, "/".into()));
                stack.push(p);
            } else {
                out.push((rel, String::from_utf8_lossy(&fs::read(&p).unwrap()).into()));
            }
        }
    }
    out.sort();
    out
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A process id that no process has: one that just ended.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[cfg(unix)]
#[test]
fn out_as_a_link_to_a_directory_renders_into_its_target_and_keeps_the_link() {
    let ws = workspace();
    let target = ws.path().join("real");
    fs::create_dir_all(target.join("mine/deeper")).unwrap();
    fs::write(target.join("mine/deeper/keep.txt"), "user file\n").unwrap();
    fs::write(target.join("top.txt"), "user file\n").unwrap();
    std::os::unix::fs::symlink("real", ws.path().join("out")).unwrap();
    for _ in 0..2 {
        let out = berrys(ws.path(), &["render", "--out", "out"]);
        assert_exit(&out, 0);
        assert!(
            fs::symlink_metadata(ws.path().join("out"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_to_string(target.join("mine/deeper/keep.txt")).unwrap(),
            "user file\n"
        );
        assert_eq!(
            fs::read_to_string(target.join("top.txt")).unwrap(),
            "user file\n"
        );
        assert!(target.join("kubernetes/api-gateway.yaml").is_file());
        // Nothing else appeared beside the link or its target.
        assert_eq!(names(ws.path()), ["out", "platform.toml", "real"]);
    }
}

#[cfg(unix)]
#[test]
fn a_dangling_link_as_out_is_refused() {
    let ws = workspace();
    std::os::unix::fs::symlink("nowhere", ws.path().join("out")).unwrap();
    let out = berrys(ws.path(), &["render", "--out", "out"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("symbolic link to nothing"),
        "{}",
        stderr(&out)
    );
    assert!(!ws.path().join("nowhere").exists());
}

#[cfg(unix)]
#[test]
fn a_link_inside_the_output_where_berrys_writes_is_refused_and_never_written_through() {
    let ws = workspace();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    let elsewhere = ws.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(elsewhere.join("theirs.txt"), "outside\n").unwrap();
    fs::remove_dir_all(ws.path().join("out/kubernetes")).unwrap();
    std::os::unix::fs::symlink("../elsewhere", ws.path().join("out/kubernetes")).unwrap();
    let before = tree(&ws.path().join("out"));
    let out = berrys(ws.path(), &["render", "--out", "out"]);
    assert_exit(&out, 2);
    let text = stderr(&out);
    assert!(text.contains("kubernetes: a symbolic link"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(names(&elsewhere), ["theirs.txt"]);
    assert_eq!(tree(&ws.path().join("out")), before);
    assert_eq!(names(ws.path()), ["elsewhere", "out", "platform.toml"]);
}

#[cfg(unix)]
#[test]
fn a_link_inside_the_output_that_berrys_does_not_write_is_kept_as_a_link() {
    let ws = workspace();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    fs::create_dir(ws.path().join("docs")).unwrap();
    std::os::unix::fs::symlink("../docs", ws.path().join("out/docs")).unwrap();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    assert_eq!(
        fs::read_link(ws.path().join("out/docs")).unwrap(),
        Path::new("../docs")
    );
}

/// The reference with one more service, a copy of web-dashboard.
fn with_service(ws: &Path, name: &str) {
    let text = fs::read_to_string(ws.join("platform.toml")).unwrap();
    let start = text.find("[services.web-dashboard]").unwrap();
    let end = start + text[start..].find("\n\n").unwrap() + 2;
    let copy = text[start..end].replace("web-dashboard", name);
    fs::write(
        ws.join("platform.toml"),
        format!("{}{copy}{}", &text[..end], &text[end..]),
    )
    .unwrap();
}

#[test]
fn a_users_file_where_a_new_service_is_written_is_refused_naming_it() {
    let ws = workspace();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    let mine = ws.path().join("out/kubernetes/newsvc.yaml");
    fs::write(&mine, "# hand-written\n").unwrap();
    with_service(ws.path(), "newsvc");
    let before = tree(&ws.path().join("out"));
    let out = berrys(ws.path(), &["render", "--out", "out"]);
    assert_exit(&out, 2);
    let text = stderr(&out);
    assert!(
        text.contains("kubernetes/newsvc.yaml: a file berrys did not write"),
        "{text}"
    );
    assert!(text.contains("help: move them out"), "{text}");
    assert_eq!(fs::read_to_string(&mine).unwrap(), "# hand-written\n");
    assert_eq!(tree(&ws.path().join("out")), before);
    assert_eq!(names(ws.path()), ["out", "platform.toml"]);
    // Moved away, the render goes through.
    fs::remove_file(&mine).unwrap();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    assert!(
        fs::read_to_string(&mine)
            .unwrap()
            .contains("kind: Deployment")
    );
}

#[test]
fn a_users_directory_where_berrys_writes_a_file_is_refused() {
    let ws = workspace();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    fs::create_dir_all(ws.path().join("out/kubernetes/newsvc.yaml")).unwrap();
    fs::write(ws.path().join("out/kubernetes/newsvc.yaml/x"), "mine\n").unwrap();
    with_service(ws.path(), "newsvc");
    let out = berrys(ws.path(), &["render", "--out", "out"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("kubernetes/newsvc.yaml: a directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn stages_of_dead_runs_are_cleared_and_those_of_live_ones_kept() {
    let ws = workspace();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    let dead = dead_pid();
    for name in [
        format!(".out.berrys-stage-{dead}"),
        format!(".out.berrys-old-{dead}"),
    ] {
        fs::create_dir_all(ws.path().join(&name).join("kubernetes")).unwrap();
        fs::write(ws.path().join(&name).join("kubernetes/x.yaml"), "x\n").unwrap();
    }
    // Process 1 is alive; another output's stage is not this output's business.
    fs::create_dir(ws.path().join(".out.berrys-stage-1")).unwrap();
    fs::create_dir(ws.path().join(format!(".other.berrys-stage-{dead}"))).unwrap();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    assert_eq!(
        names(ws.path()),
        [
            ".other.berrys-stage-".to_string() + &dead.to_string(),
            ".out.berrys-stage-1".into(),
            "out".into(),
            "platform.toml".into()
        ]
    );
}

#[test]
fn an_output_moved_aside_by_an_interrupted_swap_is_put_back() {
    let ws = workspace();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    fs::write(ws.path().join("out/NOTES.md"), "mine\n").unwrap();
    // A run killed between its two renames: no output, the previous one beside it.
    let aside = ws.path().join(format!(".out.berrys-old-{}", dead_pid()));
    fs::rename(ws.path().join("out"), &aside).unwrap();
    let out = berrys(ws.path(), &["render", "--out", "out"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("restored the previous output"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(ws.path().join("out/NOTES.md")).unwrap(),
        "mine\n"
    );
    assert_eq!(names(ws.path()), ["out", "platform.toml"]);
}

#[cfg(target_os = "linux")]
#[test]
fn the_swap_replaces_the_directory_in_one_step() {
    use std::os::unix::fs::MetadataExt;
    let ws = workspace();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    let first = fs::metadata(ws.path().join("out")).unwrap().ino();
    let out = berrys(ws.path(), &["render", "--out", "out"]);
    assert_exit(&out, 0);
    // A new directory in place (the stage), and no moved-aside output ever named.
    assert_ne!(fs::metadata(ws.path().join("out")).unwrap().ino(), first);
    assert_eq!(names(ws.path()), ["out", "platform.toml"]);
}

#[test]
fn out_holding_the_current_directory_is_refused() {
    // The workspace sits in a directory of its own, so a stage written beside
    // `--out` would show there and nothing else's files can.
    let outer = tempfile::tempdir().unwrap();
    let ws = outer.path().join("ws");
    fs::create_dir(&ws).unwrap();
    fs::copy(
        workspace().path().join("platform.toml"),
        ws.join("platform.toml"),
    )
    .unwrap();
    for (cwd, out_arg) in [(ws.clone(), "."), (ws.join("sub"), "..")] {
        fs::create_dir_all(&cwd).unwrap();
        if cwd != ws {
            fs::copy(ws.join("platform.toml"), cwd.join("platform.toml")).unwrap();
        }
        let before = tree(&ws);
        let out = berrys(&cwd, &["render", "--out", out_arg]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("holds the current directory"),
            "{}",
            stderr(&out)
        );
        assert_eq!(tree(&ws), before);
        assert_eq!(names(outer.path()), ["ws"]);
    }
}

/// Makes `dir`'s contents impossible to remove: a read-only directory for most users; root
/// ignores permissions, so for root an immutable file (ext4, xfs, btrfs). False where
/// neither is possible.
#[cfg(unix)]
fn make_unremovable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    if rustix::process::geteuid().is_root() {
        let file = dir.join("pinned.txt");
        fs::write(&file, "pinned\n").unwrap();
        return chattr("+i", &file);
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).is_ok()
}

#[cfg(unix)]
fn chattr(flag: &str, path: &Path) -> bool {
    Command::new("chattr")
        .args(["-R", flag])
        .arg(path)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Undoes [`make_unremovable`] wherever the directory went.
#[cfg(unix)]
fn release(ws: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for e in fs::read_dir(ws).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            let _ = fs::set_permissions(&p, fs::Permissions::from_mode(0o755));
            chattr("-i", &p);
        }
    }
}

#[cfg(unix)]
#[test]
fn a_previous_output_that_cannot_be_removed_is_reported_truly() {
    let ws = workspace();
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    if !make_unremovable(&ws.path().join("out")) {
        eprintln!("skipped: cannot make a directory unremovable here");
        return;
    }
    let out = berrys(ws.path(), &["render", "--out", "out"]);
    release(ws.path());
    assert_exit(&out, 0);
    let text = stderr(&out);
    assert!(text.contains("could not be removed"), "{text}");
    assert!(text.contains("wrote "), "{text}");
    assert!(
        !text.contains("unchanged") && !text.contains("as it was"),
        "{text}"
    );
    // The new output is in place, and the next render clears what was left.
    assert!(ws.path().join("out/kubernetes/api-gateway.yaml").is_file());
    assert_exit(&berrys(ws.path(), &["render", "--out", "out"]), 0);
    assert_eq!(names(ws.path()), ["out", "platform.toml"]);
}
