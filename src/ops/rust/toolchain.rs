//! What Rust cells need besides this binary: cargo and rustc, and the standard library's source
//! (the rust-src component), which evcxr's analysis reads. Checked before evcxr starts, so that a
//! missing piece is named with the command that installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

const INSTALL_RUST: &str =
    "install Rust with rustup (https://rustup.rs), then run `rustup component add rust-src`";

/// Where a tool is: on PATH, or in cargo's own bin folder, where rustup puts it.
fn find(tool: &str) -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain(cargo_home.map(|home| home.join("bin")))
        .map(|dir| dir.join(tool))
        .find(|path| path.is_file())
}

/// Ok when Rust cells can run here, with the folder of the standard library's shared object
/// (`rustc --print target-libdir`); otherwise what is missing and how to install it.
pub fn check() -> Result<PathBuf, String> {
    let missing: Vec<&str> = ["cargo", "rustc"]
        .into_iter()
        .filter(|tool| find(tool).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "Rust cells need {}, which {} not found on PATH or in ~/.cargo/bin: {INSTALL_RUST}",
            missing
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(" and "),
            if missing.len() == 1 { "was" } else { "were" },
        ));
    }
    let rustc = find("rustc").expect("found above");
    let print = |what: &str| {
        Command::new(&rustc)
            .args(["--print", what])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
            .ok_or_else(|| {
                format!(
                    "`{} --print {what}` failed: {INSTALL_RUST}",
                    rustc.display()
                )
            })
    };
    rust_src(&print("sysroot")?)?;
    print("target-libdir")
}

/// The rust-src component, in a toolchain's sysroot.
fn rust_src(sysroot: &Path) -> Result<(), String> {
    let library = sysroot.join("lib/rustlib/src/rust/library");
    if library.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "Rust cells need the standard library's source, which is not in {}: run `rustup component add rust-src`",
            sysroot.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sysroot_without_rust_src_says_how_to_add_it() {
        let sysroot = std::env::temp_dir().join(format!("no-rust-src-{}", std::process::id()));
        std::fs::create_dir_all(sysroot.join("lib/rustlib")).unwrap();
        let problem = rust_src(&sysroot).unwrap_err();
        assert!(
            problem.contains("rustup component add rust-src"),
            "{problem}"
        );
        std::fs::create_dir_all(sysroot.join("lib/rustlib/src/rust/library")).unwrap();
        assert_eq!(rust_src(&sysroot), Ok(()));
        std::fs::remove_dir_all(&sysroot).unwrap();
    }
}
