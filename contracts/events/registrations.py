"""Events of the events catalogue, registrations, check-in and surveys (to be written)."""
from __future__ import annotations

__all__: list[str] = []
