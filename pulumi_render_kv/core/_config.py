"""Where the provider finds its credentials: stack config first, then the environment.

Nothing here is stored on the pickled provider: the Pulumi SDK calls ``configure`` in each
provider process with the stack config the engine hands it, and the environment is read in
that process, so a rotated ``RENDER_API_KEY`` takes effect at the next command. (The engine
itself keeps the stack config, encrypted, with the default provider in state, and refresh
and destroy configure from that copy: a key set with ``pulumi config set`` counts from the
next ``pulumi up``.) Render authenticates with ``Authorization: Bearer <API key>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

if TYPE_CHECKING:
    from pulumi_render_kv.client import RenderSettings

CONFIG_NAMESPACE = "render"

# Ids of instances a create may take over although they are not in Pulumi's state: the
# repair after an interrupted `pulumi up`, one command with no edit of the program.
ENV_ADOPT = "RENDER_KV_ADOPT"


def adopt_ids() -> frozenset[str]:
    """The ids in ``RENDER_KV_ADOPT`` (comma- or space-separated), read at each create."""
    raw = os.environ.get(ENV_ADOPT, "")
    return frozenset(part for part in raw.replace(",", " ").split() if part)


def _refuse_pickle() -> NoReturn:
    raise TypeError(
        "ProviderConfig holds the Render API key and must not be pickled (it would end up in "
        "the Pulumi provider blob and state). Read the configuration in the provider process."
    )


class ConfigSource(Protocol):
    def get(self, key: str) -> Any: ...


@dataclass(frozen=True)
class ProviderConfig:
    """Stack config values for the provider; the key is never shown by repr."""

    api_key: str | None = field(default=None, repr=False)
    owner_id: str | None = None
    api_url: str | None = None

    @classmethod
    def from_config(cls, config: ConfigSource) -> ProviderConfig:
        def get(key: str) -> str | None:
            value = config.get(f"{CONFIG_NAMESPACE}:{key}")
            return str(value) if value not in (None, "") else None

        return cls(api_key=get("apiKey"), owner_id=get("ownerId"), api_url=get("apiUrl"))

    # Nothing pickles a configured provider today, but the SDK pickles the provider into
    # state: were that ever to happen after configure(), the key would land in the blob.
    # Refuse, as RenderSettings does.
    def __reduce__(self) -> NoReturn:
        _refuse_pickle()

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        _refuse_pickle()

    def settings(self) -> RenderSettings:
        """These values first, then RENDER_API_KEY / RENDER_OWNER_ID / RENDER_API_URL."""
        # Imported here, by the first call that needs a client: check and diff need none.
        from pulumi_render_kv.client import RenderSettings  # noqa: PLC0415

        return RenderSettings.resolve(
            api_key=self.api_key, owner_id=self.owner_id, base_url=self.api_url
        )
