"""`env` sealing (`objects._seal_env`): secret env values sealed at any depth, and a body with
no `env` list (a CRD's megabytes of schema) returned as it is instead of copied."""

from __future__ import annotations

from app.semdiff.kubernetes.objects import _seal_env, _Sealed


def test_a_body_without_an_env_list_is_not_copied() -> None:
    schema = {"properties": {"env": {"type": "array", "items": {"type": "object"}}}}
    assert _seal_env(schema, "spec") is schema
    rows = [{"name": "PASSWORD", "value": "hunter2-storefront"}]
    assert _seal_env(rows, "ports") is rows  # a list not under `env` holds no env items


def test_secret_env_values_are_sealed_at_any_depth() -> None:
    spec = {
        "template": {
            "spec": {
                "initContainers": [
                    {"env": [{"name": "DB_PASSWORD", "value": "hunter2-storefront"}]}
                ],
                "containers": [{"env": [{"name": "LOG_LEVEL", "value": "debug"}]}],
            }
        }
    }
    sealed = _seal_env(spec, "spec")
    inner = sealed["template"]["spec"]
    assert isinstance(inner["initContainers"][0]["env"][0]["value"], _Sealed)
    assert inner["containers"][0]["env"][0]["value"] == "debug"
    assert spec["template"]["spec"]["initContainers"][0]["env"][0]["value"] == (
        "hunter2-storefront"
    )  # the parsed value (shared with the cache) is never changed in place
    env = [{"name": "API_TOKEN", "value": "sk_live_51HxExampleSecretKey"}]
    assert isinstance(_seal_env(env, "env")[0]["value"], _Sealed)
