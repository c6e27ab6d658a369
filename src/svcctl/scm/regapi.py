"""Registry calls of the portable SCM: reading keys, and writing a service's ``Parameters``.

Windows programs keep per-service settings next to the service (srvany's and NSSM's
``Services\\<name>\\Parameters``) and edit them with the registry API, which is not the SCM's.
The portable SCM's database is that registry, so it answers these calls itself, with the rights
of ``HKLM\\SYSTEM\\CurrentControlSet\\Services``: every local user reads, administrators write.
Values written here that the SCM itself interprets (Type, Start, ImagePath ...) go through the
configuration calls instead, so ``reg_set`` is limited to ``Parameters`` subtrees.
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    ERROR_ACCESS_DENIED,
    ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_PARAMETER,
    ERROR_SERVICE_DOES_NOT_EXIST,
    ScmError,
)
from ..regvalue import from_wire, to_wire
from .database import REG_BINARY, SERVICES
from .parts import ScmParts

_READABLE_ROOTS = ("services", "control")


def _normalize(key: str) -> str:
    parts = [p for p in key.replace("/", "\\").split("\\") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise ScmError(ERROR_INVALID_PARAMETER, f"bad key {key!r}")
    return "\\".join(parts)


class RegistryApi(ScmParts):
    """Mixed into :class:`~svcctl.scm.core.Scm`."""

    def reg_get(self, s: Any, scm: int, key: str) -> dict[str, dict[str, list[Any]]]:
        """Every key at or below ``key`` with its values, keys relative to ``key`` ("" for it)."""
        self._live()
        self._scm(s, scm)
        key = _normalize(key)
        if key.split("\\")[0].lower() not in _READABLE_ROOTS:
            raise ScmError(ERROR_FILE_NOT_FOUND, key)
        tree = self.db.read_tree(key)
        self._show_security(key, tree)
        return {
            stored[len(key) + 1:]: {name: to_wire(v) for name, v in values.items()}
            for stored, values in tree.items()
        }

    def _show_security(self, key: str, tree: dict[str, Any]) -> None:
        """Windows has a Security subkey for every service; a service here may have only the
        default descriptor, which is shown (and exported) as if stored."""
        parts = key.lower().split("\\")
        if parts[0] != SERVICES.lower() or len(parts) > 3 or parts[2:] not in ([], ["security"]):
            return  # the view asked for holds no Security key
        stored = {k.lower() for k in tree}
        for rec in self.records.values():
            sec = f"{SERVICES}\\{rec.name}\\Security"
            if (len(parts) == 1 or rec.name.lower() == parts[1]) and sec.lower() not in stored:
                tree[sec] = {"Security": (REG_BINARY, self.access.descriptor(rec.name).to_bytes())}

    def reg_set(self, s: Any, scm: int, key: str, values: dict[str, Any], replace: bool) -> None:
        """Set (or with ``None`` delete) values of one ``Services\\<name>\\Parameters`` key;
        ``replace`` drops the key's other values first. One transaction."""
        self._live()
        self._writable(s, scm, key)
        key = _normalize(key)
        if not isinstance(values, dict):
            raise ScmError(ERROR_INVALID_PARAMETER, "values must be an object")
        changes = {name: None if raw is None else from_wire(raw) for name, raw in values.items()}
        self.db.write({key: changes}, replace=[key] if replace else ())

    def reg_delete(self, s: Any, scm: int, key: str) -> None:
        """Delete a ``Parameters`` key (or a key below it) with everything under it."""
        self._live()
        self._writable(s, scm, key)
        self.db.delete_tree(_normalize(key))

    def reg_import(self, s: Any, scm: int, ops: Any) -> dict[str, list[str]]:
        """Apply a .reg file's operations (:mod:`.regimport`): administrators only, all or nothing."""
        self._live()
        self._scm(s, scm)
        if not s.who.admin:
            raise ScmError(ERROR_ACCESS_DENIED, "only administrators import into the Services key")
        from .regimport import apply_import

        return apply_import(self, ops)  # type: ignore[arg-type]

    def reload(self) -> None:
        """Re-read the records from the database (after an import changed it underneath)."""
        self._load()
        self.access.forget()

    def _writable(self, s: Any, scm: int, key: str) -> None:
        self._scm(s, scm)
        if not s.who.admin:
            raise ScmError(ERROR_ACCESS_DENIED, "only administrators write the Services key")
        parts = _normalize(key).split("\\")
        if len(parts) < 3 or parts[0].lower() != SERVICES.lower() or parts[2].lower() != "parameters":
            raise ScmError(ERROR_ACCESS_DENIED, "only Services\\<name>\\Parameters is writable this way")
        if parts[1].lower() not in self.records:
            raise ScmError(ERROR_SERVICE_DOES_NOT_EXIST, parts[1])
