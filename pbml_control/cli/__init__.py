"""The `pbml` command. Each subcommand lives in its own module of this package and exposes
`add_parser(subparsers)` (which must set `func`) and a runner; this file only wires them up.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from pbml_control.errors import Terminated, UserError
from pbml_control.signals import sigterm_as_interrupt

#: What `pbml --help` says first (the module docstring above is for developers).
DESCRIPTION = (
    "Evolve adaptable MuJoCo robot controllers with Population-Based Meta Learning: train a "
    "population, then plot, record, transfer or resume the run."
)

#: Subcommand modules, in the order `pbml --help` lists them. A module that is not there yet is
#: skipped, so the CLI works while parts of the toolkit are missing.
COMMAND_MODULES = (
    "train",
    "resume",
    "transfer",
    "evaluate",
    "record",
    "export",
    "plot",
    "experiment",
    "study",
    "analyse",
    "config",
    "bench",
)


class DefaultsFormatter(argparse.HelpFormatter):
    """Every option that takes a value shows its default: appended as "(default: X)" unless the
    help already says what the default is (for a default of None it must: "default: the run's")."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text.lower() or not action.option_strings or action.nargs == 0:
            return text
        if default is None or default is argparse.SUPPRESS or default == []:
            return text
        if isinstance(default, list | tuple):
            shown = " ".join(str(v) for v in default).replace("%", "%%")
            return f"{text} (default: {shown})"
        return f"{text} (default: %(default)s)"


class CommandsFormatter(argparse.HelpFormatter):
    """`pbml --help`: every command name (the longest, "experiment", too) on the line of its help.
    argparse sizes the name column without the commands' extra indent, so it is widened here."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=18)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        self._action_max_length = max(self._action_max_length, 16)


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr and exit status 2, and whose help
    shows every default."""

    def __init__(self, *args, formatter_class=DefaultsFormatter, **kwargs) -> None:
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="pbml",
        description=DESCRIPTION,
        epilog="`pbml COMMAND --help` shows a command's options and their defaults.",
        formatter_class=CommandsFormatter,
    )
    from pbml_control import __version__

    parser.add_argument("--version", action="version", version=f"pbml-control {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser, title="commands"
    )
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"pbml_control.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"pbml_control.cli.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


@contextmanager
def goal_notes(command: str) -> Iterator[None]:
    """Show `pbml_envs.GoalOutsideDistribution` warnings as one line each: `pbml CMD: note: ...`.

    The registry already notes each goal once per process and the rollout workers stay quiet, so
    a goal outside the training distribution is one line on stderr, however many envs use it.
    """
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if category.__name__ == "GoalOutsideDistribution" and category.__module__.startswith(
            "pbml_envs"
        ):
            print(f"pbml {command}: note: {message}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status. SIGTERM takes Ctrl-C's path from the start (not only
    while training), so a command stopped while it imports or starts workers ends in one line."""
    with sigterm_as_interrupt():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    try:  # building the parser imports the commands (torch, gymnasium): Ctrl-C may land here
        parser = build_parser()
    except Terminated:
        print("pbml: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("pbml: interrupted", file=sys.stderr)
        return 130
    args = parser.parse_args(argv)
    try:
        with goal_notes(args.command):
            return int(args.func(args) or 0)
    except UserError as err:
        print(f"pbml {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # full disk, read-only or unwritable folder: one line, the cause
        where = f" '{err.filename}'" if err.filename else ""
        print(f"pbml {args.command}: error:{where}: {err.strerror or err}; what was saved before "
              "stays (resume continues from the last checkpoint)", file=sys.stderr)  # fmt: skip
        return 1
    except MemoryError:
        print(f"pbml {args.command}: error: out of memory (population or network too large "
              "for this machine)", file=sys.stderr)  # fmt: skip
        return 1
    except KeyboardInterrupt as err:
        from pbml_control.signals import ignore_interrupts, interrupts_held

        if argv is None:  # the `pbml` process itself is ending: a second Ctrl-C, however
            ignore_interrupts()  # late, changes nothing and the status stays 130
        with interrupts_held():
            what = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
            print(f"pbml {args.command}: {what}{saved_note(err)}", file=sys.stderr)
            return 143 if isinstance(err, Terminated) else 130


def saved_note(err: KeyboardInterrupt) -> str:
    """'; saved checkpoint C (generation N); continue with: pbml resume RUN' when the run
    saved one on the way out (`pbml_control.running.run` sets these attributes)."""
    checkpoint = getattr(err, "checkpoint", None)
    if checkpoint is None:
        return ""
    from pbml_control.running.run import resume_command

    return (
        f"; saved checkpoint {checkpoint} (generation {err.generation}); continue with: "
        f"{resume_command(err.run_dir)}"
    )


if __name__ == "__main__":
    sys.exit(main())
