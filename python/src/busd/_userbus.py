"""busd._userbus: trust checks for the user bus (docs/python.md, "Addresses").

Without XDG_RUNTIME_DIR the user bus lives in /tmp/busd-$UID, a name anyone
can create first. Before connecting through that fallback, the directory must
be a real directory (lstat: not a symbolic link) of this uid or root, not
writable by group or others; after connecting to the user bus by either rule
($XDG_RUNTIME_DIR/busd/bus too), the daemon's uid (SO_PEERCRED) must be this
uid or root. Other addresses are the caller's choice and are not checked.
The same rules as libbus's userbus.c. Stats and getsockopt only; sends nothing.
"""
import os
import socket
import stat
import struct
from typing import Optional

from . import _wire
from .errors import UntrustedBus

_SHARED = 0o022  # group- or other-writable


def _trusted(uid: int) -> bool:
    return uid in (0, os.getuid(), os.geteuid())


def _user_bus(path: str) -> Optional[bool]:
    """None when path is not the user bus's socket, else whether it is the
    /tmp fallback's."""
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    stream, _ = _wire.parse_address(_wire.user_address(os.environ))
    if path not in (stream, stream + ".seq"):
        return None
    return not xdg.startswith("/")


def check_dir(path: str) -> None:
    """Before connecting to path. Raises UntrustedBus."""
    if not _user_bus(path):
        return
    d = os.path.dirname(path)
    try:
        st = os.lstat(d)
    except OSError:
        return  # nothing there: connect() says so
    if not stat.S_ISDIR(st.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a directory"
        raise UntrustedBus("untrusted_bus", "the user bus directory %s is %s (owner uid %d), not a directory: "
                           "refusing it as a possible squatter's; remove it, or set XDG_RUNTIME_DIR"
                           % (d, what, st.st_uid), {"path": d, "uid": st.st_uid}, local=True)
    if not _trusted(st.st_uid):
        raise UntrustedBus("untrusted_bus", "the user bus directory %s belongs to uid %d, not to you (uid %d) or "
                           "root: refusing it as a possible squatter's; remove it, or set XDG_RUNTIME_DIR"
                           % (d, st.st_uid, os.getuid()), {"path": d, "uid": st.st_uid}, local=True)
    if st.st_mode & _SHARED:
        raise UntrustedBus("untrusted_bus", "the user bus directory %s (owner uid %d) is writable by group or "
                           "others (mode %04o): refusing it; make it private (chmod 700) or set XDG_RUNTIME_DIR"
                           % (d, st.st_uid, stat.S_IMODE(st.st_mode)), {"path": d, "uid": st.st_uid}, local=True)


def check_peer(sock: socket.socket, path: str) -> None:
    """After connecting sock to path: the daemon's uid. Raises UntrustedBus."""
    if _user_bus(path) is None:
        return
    pid, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    if not _trusted(uid):
        raise UntrustedBus("untrusted_bus", "the user bus daemon at %s runs as uid %d (pid %d), not as you (uid %d) "
                           "or root: refusing it as a possible squatter's" % (path, uid, pid, os.getuid()),
                           {"path": path, "uid": uid}, local=True)
