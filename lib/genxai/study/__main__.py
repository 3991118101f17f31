"""``python -m genxai.study serve|export|analyse|demo-items ...`` (the same as ``genxai study ...``)."""

import sys

from .cli import main

sys.exit(main())
