"""``python -m pulumi_render_kv.doctor doctor …``: the same as ``render-kv doctor …``."""

import sys

from pulumi_render_kv.doctor import main

sys.exit(main())
