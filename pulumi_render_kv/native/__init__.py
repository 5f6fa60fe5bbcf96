"""``render-kv``: the KeyValue resource as a real Pulumi provider package.

For YAML, TypeScript and Python programs alike, with ``pulumi import``, per-property diffs,
warnings on the resource and no cap on parallel operations. The same core (validation,
planning, reconciliation, waiting: ``pulumi_render_kv.core``) as the dynamic resource, whose
face (``pulumi_render_kv.provider``) it never imports.

One job per module: ``schema`` (the package schema), ``provider`` (the SDK ``Provider``
adapter over the core), ``server`` (the gRPC servicer and server), ``plugin`` (the folder
the engine runs, and ``render-kv-provider``, which prepares it), ``_values``, ``_diff`` and
``_engine_log`` (conversions, the detailed diff, logging through the engine).
"""
