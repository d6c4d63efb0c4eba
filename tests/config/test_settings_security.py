"""Security settings: which proxies are trusted, the metrics token, the API docs switch."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from app.config.settings import Settings


def test_no_proxy_is_trusted_by_default() -> None:
    settings = Settings()
    assert settings.trusted_proxy_list() == ()
    assert settings.proxy_options() == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert settings.metrics_token is None and settings.api_docs is False


def test_trusted_proxies_are_ips_or_networks() -> None:
    settings = Settings(trusted_proxies=" 10.0.0.5, 10.1.0.0/16 ,::1")
    assert settings.proxy_options() == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.5,10.1.0.0/16,::1",
    }
    with pytest.raises(ValidationError, match="COUNTERSIGN_TRUSTED_PROXIES: '\\*'"):
        Settings(trusted_proxies="10.0.0.5,*")


def test_a_placeholder_metrics_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="COUNTERSIGN_METRICS_TOKEN is a placeholder"):
        Settings(metrics_token=SecretStr("changeme"))
