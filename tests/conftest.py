"""Shared test configuration."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# tests/ holds helper modules (openapi_contract) imported by tests in sub-folders.
sys.path.insert(0, str(Path(__file__).parent))

# The emulator's data plane and the harness start processes from a test process that also
# runs gRPC (the Pulumi SDK). gRPC's fork handlers have aborted such children under load;
# nothing here needs gRPC in a forked child, so turn them off before grpc is imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
