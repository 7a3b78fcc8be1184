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

/// What is missing for Rust cells, and how to install it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolchainError {
    /// `cargo` or `rustc`, or both, on neither PATH nor cargo's bin folder.
    #[error(
        "Rust cells need {}, which {} not found on PATH or in ~/.cargo/bin: {INSTALL_RUST}",
        .0.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(" and "),
        if .0.len() == 1 { "was" } else { "were" },
    )]
    Missing(Vec<&'static str>),
    /// `rustc --print WHAT` failed.
    #[error("`{} --print {what}` failed: {INSTALL_RUST}", rustc.display())]
    Print { rustc: PathBuf, what: &'static str },
    /// The rust-src component is not in this sysroot.
    #[error(
        "Rust cells need the standard library's source, which is not in {}: run `rustup component add rust-src`",
        .0.display()
    )]
    NoRustSrc(PathBuf),
}

/// Ok when Rust cells can run here, with the folder of the standard library's shared object
/// (`rustc --print target-libdir`); otherwise what is missing and how to install it.
pub fn check() -> Result<PathBuf, ToolchainError> {
    let missing: Vec<&str> = ["cargo", "rustc"]
        .into_iter()
        .filter(|tool| find(tool).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ToolchainError::Missing(missing));
    }
    let rustc = find("rustc").expect("found above");
    let print = |what: &'static str| {
        Command::new(&rustc)
            .args(["--print", what])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
            .ok_or_else(|| ToolchainError::Print {
                rustc: rustc.clone(),
                what,
            })
    };
    rust_src(&print("sysroot")?)?;
    print("target-libdir")
}

/// The rust-src component, in a toolchain's sysroot.
fn rust_src(sysroot: &Path) -> Result<(), ToolchainError> {
    let library = sysroot.join("lib/rustlib/src/rust/library");
    if library.is_dir() {
        Ok(())
    } else {
        Err(ToolchainError::NoRustSrc(sysroot.to_owned()))
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
        assert_eq!(problem, ToolchainError::NoRustSrc(sysroot.clone()));
        let message = problem.to_string();
        assert!(
            message.contains("rustup component add rust-src"),
            "{message}"
        );
        std::fs::create_dir_all(sysroot.join("lib/rustlib/src/rust/library")).unwrap();
        assert_eq!(rust_src(&sysroot), Ok(()));
        std::fs::remove_dir_all(&sysroot).unwrap();
    }
}
