"""Typed dataclass trees <-> TOML, with errors that name the key.

Generic machinery only: the experiment's tree lives in `pbml_control.running.config`. A dataclass
field's one-line documentation is the comment on the line above it (read by `field_docs`), so the
file that defines a config is also its reference.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from pbml_control.errors import ConfigError

T = TypeVar("T")


def _closest(key: str, options: list[str]) -> str:
    match = difflib.get_close_matches(key, options, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else f" (valid keys: {', '.join(options)})"


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Check `value` (from TOML or the command line) against the annotation `tp`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _convert(value, option, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{key}: {value!r} matches none of {tp}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table, got {value!r}")
        return from_dict(tp, value, prefix=key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        return [_convert(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{key} must be of type {_type_name(tp)}, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass `cls` from a nested dict; unknown keys are an error naming the key."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            raise ConfigError(f"unknown config key '{full}'{_closest(key, sorted(fields))}")
        kwargs[key] = _convert(value, hints[key], full)
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass tree as plain dicts and lists (TOML-ready)."""
    return dataclasses.asdict(obj)


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b.c=VALUE` -> (['a', 'b', 'c'], value). VALUE is read as a TOML value when it parses
    (numbers, booleans, lists, quoted strings) and as a bare string otherwise."""
    if "=" not in text:
        raise ConfigError(f"--set expects KEY=VALUE (e.g. population.size=128), got '{text}'")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set has an empty key in '{text}'")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `--set` overrides onto a nested dict (the key is checked later by `from_dict`)."""
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {text}: '{part}' is a value, not a table")
            node = child
        node[path[-1]] = value
    return data


#: How many files deep an `extends` chain may go.
MAX_EXTENDS = 32


def read_toml(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config file. A top-level `extends = "other.toml"` (relative to this file) starts
    from that file's values, which this file's tables then override key by key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist (see configs/ for examples)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file '{path}' is not valid TOML: {err}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file '{path}' is not UTF-8 text: {err.reason}") from err
    except OSError as err:
        raise ConfigError(f"config file '{path}' cannot be read: {err.strerror}") from err
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: extends must be a file name, got {base!r}")
    base_path = (path.parent / base).resolve()
    if base_path in _seen:
        raise ConfigError(f"{path}: extends '{base}' makes a cycle")
    if len(_seen) >= MAX_EXTENDS:
        raise ConfigError(
            f"{path}: more than {MAX_EXTENDS} files deep in 'extends'; flatten the chain"
        )
    return deep_merge(read_toml(base_path, (*_seen, path.resolve())), data)


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`, table by table (values and lists replace, tables merge)."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def dumps_toml(obj: Any) -> str:
    return tomli_w.dumps(plain_dict(obj))


def plain_dict(obj: Any) -> dict[str, Any]:
    """A dataclass tree as the dicts `dumps_toml` writes (None values left out)."""
    return _drop_none(to_dict(obj))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def field_docs(cls: type) -> dict[str, str]:
    """One-line docs of a dataclass's fields: the `#:` or `#` comment just above each field."""
    docs: dict[str, str] = {}
    lines = inspect.getsource(cls).splitlines()
    for i, line in enumerate(lines):
        name = line.strip().split(":", 1)[0]
        if i and name.isidentifier() and lines[i - 1].strip().startswith("#"):
            docs[name] = lines[i - 1].strip().lstrip("#:").strip()
    return docs


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A parsed config as dotted keys ('run.seed': 0); task and policy kwargs stay whole."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and key != "kwargs":
            out.update(flatten(value, f"{full}."))
        else:
            out[full] = value
    return out
