"""Experiment configuration: base.yaml + model/<family>.yaml + experiment/<name>.yaml + overrides."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from diplostance.paths import CONFIGS_DIR


class ConfigError(ValueError):
    """A config file or override is wrong; the message names it."""


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def merge(base: dict, delta: dict) -> dict:
    """Deep merge: mappings merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in delta.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_override(cfg: dict, override: str) -> dict:
    """'model.C=2' -> cfg['model']['C'] = 2 (the value is read as YAML)."""
    key, sep, raw = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {override!r} is not key=value")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    node = cfg
    *parents, leaf = key.strip().split(".")
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {part!r} is not a section")
    node[leaf] = value
    return cfg


def load_config(
    model: str | None = None, experiment: str | None = None, overrides: list[str] = (), configs_dir: Path = CONFIGS_DIR
) -> dict:
    """Compose a run configuration. Precedence: overrides > experiment > model file > base."""
    cfg = _read(configs_dir / "base.yaml")
    exp: dict = {}
    if experiment:
        path = configs_dir / "experiment" / f"{experiment}.yaml"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in (configs_dir / "experiment").glob("*.yaml")))
            raise ConfigError(f"no experiment {experiment!r} in {path.parent} (known: {known or 'none'})")
        exp = _read(path)
    family = model or exp.get("model", {}).get("family") or cfg["model"]["family"]
    model_file = configs_dir / "model" / f"{family}.yaml"
    if not model_file.exists():
        known = ", ".join(sorted(p.stem for p in (configs_dir / "model").glob("*.yaml")))
        raise ConfigError(f"unknown model family {family!r} (known: {known})")
    cfg["model"] = _read(model_file)
    cfg = merge(cfg, exp)
    cfg["model"]["family"] = family
    if experiment:
        cfg["experiment_name"] = experiment
    for override in overrides:
        apply_override(cfg, override)
    return cfg
