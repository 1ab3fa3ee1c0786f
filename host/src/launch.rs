//! Starting the traced command only once its recorder is ready.
//!
//! `record` forks the command's process first, held before `exec` at a gate (a
//! pipe), so that the tracer can be started with its pid; only then is the
//! gate opened and the command executed. If the tracer fails to start, the
//! gate is closed instead: the held process exits (127) without ever running
//! the command, so a failed start never launches, nor kills, the command.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork, pipe2};

/// A forked process waiting, before `exec`, for [`Held::release`].
#[derive(Debug)]
pub struct Held {
    pid: Pid,
    gate: Option<OwnedFd>,
}

fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte"))
}

/// Forks a process that will run `program` (a path) with `argv` (argv[0] first)
/// and this process's environment, with `env` set over it, once released.
pub fn spawn_held(
    program: &Path,
    argv: &[String],
    env: &[(std::ffi::OsString, std::ffi::OsString)],
) -> io::Result<Held> {
    // Everything the child needs is built before the fork: after it, the child
    // calls only async-signal-safe functions (close, read, signal, sigprocmask,
    // execve, _exit).
    let path = c_string(program.as_os_str().as_bytes())?;
    let args: Vec<CString> = argv
        .iter()
        .map(|a| c_string(a.as_bytes()))
        .collect::<io::Result<_>>()?;
    let overrides = env;
    let env: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .chain(overrides.iter().cloned())
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            c_string(&kv)
        })
        .collect::<io::Result<_>>()?;
    let mut arg_ptrs: Vec<*const nix::libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const nix::libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    // The command starts as std's Command would start it: no signal blocked,
    // SIGPIPE back to its default (the Rust runtime ignores it in jetmem).
    let empty = nix::sys::signal::SigSet::empty();
    let (read_end, write_end) = pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let (r, w) = (read_end.as_raw_fd(), write_end.as_raw_fd());
    // SAFETY: in the child, until execve or _exit, only async-signal-safe
    // libc calls run (close, read, signal, sigprocmask, execve, _exit) on memory prepared above;
    // no allocation, no lock, no Rust destructor.
    match unsafe { fork() }? {
        // SAFETY: see above; the fds and pointers are valid in the child's copy.
        ForkResult::Child => unsafe {
            nix::libc::close(w);
            let mut go = 0u8;
            loop {
                let n = nix::libc::read(r, (&raw mut go).cast(), 1);
                if n == 1 {
                    break;
                }
                if n < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                    continue;
                }
                // The gate closed without a go: the recorder did not start.
                nix::libc::_exit(127);
            }
            nix::libc::signal(nix::libc::SIGPIPE, nix::libc::SIG_DFL);
            nix::libc::sigprocmask(nix::libc::SIG_SETMASK, empty.as_ref(), std::ptr::null_mut());
            nix::libc::execve(path.as_ptr(), arg_ptrs.as_ptr(), env_ptrs.as_ptr());
            nix::libc::_exit(127)
        },
        ForkResult::Parent { child } => {
            drop(read_end);
            Ok(Held {
                pid: child,
                gate: Some(write_end),
            })
        }
    }
}

impl Held {
    /// The held process's pid (the command's, once released).
    pub fn pid(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    /// Opens the gate: the process executes the command.
    pub fn release(mut self) -> io::Result<Pid> {
        let gate = self.gate.take();
        if let Some(fd) = &gate {
            nix::unistd::write(fd, &[1])?;
        }
        Ok(self.pid)
    }
}

impl Drop for Held {
    /// Not released: the gate closes, the held process exits without running
    /// the command, and it is reaped.
    fn drop(&mut self) {
        if self.gate.take().is_some() {
            let _ = waitpid(self.pid, None);
        }
    }
}
