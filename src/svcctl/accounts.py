"""Service accounts (B146) as Unix accounts: who a service's process really runs as.

* LocalSystem (also ``.\\LocalSystem``, ``NT AUTHORITY\\SYSTEM``): the daemon's own user (root
  when it runs as root);
* ``NT AUTHORITY\\LocalService`` and ``NT AUTHORITY\\NetworkService``: ``nobody``;
* ``NT SERVICE\\<name>`` (virtual account): a uid of its own from 61184 up (the range systemd gives
  dynamic users), with no passwd entry, no supplementary groups and HOME ``/`` (as systemd's
  dynamic users have);
* ``.\\user``, ``HOST\\user``, ``user``: that Unix user, with its groups and home.

Anything else, or a user that does not exist, is refused with 1057 when the service is created or
changed. A daemon that is not root can only run services as itself: another account fails the
start with 1069 (logon failure), as a wrong password does on Windows.
"""

from __future__ import annotations

import os
import pwd
import socket

from .errors import ERROR_INVALID_SERVICE_ACCOUNT, ERROR_SERVICE_LOGON_FAILED, ScmError
from .types import _Record

LOCAL_SYSTEM_NAMES = ("", "localsystem", ".\\localsystem", "nt authority\\system")
_NOBODY_NAMES = ("nt authority\\localservice", "nt authority\\networkservice")
VIRTUAL_PREFIX = "nt service\\"
#: Virtual accounts take uids from systemd's DynamicUser range, so they collide with no user.
VIRTUAL_UID_BASE, VIRTUAL_UID_COUNT = 61184, 4352


class Account(_Record):
    __slots__ = ("object_name", "uid", "gid", "groups", "home", "user", "shell")
    object_name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str
    user: str
    shell: str

    def __init__(self, object_name: str, uid: int, gid: int, groups: tuple[int, ...], home: str, user: str,
                 shell: str = "/bin/sh") -> None:
        self._set(object_name=object_name, uid=uid, gid=gid, groups=groups, home=home, user=user, shell=shell)

    @property
    def is_daemon_user(self) -> bool:
        return self.uid == os.geteuid()

    def environment(self) -> dict[str, str]:
        """HOME, USER, LOGNAME and SHELL as a login as this account would have them."""
        return {"HOME": self.home, "USER": self.user, "LOGNAME": self.user, "SHELL": self.shell}


def _from_passwd(object_name: str, entry: pwd.struct_passwd) -> Account:
    groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))  # as initgroups: the primary one too
    return Account(object_name, entry.pw_uid, entry.pw_gid, groups, entry.pw_dir or "/", entry.pw_name,
                   entry.pw_shell or "/bin/sh")


def virtual_uid(service: str) -> int:
    """A stable uid for ``NT SERVICE\\<service>``: hashed into the range, skipping taken uids."""
    import zlib  # (only virtual accounts need it: the daemon need not map libz for every start)

    start = zlib.crc32(service.lower().encode()) % VIRTUAL_UID_COUNT
    for i in range(VIRTUAL_UID_COUNT):
        uid = VIRTUAL_UID_BASE + (start + i) % VIRTUAL_UID_COUNT
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise ScmError(ERROR_INVALID_SERVICE_ACCOUNT, "no free uid for a virtual account")


def resolve(object_name: str) -> Account:
    """The Unix account behind an ObjectName; 1057 when there is none."""
    low = object_name.strip().lower()
    if low in LOCAL_SYSTEM_NAMES:
        return _from_passwd(object_name, pwd.getpwuid(os.geteuid()))
    if low in _NOBODY_NAMES:
        try:
            return _from_passwd(object_name, pwd.getpwnam("nobody"))
        except KeyError:
            raise ScmError(ERROR_INVALID_SERVICE_ACCOUNT, "no 'nobody' user for LocalService") from None
    if low.startswith(VIRTUAL_PREFIX):
        service = object_name.strip()[len(VIRTUAL_PREFIX):]
        if not service or "\\" in service or "/" in service:
            raise ScmError(ERROR_INVALID_SERVICE_ACCOUNT, object_name)
        uid = virtual_uid(service)
        return Account(object_name, uid, uid, (), "/", f"svc-{service}"[:32])
    domain, sep, user = object_name.strip().rpartition("\\")
    if sep and domain.lower() not in (".", socket.gethostname().lower(), "localhost"):
        raise ScmError(ERROR_INVALID_SERVICE_ACCOUNT, f"{object_name}: only local accounts exist here")
    try:
        return _from_passwd(object_name, pwd.getpwnam(user))
    except KeyError:
        raise ScmError(ERROR_INVALID_SERVICE_ACCOUNT, f"{object_name}: no such user") from None


def logon(object_name: str) -> Account:
    """The account a service starts as; 1069 (logon failure) when it is gone or this daemon
    cannot become it, as Windows answers a start whose account cannot log on."""
    try:
        account = resolve(object_name or "LocalSystem")
    except ScmError as exc:
        raise ScmError(ERROR_SERVICE_LOGON_FAILED, exc.strerror) from None
    check_can_run_as(account)
    return account


def check_can_run_as(account: Account) -> None:
    """1069 at start when this daemon cannot become the account (only root switches users)."""
    if not account.is_daemon_user and os.geteuid() != 0:
        raise ScmError(ERROR_SERVICE_LOGON_FAILED, f"the daemon is not root and cannot run as {account.object_name}")


def can_use(account: Account, path: str, mode: int) -> bool:
    """Whether ``account`` may reach ``path`` and use it with ``mode`` (os.R_OK/W_OK/X_OK bits),
    judged from the permission bits along the path (root may do anything)."""
    if account.uid == 0:
        return True
    groups = {account.gid, *account.groups}

    def allowed(st: os.stat_result, want: int) -> bool:
        if st.st_uid == account.uid:
            bits = (st.st_mode >> 6) & 7
        elif st.st_gid in groups:
            bits = (st.st_mode >> 3) & 7
        else:
            bits = st.st_mode & 7
        return bits & want == want

    path = os.path.abspath(path)
    parts = path.split(os.sep)
    for i in range(1, len(parts)):
        directory = os.sep.join(parts[:i]) or os.sep
        try:
            if not allowed(os.stat(directory), 1):
                return False
        except OSError:
            return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    want = (4 if mode & os.R_OK else 0) | (2 if mode & os.W_OK else 0) | (1 if mode & os.X_OK else 0)
    return allowed(st, want)
