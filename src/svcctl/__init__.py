"""svcctl: write, run and manage services with Windows service semantics, on any OS.

``svcctl.mgr`` is the manager side (create, configure, control services), ``svcctl.svc`` the
service side (write a service), ``svcctl.types`` / ``svcctl.errors`` their shared vocabulary.
Importing this package loads nothing else, so ``import svcctl.svc`` stays cheap in every
service process.
"""

__version__ = "0.1.0"
