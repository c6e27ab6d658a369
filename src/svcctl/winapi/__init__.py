"""The raw Win32 layer of svcctl's Windows backends: ctypes structures and prototypes, no policy.

``advapi32`` (the service API) and ``kernel32`` (job objects, console events, processes) load
their DLLs when imported, so only Windows code imports them, and only lazily (the backend
dispatch in :mod:`svcctl.mgr.backend` and the Windows dispatcher). This package itself imports
nothing, and :mod:`.buffers` (the grow-and-retry helper) is plain ctypes that imports anywhere.

Every prototype whose failure shows in its return value raises ``OSError`` with ``.winerror``
set, so the layers above translate errors in one place (``ScmError(exc.winerror)``).
"""
