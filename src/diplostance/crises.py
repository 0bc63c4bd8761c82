"""The crisis registry: who is incumbent and who is challenger, with aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from diplostance.orientation import parse_in_power
from diplostance.paths import REGISTRY_PATH


class RegistryError(ValueError):
    """The registry file is missing or malformed."""


@dataclass(frozen=True)
class Side:
    name: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The name first, then every alias, without repeats."""
        return tuple(dict.fromkeys((self.name, *self.aliases)))


@dataclass(frozen=True)
class Crisis:
    id: str
    country: str
    incumbent: Side
    challenger: Side
    start: str = ""
    end: str = ""
    reserved: bool = False
    summary: str = ""
    in_power: str = ""  # incumbent | challenger; "" = not given (src/diplostance/orientation.py)


@dataclass(frozen=True)
class Registry:
    crises: dict[str, Crisis] = field(default_factory=dict)

    def get(self, crisis_id: str) -> Crisis | None:
        return self.crises.get(crisis_id)

    def __contains__(self, crisis_id: str) -> bool:
        return crisis_id in self.crises

    def __len__(self) -> int:
        return len(self.crises)

    @property
    def reserved(self) -> frozenset[str]:
        return frozenset(c.id for c in self.crises.values() if c.reserved)


def _side(entry: dict, key: str, where: str) -> Side:
    side = entry.get(key)
    if not isinstance(side, dict) or not isinstance(side.get("name"), str):
        raise RegistryError(f"{where}: '{key}' needs a 'name'")
    aliases = side.get("aliases") or []
    if not all(isinstance(a, str) and a.strip() for a in aliases):
        raise RegistryError(f"{where}: '{key}.aliases' must be a list of non-empty strings")
    return Side(side["name"], tuple(aliases))


def parse_registry(data: object, source: str = "<registry>") -> Registry:
    if not isinstance(data, dict) or not isinstance(data.get("crises"), list):
        raise RegistryError(f"{source}: expected a mapping with a 'crises' list")
    crises: dict[str, Crisis] = {}
    for i, entry in enumerate(data["crises"]):
        where = f"{source}: crises[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise RegistryError(f"{where}: each crisis needs an 'id'")
        if entry["id"] in crises:
            raise RegistryError(f"{where}: duplicate crisis id {entry['id']!r}")
        period = entry.get("period") or {}
        try:
            in_power = parse_in_power(entry.get("in_power"))
        except ValueError as exc:
            raise RegistryError(f"{where}: {exc}") from None
        crises[entry["id"]] = Crisis(
            id=entry["id"],
            country=str(entry.get("country", "")),
            incumbent=_side(entry, "incumbent", where),
            challenger=_side(entry, "challenger", where),
            start=str(period.get("start", "")),
            end=str(period.get("end", "")),
            reserved=bool(entry.get("reserved", False)),
            summary=str(entry.get("summary", "")),
            in_power=in_power,
        )
    return Registry(crises)


@lru_cache(maxsize=8)
def load_registry(path: Path | str = REGISTRY_PATH) -> Registry:
    """Read the registry YAML (cached per path)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read crisis registry ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML ({exc})") from exc
    return parse_registry(data, str(path))
