//! TUN devices: the emulator's two ends of the link.
//!
//! A TUN device is a network interface whose "wire" is a file descriptor:
//! what the kernel sends through the interface, the process reads as one
//! whole IP packet per `read`; what the process writes, the kernel
//! receives as if it came in on the interface. With `IFF_NO_PI` there is
//! no extra header, and without `TUNSETOFFLOAD` the kernel hands over
//! packets no larger than the MTU (no segmentation offload), so each read
//! is one wire-sized packet.
//!
//! The device is made here, in this process's namespace, then moved into
//! a testbed namespace; the descriptor keeps working, and closing it
//! removes the device.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::TestbedError;

/// An open TUN device.
#[derive(Debug)]
pub struct Tun {
    file: File,
    name: String,
}

impl Tun {
    /// Opens a new TUN device named after `pattern` (`sltun%d`: the kernel
    /// picks the number), non-blocking.
    pub fn open(pattern: &CStr) -> Result<Tun, TestbedError> {
        let what = || "opening /dev/net/tun".to_string();
        // SAFETY: a NUL-terminated path and plain flags; the result is
        // checked before it is used as a descriptor.
        let fd = unsafe {
            libc::open(
                c"/dev/net/tun".as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(TestbedError::io(what(), io::Error::last_os_error()));
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: ifreq is plain old data; all zeroes is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        let bytes = pattern.to_bytes();
        if bytes.len() >= req.ifr_name.len() {
            return Err(TestbedError::io(
                what(),
                io::Error::new(io::ErrorKind::InvalidInput, "device name too long"),
            ));
        }
        for (dst, &b) in req.ifr_name.iter_mut().zip(bytes) {
            *dst = b as libc::c_char;
        }
        req.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one `struct ifreq` through a
        // pointer to a live one; the descriptor is open.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) };
        if rc < 0 {
            return Err(TestbedError::io(
                "TUNSETIFF on /dev/net/tun",
                io::Error::last_os_error(),
            ));
        }
        // The kernel wrote the chosen name back, NUL-terminated.
        let name: Vec<u8> = req
            .ifr_name
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        Ok(Tun {
            file: File::from(fd),
            name: String::from_utf8_lossy(&name).into_owned(),
        })
    }

    /// The interface's name as the kernel chose it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One packet into `buf`, or `None` when there is none waiting.
    pub fn read_packet(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.file.read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Hands one packet to the kernel, as if it came in on the interface.
    pub fn write_packet(&mut self, packet: &[u8]) -> io::Result<()> {
        let n = self.file.write(packet)?;
        if n != packet.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
        }
        Ok(())
    }
}

/// Waits up to `timeout` (to the nanosecond, as far as the kernel's timer
/// slack allows) for either device to have a packet; which ones do.
pub fn wait_readable(tuns: [&Tun; 2], timeout: Duration) -> io::Result<[bool; 2]> {
    let mut fds = tuns.map(|t| libc::pollfd {
        fd: t.file.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 10^9: fits a c_long of any width.
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: two live pollfd entries, a live timespec, no signal mask.
    let rc = unsafe { libc::ppoll(fds.as_mut_ptr(), 2, &ts, std::ptr::null()) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok([false; 2]);
        }
        return Err(e);
    }
    Ok(fds.map(|f| f.revents & (libc::POLLIN | libc::POLLERR) != 0))
}

/// Asks for this thread's timers to fire on time (the default slack is
/// 50 µs, which is most of a 1500-byte frame's 120 µs at 100 Mbit/s).
pub fn tighten_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}
