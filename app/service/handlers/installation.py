"""`installation` and `installation_repositories`: which accounts and repositories the App was
installed on (or removed from), recorded in the audit chain. These events name no repository of
their own, so they are handled before the dispatcher asks for one."""

from __future__ import annotations

from app.service.handlers.base import Event, Outcome
from app.store.audit import store


def handle(event: Event) -> Outcome:
    payload, data = event.payload, event.data
    repos = [
        r.get("full_name")
        for key in ("repositories", "repositories_added")
        for r in data.get(key) or []
        if isinstance(r, dict)
    ]
    store.append(
        event.rt.engine,
        "installation",
        {
            "action": payload.action,
            "installation_id": payload.installation.id if payload.installation else None,
            "account": (data.get("installation") or {}).get("account", {}).get("login"),
            "repositories": repos,
            "sender": payload.sender.login if payload.sender else None,
        },
    )
    return "done"
