"""KeyValueProvider: the dynamic provider the Pulumi engine drives.

The reconciliation is the core's (:class:`~pulumi_render_kv.core.reconcile.KeyValueCore`);
this face adds what only the SDK's dynamic-provider server needs: being a
``ResourceProvider``, and a ``configure`` that starts the watchdog and the one-line errors.

Existing states hold the provider pickled by reference to this module's
``KeyValueProvider``, so the class stays here under that name, with no attributes of its own:
the blob is the same on every run and never holds a credential.
"""

from __future__ import annotations

from pulumi.dynamic import ConfigureRequest, ResourceProvider

from pulumi_render_kv.core._config import ProviderConfig
from pulumi_render_kv.core.reconcile import KeyValueCore
from pulumi_render_kv.provider import _shown_errors, _watchdog


class KeyValueProvider(KeyValueCore, ResourceProvider):
    """CRUD for Render Key Value instances, with upgrade-only plans and exact diffs."""

    def configure(self, req: ConfigureRequest) -> None:
        # Called once per provider process before any other method: the first moment our
        # code runs in the SDK's server. The process exits when its engine dies, and our
        # errors reach the user as one line rather than a traceback.
        _watchdog.start()
        _shown_errors.install()
        self.use_config(ProviderConfig.from_config(req.config))
