"""The core both faces adapt: validation, planning, reconciliation and waiting, once.

``reconcile`` (:class:`KeyValueCore`: check, diff, create, read, update, delete), ``_convert``
(Pulumi's dicts to and from the model), ``_config`` (provider config), ``_find`` (lookups),
``_wait`` (waiting for an instance), ``_report`` (progress and warnings, routed per face),
``_holdings`` and ``_day_two``. It imports neither face: the dynamic resource
(``pulumi_render_kv.provider``) nor the real provider (``pulumi_render_kv.native``).
"""
