//! Listening on a Unix domain socket path (`speedup serve --unix-socket`)
//! without ever destroying what the user keeps there:
//!
//! * a path that exists and is not a socket is refused, left as it is;
//! * a socket a server listens on is refused ("address in use", as a TCP
//!   port is);
//! * a stale socket (one nothing listens on: a connection is refused, as
//!   after a server that was killed) is replaced;
//! * the socket we made is removed when the server is done ([`OwnPath`]),
//!   unless something else has taken its path meanwhile.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};

use crate::listener::backlog;

/// The socket file a server made: removed when dropped, if it is still the
/// same file (same device and inode).
#[derive(Debug)]
pub(crate) struct OwnPath {
    path: PathBuf,
    device: u64,
    inode: u64,
}

impl Drop for OwnPath {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|meta| {
            meta.file_type().is_socket() && meta.dev() == self.device && meta.ino() == self.inode
        });
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A listening Unix socket at `path` queueing up to the same backlog as a
/// TCP one (see `listener`), non-blocking, and the path to remove when the
/// server is done. What exists at `path` is handled as the module says.
pub(crate) fn bind_unix(path: &Path, workers: usize) -> io::Result<(UnixListener, OwnPath)> {
    clear_stale(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&SockAddr::unix(path)?)?;
    let meta = std::fs::symlink_metadata(path)?;
    let own = OwnPath {
        path: path.to_owned(),
        device: meta.dev(),
        inode: meta.ino(),
    };
    socket.listen(backlog(workers))?;
    socket.set_nonblocking(true)?;
    Ok((socket.into(), own))
}

/// Removes a stale socket at `path`; refuses anything else there.
fn clear_stale(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        meta => meta?,
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "it exists and is not a socket (left as it is)",
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "a server listens on it",
        )),
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path)
        }
        Err(error) => Err(io::Error::new(
            error.kind(),
            format!("it is a socket, and whether a server listens on it cannot be told ({error}); left as it is"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder for one test.
    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("speedup-unix-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn a_file_that_is_not_a_socket_is_left_alone() {
        let path = scratch("file").join("notes.txt");
        std::fs::write(&path, "keep me").expect("write");
        let error = bind_unix(&path, 1).expect_err("bound over a file");
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            std::fs::read_to_string(&path).expect("still there"),
            "keep me"
        );
    }

    #[test]
    fn a_live_socket_is_refused_and_a_stale_one_replaced() {
        let path = scratch("live").join("s.sock");
        let (live, own) = bind_unix(&path, 1).expect("bind");
        let error = bind_unix(&path, 1).expect_err("bound twice");
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        // Closed without removing its path (as a killed server leaves it).
        drop(live);
        std::mem::forget(own);
        let (_again, own) = bind_unix(&path, 1).expect("stale socket replaced");
        drop(own);
        assert!(!path.exists(), "our socket left behind");
    }

    #[test]
    fn a_path_taken_by_another_file_meanwhile_is_not_removed() {
        let path = scratch("taken").join("s.sock");
        let (listener, own) = bind_unix(&path, 1).expect("bind");
        drop(listener);
        std::fs::remove_file(&path).expect("remove");
        std::fs::write(&path, "someone else's").expect("write");
        drop(own);
        assert_eq!(
            std::fs::read_to_string(&path).expect("kept"),
            "someone else's"
        );
    }
}
