"""The Render Key Value policy pack: ``pulumi preview --policy-pack examples/policy-pack``.

Every rule lives in ``pulumi_render_kv.policy``; this folder only serves them. Levels and
settings come from ``--policy-pack-config`` (see ``policy-config.example.json``).
"""

from pulumi_render_kv.policy import serve

serve()
