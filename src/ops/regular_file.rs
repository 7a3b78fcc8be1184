//! Files a step reads whole (metrics files, secrets, journals to replay): regular files under a
//! size cap, so that `/dev/zero`, a FIFO or a huge sparse file is refused at once with a clear
//! error instead of hanging the kernel or filling its memory.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The cap when `PLAYBOOK_MAX_FILE_BYTES` does not set one: 1 GiB.
const DEFAULT_CAP: u64 = 1 << 30;

/// The most bytes a file may have, and whether the user can change it.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    bytes: u64,
    settable: bool,
}

impl Cap {
    /// For metrics files and journals: `PLAYBOOK_MAX_FILE_BYTES`, or 1 GiB.
    pub fn data() -> Cap {
        let bytes = std::env::var("PLAYBOOK_MAX_FILE_BYTES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_CAP);
        Cap {
            bytes,
            settable: true,
        }
    }

    /// A cap of the file's kind, that no setting changes.
    pub const fn fixed(bytes: u64) -> Cap {
        Cap {
            bytes,
            settable: false,
        }
    }
}

/// Opens `path` for reading if it is a regular file of at most `cap` bytes; the reader fails
/// if the file grows past the cap while it is read.
pub fn open(path: &Path, cap: Cap) -> io::Result<Capped<File>> {
    // Non-blocking, so that opening a FIFO with no writer returns at once and is then refused
    // by its type; reads of a regular file are not affected.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    let kind = meta.file_type();
    let not_regular = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(what) = not_regular {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file"),
        ));
    }
    if meta.len() > cap.bytes {
        return Err(too_large(Ok(meta.len()), cap));
    }
    Ok(Capped {
        inner: file,
        left: cap.bytes,
        cap,
        past_cap: "it grew while it was read",
    })
}

/// What a compressed file decompresses to, under the same cap as a file: a small file may
/// decompress to any size.
pub fn decompressed<R: Read>(inner: R, cap: Cap) -> Capped<R> {
    Capped {
        inner,
        left: cap.bytes,
        cap,
        past_cap: "it holds more once decompressed",
    }
}

/// The whole content of a regular file of at most `cap` bytes.
pub fn read(path: &Path, cap: Cap) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(path, cap)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn too_large(size: Result<u64, &str>, cap: Cap) -> io::Error {
    let size = match size {
        Ok(size) => format!("it has {}", super::human_bytes(size)),
        Err(past_cap) => past_cap.to_owned(),
    };
    let setting = if cap.settable {
        " (PLAYBOOK_MAX_FILE_BYTES sets the cap, in bytes)"
    } else {
        ""
    };
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{size}, over the {} a file may have here{setting}",
            super::human_bytes(cap.bytes)
        ),
    )
}

/// A reader that fails once more than its cap was read.
pub struct Capped<R> {
    inner: R,
    left: u64,
    cap: Cap,
    /// What the error says happened.
    past_cap: &'static str,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte past the cap is asked for, to tell "exactly the cap" from "more".
        let room = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(too_large(Err(self.past_cap), self.cap));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

impl Capped<File> {
    /// Passes over the next `bytes` bytes without reading them.
    pub fn skip(&mut self, bytes: u64) -> io::Result<()> {
        if bytes > self.left {
            return Err(too_large(Err(self.past_cap), self.cap));
        }
        let by = i64::try_from(bytes).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        self.inner.seek(io::SeekFrom::Current(by))?;
        self.left -= bytes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("playbook-regular-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn special_files_are_refused_by_their_kind() {
        for (path, what) in [
            ("/dev/zero", "a device"),
            ("/tmp", "a directory"),
            ("/dev/null", "a device"),
        ] {
            let error = read(Path::new(path), Cap::fixed(1 << 20)).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("it is {what}, not a regular file")
            );
        }
    }

    #[test]
    fn a_fifo_without_writer_is_refused_without_waiting() {
        let path = std::env::temp_dir().join(format!("playbook-fifo-{}", std::process::id()));
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let error = read(&path, Cap::fixed(1 << 20)).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(error.to_string(), "it is a FIFO, not a regular file");
    }

    #[test]
    fn the_cap_is_exact_and_named() {
        let path = temp("ten", b"0123456789");
        assert_eq!(read(&path, Cap::fixed(10)).unwrap().len(), 10);
        let error = read(&path, Cap::fixed(9)).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("it has 10 B, over the 9 B a file may have here"),
            "{error}"
        );
    }

    #[test]
    fn a_file_that_grows_past_the_cap_while_read_fails() {
        let path = temp("growing", b"x");
        let mut capped = open(&path, Cap::fixed(1000)).unwrap();
        std::fs::write(&path, [b'x'; 2000]).unwrap();
        let mut sink = Vec::new();
        let error = capped.read_to_end(&mut sink).unwrap_err();
        assert!(
            error.to_string().contains("grew while it was read"),
            "{error}"
        );
        assert!(sink.len() <= 1000);
    }

    #[test]
    fn what_decompresses_past_the_cap_fails() {
        let mut capped = decompressed(std::io::repeat(b'x'), Cap::fixed(1000));
        let mut sink = Vec::new();
        let error = capped.read_to_end(&mut sink).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("it holds more once decompressed, over the 1000 B"),
            "{error}"
        );
        assert!(sink.len() <= 1000);
    }
}
