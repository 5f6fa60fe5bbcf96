"""``python -m pulumi_render_kv.blueprint render.yaml``: the same as ``render-kv-import``."""

import sys

from pulumi_render_kv.blueprint import main

sys.exit(main())
