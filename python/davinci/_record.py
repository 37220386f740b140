"""Report objects: the CLI's JSON as Python objects, with attribute access (``pred.time_us``,
``pred.ops[0].bound``) besides item access, and the CLI's table as ``str(obj)``."""

from __future__ import annotations

import json
from typing import Any


def wrap(v: Any) -> Any:
    if isinstance(v, dict):
        return Record(v)
    if isinstance(v, list):
        return [wrap(x) for x in v]
    return v


class Record(dict):
    """A JSON object of a report: a dict whose keys are also attributes."""

    def __init__(self, data: dict, text: str = "") -> None:
        super().__init__({k: wrap(v) for k, v in data.items()})
        self._text = text

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"this report has no field '{key}' (it has {', '.join(self)})") from None

    def __str__(self) -> str:
        return self._text or json.dumps(self, indent=2)

    def __repr__(self) -> str:
        return f"Record({dict.__repr__(self)})"


def from_json(text: str, human: str = "") -> Record:
    return Record(json.loads(text), human)
