"""Property-based fuzzing (hypothesis): any `--set` value and any checkpoint JSON field gives a
config or a one-line error (UserError), never a traceback."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pbml_control.errors import UserError  # noqa: E402
from pbml_control.running.checkpoint import json_digest, list_checkpoints, load_checkpoint  # noqa: E402
from pbml_control.running.config import Config, load_config  # noqa: E402
from pbml_control.running.run import load_run_state, read_checkpoint_config, start_run  # noqa: E402
from pbml_control.running.trainer import build_experiment  # noqa: E402
from tests.core.test_trainer import TINY  # noqa: E402

EXAMPLES = 2000


def config_keys(cls=Config, prefix: str = "") -> list[str]:
    keys = []
    for field in dataclasses.fields(cls):
        default = field.default_factory() if callable(field.default_factory) else field.default
        if dataclasses.is_dataclass(default):
            keys += config_keys(type(default), f"{prefix}{field.name}.")
        else:
            keys.append(f"{prefix}{field.name}")
    return keys


KEYS = config_keys()
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
RAW = st.text(max_size=30) | JSON.map(lambda v: json.dumps(v, allow_nan=True))


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(key=st.sampled_from(KEYS) | st.text(max_size=12), raw=RAW)
def test_any_set_value_is_a_config_or_a_one_line_error(key, raw):
    try:
        load_config(None, [f"{key}={raw}"])
    except UserError as err:
        assert "\n" not in str(err)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz") / "run"
    start_run(load_config(None, TINY), out, progress=False)
    latest = list_checkpoints(out / "checkpoints")[-1]
    arrays, meta = load_checkpoint(latest)
    exp = build_experiment(read_checkpoint_config(meta))
    exp.pool.close()
    return latest, meta, exp


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(key=st.sampled_from(["generation", "config", "rng", "env_steps", "rollouts", "policy",
                            "layout", "schedule", "format", "npz_sha256", "extra"]),
       value=JSON, redigest=st.booleans())  # fmt: skip
def test_any_checkpoint_json_field_is_loaded_or_refused_in_one_line(
    checkpoint, tmp_path_factory, key, value, redigest
):
    latest, meta, exp = checkpoint
    folder = tmp_path_factory.mktemp("ck")
    shutil.copy(latest.with_suffix(".npz"), folder / latest.with_suffix(".npz").name)
    edited = {**meta, key: value}
    if redigest:
        edited["json_sha256"] = json_digest(edited)
    path = folder / latest.name
    path.write_text(json.dumps(edited))
    try:
        arrays, loaded = load_checkpoint(path)
        read_checkpoint_config(loaded)
        load_run_state(exp, arrays, loaded)
    except UserError as err:
        assert "\n" not in str(err)
    shutil.rmtree(folder)


def test_fuzzed_keys_cover_the_whole_config():
    assert {"run.seed", "population.mutation.frozen", "pool.job_timeout_s"} <= set(KEYS)


EDITS = ("nan", "inf", "-inf", "huge", "negative", "zero", "drop_row", "drop_column", "scalar",
         "int", "float16", "transpose")  # fmt: skip


def edited_array(value: np.ndarray, edit: str, position: int) -> np.ndarray:
    """One hostile edit of a checkpoint array (the digests are recomputed by the caller)."""
    out = np.array(value, copy=True)
    flat = out.reshape(-1)
    if edit in ("nan", "inf", "-inf", "huge", "negative", "zero") and flat.size:
        target = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "huge": 1e300, "negative": -7,
                  "zero": 0}[edit]  # fmt: skip
        if np.issubdtype(out.dtype, np.integer) and edit in ("nan", "inf", "-inf", "huge"):
            target = np.iinfo(out.dtype).max
        flat[position % flat.size] = target
        return out
    if edit == "drop_row" and out.ndim >= 1 and out.shape[0]:
        return out[1:]
    if edit == "drop_column" and out.ndim >= 2 and out.shape[1]:
        return out[:, 1:]
    if edit == "scalar":
        return np.asarray(flat[0] if flat.size else 0)
    if edit == "int":
        return np.nan_to_num(out).astype(np.int64) if out.dtype.kind == "f" else out
    if edit == "float16":
        return out.astype(np.float16) if out.dtype.kind in "fi" else out
    return out.T


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data(), edit=st.sampled_from(EDITS), position=st.integers(0, 10_000))
def test_resigned_array_edits_are_refused_in_one_line_or_give_valid_state(
    checkpoint, tmp_path_factory, data, edit, position
):
    """A re-signed checkpoint (both digests recomputed, as anyone can) with one hostile array
    edit: refused in one line, or restored into state that passes every check (a run never
    proceeds on invalid state)."""
    import hashlib
    import io

    from pbml_control.running.restore import population_problem, stats_problem

    latest, meta, exp = checkpoint
    with np.load(latest.with_suffix(".npz")) as saved:
        arrays = {k: saved[k] for k in saved.files}
    key = data.draw(st.sampled_from(sorted(arrays)))
    arrays[key] = edited_array(arrays[key], edit, position)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    folder = tmp_path_factory.mktemp("ck")
    (folder / latest.with_suffix(".npz").name).write_bytes(buffer.getvalue())
    edited = {**meta, "npz_sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    edited["json_sha256"] = json_digest(edited)
    (folder / latest.name).write_text(json.dumps(edited))
    try:
        loaded_arrays, loaded = load_checkpoint(folder / latest.name)
        state = load_run_state(exp, loaded_arrays, loaded)
    except UserError as err:
        assert "\n" not in str(err)
    else:
        assert population_problem(state.population) is None
        assert state.obs_stats is None or stats_problem(state.obs_stats, exp.policy.obs_dim) is None
    shutil.rmtree(folder)
