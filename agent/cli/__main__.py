"""``python -m agent.cli``: the `cleanroom` command."""

import sys

from agent.cli import main

sys.exit(main())
