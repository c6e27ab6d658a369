"""The ``svcctl`` command."""
