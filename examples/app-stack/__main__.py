"""An app stack reading the quickstart's outputs through a StackReference.

The connection strings stay secrets on this side too: a StackReference returns secret
outputs as secrets, so they never show in plain text in this stack's preview or state.
"""

import pulumi

# The quickstart stack of this stack's name (dev reads dev, prod reads prod) unless
# `pulumi config set infraStack org/project/stack` names another.
config = pulumi.Config()
infra = pulumi.StackReference(
    config.get("infraStack")
    or f"{pulumi.get_organization()}/render-kv-quickstart/{pulumi.get_stack()}"
)

redis_url = infra.require_output("REDIS_URL")
queue_url = infra.require_output("QUEUE_URL")

# The environment an app service on Render would receive (for example through the
# Render provider's env vars, or a secrets manager).
pulumi.export(
    "app_environment",
    pulumi.Output.all(redis_url, queue_url).apply(
        lambda urls: {"REDIS_URL": urls[0], "CELERY_BROKER_URL": urls[1]}
    ),
)
# Numbers cross stacks as doubles: format the port as the integer it is.
pulumi.export(
    "cache_endpoint",
    pulumi.Output.concat(
        infra.require_output("REDIS_HOST"),
        ":",
        infra.require_output("REDIS_PORT").apply(lambda port: str(int(port))),
    ),
)
