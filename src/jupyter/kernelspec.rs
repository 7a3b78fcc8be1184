//! Writing a kernelspec (`kernel.json` and logos) where Jupyter looks for kernels.

use serde_json::json;
use std::path::{Path, PathBuf};

/// Where to install, as `jupyter kernelspec install` names the choices.
#[derive(Debug, Clone)]
pub enum Location {
    /// The user's Jupyter data directory (`$JUPYTER_DATA_DIR`, else `~/.local/share/jupyter`).
    User,
    /// The active Python environment's prefix (`$VIRTUAL_ENV`, `$CONDA_PREFIX`, else `python3`'s).
    SysPrefix,
    Prefix(PathBuf),
}

pub struct KernelSpec<'a> {
    pub name: &'a str,
    pub display_name: &'a str,
    pub language: &'a str,
    pub argv: Vec<String>,
    /// File name and bytes of each logo (`logo-32x32.png`, `logo-64x64.png`, `logo-svg.svg`).
    pub logos: &'a [(&'a str, &'a [u8])],
}

/// Why a kernelspec could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot {what} {}: {why}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        why: std::io::Error,
    },
    #[error("HOME is not set: use --prefix to say where to install")]
    NoHome,
    #[error("--sys-prefix needs an active Python (python3 not found: {0})")]
    NoPython(std::io::Error),
    #[error("--sys-prefix: python3 could not tell its sys.prefix")]
    NoSysPrefix,
}

fn file_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstallError {
    let path = path.to_owned();
    move |why| InstallError::File { what, path, why }
}

impl KernelSpec<'_> {
    /// Writes the kernelspec and returns the directory it is in.
    pub fn install(&self, location: &Location) -> Result<PathBuf, InstallError> {
        let dir = data_dir(location)?.join("kernels").join(self.name);
        std::fs::create_dir_all(&dir).map_err(file_error("create", &dir))?;
        let spec = json!({
            "argv": self.argv,
            "display_name": self.display_name,
            "language": self.language,
            "interrupt_mode": "message",
            "metadata": { "debugger": false },
        });
        let text = serde_json::to_string_pretty(&spec).expect("JSON values serialize");
        write(&dir.join("kernel.json"), text.as_bytes())?;
        for (file, bytes) in self.logos {
            write(&dir.join(file), bytes)?;
        }
        Ok(dir)
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    std::fs::write(path, bytes).map_err(file_error("write", path))
}

fn data_dir(location: &Location) -> Result<PathBuf, InstallError> {
    match location {
        Location::Prefix(prefix) => Ok(absolute(prefix)?.join("share").join("jupyter")),
        Location::SysPrefix => Ok(sys_prefix()?.join("share").join("jupyter")),
        Location::User => {
            if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR") {
                return Ok(PathBuf::from(dir));
            }
            let home = std::env::var_os("HOME").ok_or(InstallError::NoHome)?;
            let home = PathBuf::from(home);
            Ok(if cfg!(target_os = "macos") {
                home.join("Library").join("Jupyter")
            } else {
                home.join(".local").join("share").join("jupyter")
            })
        }
    }
}

fn absolute(path: &Path) -> Result<PathBuf, InstallError> {
    std::path::absolute(path).map_err(file_error("resolve", path))
}

fn sys_prefix() -> Result<PathBuf, InstallError> {
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(prefix) = std::env::var_os(var) {
            return Ok(PathBuf::from(prefix));
        }
    }
    let output = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .map_err(InstallError::NoPython)?;
    if !output.status.success() {
        return Err(InstallError::NoSysPrefix);
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_kernel_json_and_logos_under_prefix() {
        let prefix = std::env::temp_dir().join(format!("kernelspec-test-{}", std::process::id()));
        let spec = KernelSpec {
            name: "demo",
            display_name: "Demo",
            language: "demo",
            argv: vec!["/bin/demo".into(), "{connection_file}".into()],
            logos: &[("logo-svg.svg", b"<svg/>")],
        };
        let dir = spec.install(&Location::Prefix(prefix.clone())).unwrap();
        assert_eq!(dir, prefix.join("share/jupyter/kernels/demo"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("kernel.json")).unwrap()).unwrap();
        assert_eq!(json["argv"][1], "{connection_file}");
        assert_eq!(json["interrupt_mode"], "message");
        assert_eq!(std::fs::read(dir.join("logo-svg.svg")).unwrap(), b"<svg/>");
        std::fs::remove_dir_all(prefix).unwrap();
    }
}
