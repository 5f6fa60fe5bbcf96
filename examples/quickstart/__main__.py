"""Quickstart: a cache and a job queue on Render Key Value.

``make demo`` runs this program against the local Render emulator (with the Pulumi CLI when
it is installed). To edit it and run it yourself, ``make playground`` copies it to a folder
of your own (the README's "Use it" says how); ``make test`` runs this copy as it is.
"""

import pulumi

import pulumi_render_kv as render_kv

# Render names need not be unique, but the provider refuses to create an instance whose name
# the workspace already has (it could be a twin left by an interrupted `pulumi up`): the stack
# name in each name lets stacks dev, staging, prod... share one workspace.
stack = pulumi.get_stack()

# A cache: evicts least-recently-used keys when full, reachable only from Render's
# private network (empty allow list).
cache = render_kv.KeyValue(
    "cache",
    name=f"{stack}-cache",
    plan="starter",
    workload="cache",
)

# A job queue (Celery, Sidekiq, BullMQ…): never evicts, journals every write, and admits
# the office network to its external TLS endpoint. `pulumi config set extraAllowedCidr …`
# admits one more network (the demo uses it to reach the queue from this machine).
config = pulumi.Config()
allowed = [render_kv.IpAllowEntry(cidr_block="203.0.113.0/24", description="office")]
if extra := config.get("extraAllowedCidr"):
    allowed.append(render_kv.IpAllowEntry(cidr_block=extra, description="extra (config)"))

queue = render_kv.KeyValue(
    "jobs",
    name=f"{stack}-jobs",
    plan="starter",
    workload="queue",
    ip_allow_list=allowed,
)

# Connection strings are always secrets; host and port are plain.
pulumi.export("REDIS_URL", cache.internal_connection_string)
pulumi.export("REDIS_HOST", cache.host)
pulumi.export("REDIS_PORT", cache.port)
pulumi.export("QUEUE_URL", queue.internal_connection_string)
pulumi.export("QUEUE_EXTERNAL_URL", queue.external_connection_string)
pulumi.export("QUEUE_HOST", queue.host)
pulumi.export("QUEUE_PORT", queue.port)
