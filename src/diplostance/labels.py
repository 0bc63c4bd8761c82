"""The label set: one tuple, and the id maps derived from it."""

LABELS: tuple[str, ...] = (
    "supports-incumbent",
    "recognizes-challenger",
    "calls-for-dialogue",
    "none",
)
STANCES: tuple[str, ...] = LABELS[:3]  # the labels that express a position
NONE = "none"

LABEL2ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
