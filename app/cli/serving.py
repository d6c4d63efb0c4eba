"""`countersign serve` helpers: the locked migration of `--migrate`, and the worker role's
signal handling (SIGTERM finishes or gives back the in-flight delivery)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from app.runtime.context import Runtime


def migrate_locked(url: str) -> None:
    """`serve --migrate`: upgrade under the migration lock and say what this starter did."""
    from app.store.migrate_lock import upgrade_locked

    result = upgrade_locked(url)
    if result.applied:
        typer.echo(
            f"countersign: migrations applied: {result.before or '<none>'} -> "
            f"{result.after.current}",
            err=True,
        )
    else:
        typer.echo(f"countersign: migrations already at {result.after.current}", err=True)


def serve_workers(runtime: Runtime, workers: int) -> None:
    """`serve --role worker`: run the pool until SIGTERM/SIGINT, then stop it gracefully."""
    import signal
    import threading

    from app.service.app import close_runtime
    from app.service.worker import WorkerPool

    stop = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    pool = WorkerPool(runtime, workers=workers)
    pool.start()
    typer.echo(
        f"countersign worker: {len(pool.workers)} worker(s); SIGTERM or Ctrl-C to stop", err=True
    )
    try:
        while not stop.wait(1.0):
            pass
        released = pool.stop()
        typer.echo(
            f"countersign worker: stopped ({released} in-flight delivery(ies) given back)",
            err=True,
        )
    finally:
        close_runtime(runtime)
