"""Domain events for unit tests, built from their contracts' field examples."""
from __future__ import annotations

from pydantic_core import PydanticUndefined


def example(cls, **over):
    """An event of ``cls`` from its contract's field examples, with ``over``."""
    values = {}
    for name, f in cls.model_fields.items():
        if name in over:
            values[name] = over[name]
        elif f.examples:
            values[name] = f.examples[0]
        elif f.default is not PydanticUndefined:
            values[name] = f.default
    return cls(**values)
