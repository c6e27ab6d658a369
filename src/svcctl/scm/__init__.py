"""The portable service control manager (``svcctl serve``): Windows' SCM semantics on POSIX."""
