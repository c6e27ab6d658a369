"""``python -m svcctl`` runs the ``svcctl`` command."""

import sys

from .cli.main import main

sys.exit(main())
