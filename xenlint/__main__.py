from __future__ import annotations

import sys

from xenlint.cli import main

sys.exit(main())
