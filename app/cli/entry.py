"""The `countersign` entry point: a plain `countersign analyze …` runs without Typer.

Agents pre-flight every change, so `analyze` pays its start-up each time. Typer costs about a
tenth of that (its import, then a pydantic `TypeAdapter` built for each of the command's options
on every run), which a command line of known `--option value` pairs does not need. Anything
else, `--help`, an unknown or repeated option, a value Typer must judge, and every other
command, goes to the Typer application in `app/cli/main.py`, unchanged. `tests/cli/test_entry.py`
holds the option table here to the Typer command's.
"""

from __future__ import annotations

import codecs
import errno
import gc
import os
import re
import sys
from importlib import import_module
from pathlib import Path

from app.cli.analyze import FORMATS

# `analyze`'s options: flag → keyword of `run_analyze`. All take one value; none has an envvar.
OPTIONS: dict[str, str] = {
    "--repo": "repo",
    "--base": "base",
    "--head": "head",
    "--diff": "diff",
    "--author": "author",
    "--repo-name": "repo_name",
    "--format": "fmt",
    "--rules-dir": "rules_dir",
    "--policies-dir": "policies_dir",
    "--plan": "plan",
    "--plan-dir": "plan_dir",
}
PATHS = frozenset({"repo", "rules_dir", "policies_dir", "plan"})
_COMPLETION = "_COUNTERSIGN_COMPLETE"  # click's shell-completion request for `countersign`
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # what click's echo strips when not on a terminal


def plain_analyze(args: list[str]) -> dict[str, object] | None:
    """The keyword arguments of `run_analyze` for `analyze`'s own arguments, or None when the
    command line is anything but known options with plain values (Typer then reads it)."""
    params: dict[str, object] = {}
    rest = iter(args)
    for arg in rest:
        flag, has_value, value = arg.partition("=")
        name = OPTIONS.get(flag)
        if name is None or name in params:
            return None
        if not has_value:
            value = next(rest, "")
        if not value or (value.startswith("-") and value != "-"):
            return None  # missing, empty or option-like: Typer's own message or reading
        if name == "fmt" and value not in FORMATS:
            return None
        params[name] = Path(value) if name in PATHS else value
    return params


def main() -> None:
    """Console entry: the plain path for a plain `analyze`, else the Typer application."""
    argv = sys.argv[1:]
    plain = argv[:1] == ["analyze"] and _COMPLETION not in os.environ  # a shell asks Typer
    params = plain_analyze(argv[1:]) if plain else None
    if params is None:
        from app.cli.main import main as typer_main

        typer_main()
        return
    _analyze(params)


def _analyze(params: dict[str, object]) -> None:
    """What the Typer path does for `analyze`: the callback's logging set-up, the command, the
    exit codes and messages of `app.cli.main.main` (0, 2 usage error, 1 failure)."""
    from app.cli.analyze import run_analyze
    from app.cli.console import stderr
    from app.core.errors import CountersignError, UsageError
    from app.runtime.stdlib_logs import route_stdlib_logging

    route_stdlib_logging()
    try:
        _import_the_gate()
        _echo(run_analyze(**params))  # type: ignore[arg-type]
        # The report is out. Interpreter shutdown then runs full garbage collections over the
        # ~40,000 objects of the loaded modules, a fifth of the run's CPU; frozen objects are
        # not traversed (nothing here waits on a finalizer: output is flushed, files closed).
        gc.freeze()
    except UsageError as exc:
        stderr().print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(2) from None
    except CountersignError as exc:
        stderr().print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except EOFError:
        sys.stderr.write("\n")  # what click writes before its Abort
        stderr().print("aborted")
        raise SystemExit(1) from None
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # the reader went away (`| head`): exit 1 quietly, as click
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
            raise SystemExit(1) from None
        _unexpected(exc)
    except Exception as exc:
        _unexpected(exc)


def _import_the_gate() -> None:
    """Import the gate's modules with the collector paused, then freeze what they made: those
    objects live until exit, and the collections an import-heavy start triggers (about a hundred)
    would walk them again and again."""
    gc.disable()
    try:
        import_module("app.gate.pipeline")
    finally:
        gc.freeze()
        gc.enable()


def _unexpected(exc: Exception) -> None:
    from app.cli.console import stderr

    stderr().print(f"[red]unexpected error:[/red] {type(exc).__name__}: {exc} (rerun with --debug)")
    raise SystemExit(1) from None


def _echo(text: str) -> None:
    """click's `echo` for one string on stdout: a newline, colours stripped off a terminal, and
    UTF-8 where the stream says ASCII (a misconfigured locale; click writes UTF-8 there too)."""
    out = sys.stdout
    if not out.isatty():
        text = _ANSI.sub("", text)
    buffer = getattr(out, "buffer", None)  # None: not over bytes (a StringIO), written as is
    if buffer is not None and codecs.lookup(out.encoding or "ascii").name == "ascii":
        out.flush()
        buffer.write((text + "\n").encode("utf-8", "replace"))
        buffer.flush()
        return
    out.write(text + "\n")
    out.flush()
