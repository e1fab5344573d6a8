from __future__ import annotations

import sys

from xenlint.cli.main import main

sys.exit(main())
