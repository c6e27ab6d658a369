"""``python -m svcctl`` runs the ``svcctl`` command."""

import sys

from .cli.main import exit_status, main

sys.exit(exit_status(main()))
