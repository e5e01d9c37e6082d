"""Entry point: builds the Typer app and turns every user error into one line and exit code 2."""

import importlib
import sys
from typing import Optional

import typer

from envcheck import __version__
from envcheck.cli import streams
from envcheck.cli.entry import interrupted
from envcheck.errors import DataError, UserError
from envcheck.probes.children import Stopped
from envcheck.render.console import clean_text, write

# Typer vendors click in recent releases and uses the real one in older: take the classes from
# typer's own exception hierarchy so both work.
_USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

# name -> (module, attribute); "mirror" and "compat" (compat refresh) are groups of their own.
COMMANDS = {
    "doctor": ("doctor_cmd", "doctor"),
    "install-cmd": ("install_cmd", "install_cmd"),
    "diff": ("diff_cmd", "diff"),
    "onnx": ("onnx_cmd", "onnx"),
    "bench": ("bench_cmd", "bench"),
    "data": ("data_cmd", "data"),
    "cluster": ("cluster_cmd", "cluster"),
    "compat": ("compat_cmd", "app"),
    "gpus": ("gpus_cmd", "gpus"),
    "mirror": ("mirror_cmd", "app"),
    "pin": ("pin_cmd", "pin"),
}


def build_app(only: Optional[str] = None) -> typer.Typer:
    """The Typer app with every command, or with just the one being run: Typer builds every
    registered command's parameters on each start, and install-cmd has 1.5x `import typer, rich`
    for all of its start-up (docs/DESIGN.md)."""
    app = typer.Typer(
        name="envcheck",
        help="Diagnose a deep-learning GPU stack and print the exact commands that fix it.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,  # our own one-line errors; locals could hold secrets
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    for name, (module, attr) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(f"envcheck.cli.{module}"), attr)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    app.callback()(_root)
    return app


def _invoked(args: list) -> Optional[str]:
    """The command the arguments name, if any (options before it are the root's)."""
    for a in args:
        if not a.startswith("-"):
            return a if a in COMMANDS else None
    return None


def _version(value: bool) -> None:
    if value:
        write(sys.stdout, f"envcheck {__version__}\n")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error."),
) -> None:
    """envcheck: is this GPU stack right, and if not, what fixes it?"""


def _fail(message: str, code: int = 2) -> int:
    one_line = " ".join(part.strip() for part in clean_text(message).splitlines() if part.strip())  # a value typed with a newline
    write(sys.stderr, f"envcheck: error: {one_line}\n")
    return code


def _internal(exc: Exception) -> int:
    return _fail(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback, and please report it)")


def _stop_children() -> None:
    """Ctrl-C or SIGTERM: no child process (the torch probe above all) outlives envcheck."""
    from envcheck.probes.children import stop_all  # Ctrl-C only: no command's start-up pays for it

    stop_all()


def _missing_command(command, args: list) -> Optional[str]:
    """The message for a bare `envcheck` or `envcheck mirror`, else None. Asked before click runs:
    click before 8.2 (the newest on Python 3.9) answers a group without its command with the help
    on stdout and exit 0, later ones with an empty usage error."""
    if any(a in ("-h", "--help", "--version") for a in args):
        return None
    group, path = command, "envcheck"
    for word in (a for a in args if not a.startswith("-")):
        group = getattr(group, "commands", {}).get(word)
        if group is None:
            return None  # not a command: click's own message names it
        path = f"{path} {word}"
    if not hasattr(group, "commands") or getattr(group, "invoke_without_command", False):
        return None  # a command, or a group that answers on its own (`compat --gpu 3090`)
    return f"{path} needs a command: {', '.join(group.list_commands(None))} (see: {path} --help)"


def main(argv: Optional[list[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    command = typer.main.get_command(build_app(_invoked(args)))
    try:
        missing = _missing_command(command, args)
        if missing:
            raise UserError(missing)
        code = command.main(args=args, prog_name="envcheck", standalone_mode=False)
        streams.flush()
    except SystemExit as exc:  # click's own answer to a closed pipe: exit 1, which we make 141
        if not streams.pipe_closed_under_click():
            raise
        code = streams.CLOSED_PIPE if exc.code == 1 else exc.code
    except streams.StdoutFault as exc:  # > /dev/full, a full disk, a pipe whose reader has gone
        code, line = streams.output_fault(exc)
        if line:
            code = _fail(line, code)
    except UserError as exc:
        if debug:
            raise
        code = _fail(str(exc))
    except _USAGE_ERROR as exc:
        if debug:
            raise
        hint = f" (see: envcheck {exc.ctx.command_path.split(' ', 1)[1]} --help)" if exc.ctx and " " in exc.ctx.command_path else " (see: envcheck --help)"
        code = _fail(exc.format_message() + hint)
    except _CLICK_EXCEPTION as exc:
        if debug:
            raise
        code = _fail(exc.format_message())
    except typer.Abort:
        code = 130
    except DataError as exc:
        if debug:
            raise
        code = _fail(f"envcheck's own compat tables are broken ({exc}); please report this")
    except (KeyboardInterrupt, Stopped):
        code = 130
    except Exception as exc:  # a bug of envcheck's: still one line, the traceback only with --debug
        if debug:
            raise
        code = _internal(exc)
    if code == 130:  # typer turns Ctrl-C (and our SIGTERM) into this exit code; children must not outlive us
        _stop_children()
        code = interrupted()
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
