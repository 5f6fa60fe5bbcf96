"""ProviderConfig: where the provider's credentials come from, and where they never go."""

from __future__ import annotations

import copy
import pickle

import pytest

from pulumi_render_kv.core._config import ProviderConfig

KEY = "rnd_providerConfigKey0123456789"


def test_provider_config_refuses_to_be_pickled() -> None:
    """Like RenderSettings: a pickled config would carry the key into the provider blob."""
    config = ProviderConfig(api_key=KEY, owner_id="tea-a")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="must not be pickled") as caught:
            pickle.dumps(config, protocol=protocol)
        assert KEY not in str(caught.value)
    with pytest.raises(TypeError, match="must not be pickled"):
        copy.copy(config)


def test_provider_config_repr_hides_the_key() -> None:
    assert KEY not in repr(ProviderConfig(api_key=KEY))
