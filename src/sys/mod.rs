//! Every system call keyward makes on the secrets' way to disk: files created `O_EXCL|O_NOFOLLOW`
//! with mode 0 then `fchown`/`fchmod` on the descriptor, directories walked without following
//! symlinks, `renameat`, mounts, locks, and user/group lookup from passwd/group files.
//! The rest of the crate is plain logic over these wrappers (no `unsafe` anywhere).

mod users;

pub use users::Users;

use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags, CWD};
use rustix::process::{Gid, Uid};

/// An owner to set with `fchown`; `None` when not running as root (files keep the caller's).
pub type Owner = Option<(u32, u32)>;

/// True when the effective uid is 0.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The effective uid and gid.
pub fn current_ids() -> (u32, u32) {
    (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    )
}

fn chown_fd(fd: impl AsFd, owner: Owner) -> io::Result<()> {
    if let Some((u, g)) = owner {
        rustix::fs::fchown(fd, Some(Uid::from_raw(u)), Some(Gid::from_raw(g)))?;
    }
    Ok(())
}

/// Open a directory (not following a final symlink).
pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        CWD,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Open `name` (one component) in `dir` as a directory, not following symlinks.
pub fn open_subdir(dir: impl AsFd, name: &str) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Make directory `name` in `dir` with exactly `mode` and `owner` (created owner-only, then
/// `fchown`/`fchmod` on its descriptor, so the umask never matters). Returns it opened.
pub fn mkdir_exact(dir: impl AsFd, name: &str, mode: u32, owner: Owner) -> io::Result<OwnedFd> {
    // 0700, not 0: the creator must be able to open it to fix owner and mode, and without
    // root's CAP_DAC_OVERRIDE a mode-0 directory cannot be opened. Nobody else can enter it
    // before the fchmod below, so this is as safe as mode 0.
    rustix::fs::mkdirat(dir.as_fd(), name, Mode::RWXU)?;
    let fd = open_subdir(dir, name)?;
    chown_fd(&fd, owner)?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    Ok(fd)
}

/// Create file `name` in `dir` with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0, write `bytes`,
/// then `fchown` and `fchmod` on the descriptor.
pub fn create_file(
    dir: impl AsFd,
    name: &str,
    bytes: &[u8],
    mode: u32,
    owner: Owner,
) -> io::Result<()> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut f = std::fs::File::from(fd);
    f.write_all(bytes)?;
    chown_fd(&f, owner)?;
    rustix::fs::fchmod(&f, Mode::from_raw_mode(mode))?;
    Ok(())
}

/// Where a walk through directories stopped.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("{0} is a symlink; keyward does not follow symlinks on the way to a path")]
    Symlink(PathBuf),
    #[error("{0} is not a directory")]
    NotDir(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Directories to create on a walk: mode and owner of each one made.
#[derive(Clone, Copy, Debug)]
pub struct DirSpec {
    pub mode: u32,
    pub owner: Owner,
}

/// Open the directory `rel` (relative, no `..`) below the open directory `base` (shown as
/// `shown` in messages), one component at a time with `O_NOFOLLOW`; with `create`, missing
/// components are made with its mode and owner (existing ones are left as they are).
pub fn walk_dirs(
    base: &OwnedFd,
    shown: &Path,
    rel: &Path,
    create: Option<DirSpec>,
) -> Result<OwnedFd, WalkError> {
    let mut cur = base.try_clone().map_err(|source| WalkError::Io {
        path: shown.to_path_buf(),
        source,
    })?;
    let mut at = shown.to_path_buf();
    for comp in rel.components() {
        let Component::Normal(name) = comp else {
            continue;
        };
        let name = name.to_string_lossy().into_owned();
        at.push(&name);
        let next = match open_subdir(&cur, &name) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOENT.raw_os_error()) => {
                match create {
                    Some(spec) => match mkdir_exact(&cur, &name, spec.mode, spec.owner) {
                        Ok(fd) => fd,
                        Err(source) => return Err(WalkError::Io { path: at, source }),
                    },
                    None => {
                        return Err(WalkError::Io {
                            path: at,
                            source: e,
                        })
                    }
                }
            }
            Err(e) => {
                // ELOOP (symlink with O_NOFOLLOW) or ENOTDIR: say which.
                return Err(
                    match rustix::fs::statat(&cur, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) if st.st_mode & 0o170000 == 0o120000 => WalkError::Symlink(at),
                        Ok(_)
                            if e.raw_os_error()
                                == Some(rustix::io::Errno::NOTDIR.raw_os_error()) =>
                        {
                            WalkError::NotDir(at)
                        }
                        _ => WalkError::Io {
                            path: at,
                            source: e,
                        },
                    },
                );
            }
        };
        cur = next;
    }
    Ok(cur)
}

/// Read a symlink's target (`None` if `name` does not exist; an error if it is not a link).
pub fn read_link_at(dir: impl AsFd, name: &str) -> io::Result<Option<PathBuf>> {
    match rustix::fs::readlinkat(dir, name, Vec::new()) {
        Ok(t) => Ok(Some(PathBuf::from(
            <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(t.into_bytes()),
        ))),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The kind of an entry without following symlinks: 'l', 'd', 'f' (anything else), or None.
pub fn kind_at(dir: impl AsFd, name: &str) -> io::Result<Option<char>> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(match st.st_mode & 0o170000 {
            0o120000 => 'l',
            0o040000 => 'd',
            _ => 'f',
        })),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Make `name` in `dir` a symlink to `target` by one `rename(2)` of a fresh link (made under a
/// temporary name, `lchown`ed to `owner`), so readers see the old or the new link, never none.
pub fn replace_symlink(dir: impl AsFd, name: &str, target: &Path, owner: Owner) -> io::Result<()> {
    let dir = dir.as_fd();
    let tmp = format!(".{name}.keyward-{}", std::process::id());
    let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
    rustix::fs::symlinkat(target, dir, tmp.as_str())?;
    if let Some((u, g)) = owner {
        if let Err(e) = rustix::fs::chownat(
            dir,
            tmp.as_str(),
            Some(Uid::from_raw(u)),
            Some(Gid::from_raw(g)),
            AtFlags::SYMLINK_NOFOLLOW,
        ) {
            let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
            return Err(e.into());
        }
    }
    if let Err(e) = rustix::fs::renameat(dir, tmp.as_str(), dir, name) {
        let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
        return Err(e.into());
    }
    Ok(())
}

/// Rename within one directory.
pub fn rename_at(dir: impl AsFd, from: &str, to: &str) -> io::Result<()> {
    let dir = dir.as_fd();
    Ok(rustix::fs::renameat(dir, from, dir, to)?)
}

/// Remove a file or symlink.
pub fn unlink_at(dir: impl AsFd, name: &str) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?)
}

/// Mode bits, uid, gid and kind ('f', 'd', 'l') of `name` in `dir`, without following links.
pub fn stat_at(dir: impl AsFd, name: &str) -> io::Result<(u32, u32, u32, char)> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let kind = match st.st_mode & 0o170000 {
        0o120000 => 'l',
        0o040000 => 'd',
        _ => 'f',
    };
    Ok((st.st_mode & 0o7777, st.st_uid, st.st_gid, kind))
}

const RAMFS_MAGIC: i64 = 0x858458f6;
const TMPFS_MAGIC: i64 = 0x01021994;

/// True if `path` is a mount point of the wanted type (ramfs, or tmpfs).
pub fn is_mounted(path: &Path, tmpfs: bool) -> io::Result<bool> {
    let fs = rustix::fs::statfs(path)?;
    #[allow(clippy::unnecessary_cast)]
    let ftype = fs.f_type as i64;
    let want = if tmpfs { TMPFS_MAGIC } else { RAMFS_MAGIC };
    if ftype != want {
        return Ok(false);
    }
    let here = rustix::fs::stat(path)?;
    let parent = rustix::fs::stat(path.join(".."))?;
    Ok(here.st_dev != parent.st_dev || here.st_ino == parent.st_ino)
}

/// Mount a ramfs (or a tmpfs with `noswap`, retried without it on kernels that refuse it) at
/// `path`, `nodev,nosuid,noexec`, mode 0751.
pub fn mount_secret_fs(path: &Path, tmpfs: bool) -> io::Result<()> {
    use rustix::mount::MountFlags;
    let flags = MountFlags::NODEV | MountFlags::NOSUID | MountFlags::NOEXEC;
    if tmpfs {
        match rustix::mount::mount("tmpfs", path, "tmpfs", flags, c"mode=0751,noswap") {
            Err(rustix::io::Errno::INVAL) => Ok(rustix::mount::mount(
                "tmpfs",
                path,
                "tmpfs",
                flags,
                c"mode=0751",
            )?),
            r => Ok(r?),
        }
    } else {
        Ok(rustix::mount::mount(
            "ramfs",
            path,
            "ramfs",
            flags,
            c"mode=0751",
        )?)
    }
}

/// `chown`/`chmod` an open directory.
pub fn set_dir_owner_mode(fd: impl AsFd, mode: u32, owner: Owner) -> io::Result<()> {
    chown_fd(fd.as_fd(), owner)?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(mode))?;
    Ok(())
}

/// An exclusive `flock` held until dropped.
pub struct Lock {
    _fds: Vec<OwnedFd>,
}

/// Lock the directory `path` (`flock(LOCK_EX)`), waiting at most `timeout`. Returns `None`
/// on timeout.
pub fn lock_dir(path: &Path, timeout: Duration) -> io::Result<Option<OwnedFd>> {
    let fd = open_dir(path)?;
    let deadline = Instant::now() + timeout;
    loop {
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Some(fd)),
            Err(rustix::io::Errno::WOULDBLOCK) => {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

impl Lock {
    pub fn new(fds: Vec<OwnedFd>) -> Lock {
        Lock { _fds: fds }
    }
}

/// (device, inode) of an open file.
pub fn dev_ino(fd: impl AsFd) -> io::Result<(u64, u64)> {
    let st = rustix::fs::fstat(fd)?;
    #[allow(clippy::unnecessary_cast)]
    Ok((st.st_dev as u64, st.st_ino as u64))
}

/// Kill this process with SIGKILL (fault injection: no destructor, no cleanup runs).
pub fn kill_self() -> ! {
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    // SIGKILL cannot be caught; if delivery were somehow delayed, never continue.
    std::process::abort()
}

fn split_rel(rel: &str) -> (&str, &str) {
    match rel.rsplit_once('/') {
        Some((p, b)) => (p, b),
        None => ("", rel),
    }
}

/// Read the regular file `rel` (a `/`-separated relative name) below `dir` without following
/// any symlink. `None` if it, or a directory on the way, does not exist or is not a file.
pub fn read_file_rel(dir: &OwnedFd, rel: &str) -> io::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    use std::io::Read;
    let (parent, base) = split_rel(rel);
    let pfd = match walk_dirs(dir, Path::new(""), Path::new(parent), None) {
        Ok(fd) => fd,
        Err(_) => return Ok(None),
    };
    let fd = match rustix::fs::openat(
        &pfd,
        base,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) => {
            return Ok(None)
        }
        Err(e) => return Err(e.into()),
    };
    if rustix::fs::fstat(&fd)?.st_mode & 0o170000 != 0o100000 {
        return Ok(None);
    }
    let mut buf = zeroize::Zeroizing::new(Vec::new());
    std::fs::File::from(fd).read_to_end(&mut buf)?;
    Ok(Some(buf))
}

/// What changes whenever a file is written, truncated, chmod-ed, chown-ed or replaced: inode,
/// size and ctime (which userspace cannot set). `None` when `rel` is missing.
pub fn fingerprint_rel(dir: &OwnedFd, rel: &str) -> io::Result<Option<String>> {
    let (parent, base) = split_rel(rel);
    let pfd = match walk_dirs(dir, Path::new(""), Path::new(parent), None) {
        Ok(fd) => fd,
        Err(_) => return Ok(None),
    };
    match rustix::fs::statat(&pfd, base, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(format!(
            "{}:{}:{}.{:09}",
            st.st_ino, st.st_size, st.st_ctime, st.st_ctime_nsec
        ))),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Mode, uid, gid and kind of `rel` below `dir`, not following symlinks; `None` if missing.
pub fn stat_rel(dir: &OwnedFd, rel: &str) -> io::Result<Option<(u32, u32, u32, char)>> {
    let (parent, base) = split_rel(rel);
    let pfd = match walk_dirs(dir, Path::new(""), Path::new(parent), None) {
        Ok(fd) => fd,
        Err(_) => return Ok(None),
    };
    match stat_at(&pfd, base) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
