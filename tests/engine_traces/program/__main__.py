"""One Key Value instance, shaped by stack config: the program of the engine-trace scenario.

Each step of ``tests/engine_traces/scenario.py`` sets config and runs a CLI command; the same
steps replay through ``pulumi_render_kv.testing``, so the two conversations can be compared.
"""

import pulumi

import pulumi_render_kv as render_kv

config = pulumi.Config()
allow = [c for c in (config.get("allowList") or "").split(",") if c]
log_setting = config.get("logSetting")
log_stream = (
    render_kv.LogStream(
        setting=log_setting, endpoint=config.get("logEndpoint"), token=config.get("logToken")
    )
    if log_setting
    else None
)

cache = render_kv.KeyValue(
    "cache",
    plan=config.get("plan") or "starter",
    region=config.get("region") or "oregon",
    maxmemory_policy=config.get("policy") or "allkeys_lru",
    ip_allow_list=allow,
    name=config.get("name"),
    environment_id=config.get("environmentId"),
    log_stream=log_stream,
    suspended=config.get_bool("suspended"),
    deletion_protection=config.get_bool("deletionProtection"),
    allow_data_loss=config.get_bool("allowDataLoss"),
    adopt_existing=config.get_bool("adoptExisting"),
)
pulumi.export("url", cache.internal_connection_string)
pulumi.export("host", cache.host)

if existing := config.get("readId"):
    # KeyValue.get: a ReadStep with the program's props as both inputs and state.
    seen = render_kv.KeyValue.get("seen", existing)
    pulumi.export("seenPlan", seen.plan)
