//! What berrys reads: only regular files of bounded size, with a clear error (exit 2) for
//! anything else, and never a wait on a FIFO or a read of an endless device.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;

/// Runs berrys, killing it if it has not finished within ten seconds (a hang is a failure,
/// not a stuck test run).
fn berrys(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(get_cargo_bin("berrys"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("berrys {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn refused(dir: &Path, file: &str, message: &str) {
    for command in ["lint", "render"] {
        let out = berrys(dir, &[command, "-f", file]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command} {file}: {err}");
        assert!(err.contains(message), "{command} {file}: {err}");
        assert!(
            !dir.join("rendered").exists(),
            "{command} {file} wrote output"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("platform.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    refused(
        dir.path(),
        "platform.toml",
        "is not a regular file (it is a FIFO)",
    );
}

#[cfg(unix)]
#[test]
fn a_device_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        dir.path(),
        "/dev/zero",
        "is not a regular file (it is a device)",
    );
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("platform.toml")).unwrap();
    refused(
        dir.path(),
        "platform.toml",
        "is not a regular file (it is a directory)",
    );
}

#[test]
fn a_file_above_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = fs::File::create(dir.path().join("platform.toml")).unwrap();
    // Sparse: the limit is checked on the size, so nothing of it is read.
    file.set_len(berrys::source::MAX_SOURCE_BYTES + 1).unwrap();
    refused(
        dir.path(),
        "platform.toml",
        "above the limit of 16777216 bytes",
    );
}

#[test]
fn a_file_at_the_size_limit_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = fs::read_to_string(common::root().join("platform.toml")).unwrap();
    let pad = berrys::source::MAX_SOURCE_BYTES as usize - text.len();
    text.push_str(&"#".repeat(pad - 1));
    text.push('\n');
    fs::write(dir.path().join("platform.toml"), &text).unwrap();
    let out = berrys(dir.path(), &["lint"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(unix)]
#[test]
fn a_link_to_a_platform_file_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        common::root().join("platform.toml"),
        dir.path().join("platform.toml"),
    )
    .unwrap();
    let out = berrys(dir.path(), &["lint"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
