//! Process limits a server with many clients runs into.
//!
//! Each client is one socket, so one file descriptor. Linux starts a
//! process with a *soft* limit of often 1024 open files, well under the
//! *hard* limit an unprivileged process may raise it to; a server meant
//! for a few thousand clients raises it first (as nginx or redis do).

/// Raises the soft limit on open files (`RLIMIT_NOFILE`) to the hard limit
/// and returns the limit now in force.
///
/// On systems without `setrlimit` it does nothing and returns `None`.
#[cfg(unix)]
pub fn raise_fd_limit() -> std::io::Result<Option<u64>> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live one.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit only reads the `rlimit` it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(Some(to_u64(limit.rlim_cur)))
}

/// `rlim_t` is a `u64` on Linux and macOS, an `i64` on some BSDs (where
/// no limit is negative: "unlimited" is `i64::MAX`).
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)]
fn to_u64(value: libc::rlim_t) -> u64 {
    value as u64
}

/// Raises the soft limit on open files (`RLIMIT_NOFILE`) to the hard limit
/// and returns the limit now in force.
///
/// On systems without `setrlimit` it does nothing and returns `None`.
#[cfg(not(unix))]
pub fn raise_fd_limit() -> std::io::Result<Option<u64>> {
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let now = super::raise_fd_limit().unwrap().expect("unix has limits");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in raise_fd_limit.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(limit.rlim_cur, limit.rlim_max);
        assert_eq!(now, super::to_u64(limit.rlim_cur));
    }
}
