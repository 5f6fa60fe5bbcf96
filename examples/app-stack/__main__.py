"""An app stack reading the quickstart's outputs through a StackReference.

The connection strings stay secrets on this side too: a StackReference returns secret
outputs as secrets, so they never show in plain text in this stack's preview or state.
"""

import pulumi

# The quickstart stack of this stack's name (dev reads dev, prod reads prod) unless
# `pulumi config set infraStack org/project/stack` names another.
config = pulumi.Config()
infra_name = (
    config.get("infraStack")
    or f"{pulumi.get_organization()}/render-kv-quickstart/{pulumi.get_stack()}"
)
infra = pulumi.StackReference(infra_name)


def infra_output(name: str) -> pulumi.Output:
    """An output of the quickstart stack, or an error saying which stack and what to run."""

    def present(value: object) -> object:
        if value is None:
            raise RuntimeError(
                f"stack {infra_name!r} has no output {name!r}: run `pulumi up` in the "
                f"quickstart project on stack {infra_name.rsplit('/', 1)[-1]!r} first, or "
                "`pulumi config set infraStack <org/project/stack>` to read another stack"
            )
        return value

    return infra.get_output(name).apply(present)


redis_url = infra_output("REDIS_URL")
queue_url = infra_output("QUEUE_URL")

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
        infra_output("REDIS_HOST"),
        ":",
        infra_output("REDIS_PORT").apply(lambda port: str(int(port))),
    ),
)
