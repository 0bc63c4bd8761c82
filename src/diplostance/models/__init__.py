"""Model families behind one interface (see base.py)."""

from __future__ import annotations

from importlib import import_module

# family -> "module:Class"; imported lazily so that a family's heavy dependencies
# (torch for minilm) are only needed when that family is used.
FAMILIES = {
    "rules": "diplostance.models.rules:RulesModel",
    "tfidf": "diplostance.models.tfidf:TfidfModel",
    "minilm": "diplostance.models.minilm:MiniLMModel",
    "blend": "diplostance.models.blend:BlendModel",
}


def family_class(family: str):
    try:
        module, cls = FAMILIES[family].split(":")
    except KeyError:
        raise ValueError(f"unknown model family {family!r} (known: {', '.join(FAMILIES)})") from None
    return getattr(import_module(module), cls)


def create_model(family: str, config: dict | None = None):
    return family_class(family)(config)
