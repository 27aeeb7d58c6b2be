"""`pbml config list` and `pbml config show NAME`: the configs that ship with the package."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "config",
        help="list or print the configs that ship with the package",
        description="The documented configs ship with the package, so they work from a wheel "
        "install with no checkout: `pbml train quickstart` trains one by name, and `pbml config "
        "show quickstart > my.toml` writes one to start your own from.",
    )
    what = p.add_subparsers(dest="what", metavar="WHAT", parser_class=type(p))
    what.required = True
    what.add_parser("list", help="the packaged configs' names")
    show = what.add_parser("show", help="print a packaged config (redirect it into a file)")
    show.add_argument("name", help="a packaged config's name, e.g. quickstart")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.running.packaged import packaged_configs, resolve_config

    if args.what == "list":
        for name in packaged_configs():
            print(name)
        return 0
    print(resolve_config(args.name).read_text(), end="")
    return 0
