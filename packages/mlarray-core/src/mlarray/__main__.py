"""``python -m mlarray``: the ``mlarray`` command."""

import sys

from mlarray.cli import main

sys.exit(main())
