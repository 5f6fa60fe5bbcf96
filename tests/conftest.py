"""Shared test configuration."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/ holds helper modules (openapi_contract) imported by tests in sub-folders.
sys.path.insert(0, str(Path(__file__).parent))
