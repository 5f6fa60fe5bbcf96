"""Warnings and progress attached to the resource: the engine's ``Log`` RPC, with its URN.

The engine passes its address to every plugin it starts; a message logged there with a URN
is shown beside that resource (``ephemeral`` ones as its status line while it runs), where
the dynamic provider could only print to stderr for the whole stack. Called from the worker
threads the core runs in, so the channel is a synchronous one (thread-safe). When the
engine cannot be reached, the message goes to stderr rather than being lost.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import grpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from pulumi_render_kv.core._report import Report

LOG_TIMEOUT = 5.0


class EngineLog:
    """One connection to the engine, shared by every request of the process."""

    def __init__(self, address: str | None) -> None:
        self._address = address
        self._lock = threading.Lock()
        self._stub: Any = None
        self._channel: grpc.Channel | None = None

    def _engine(self) -> Any:
        with self._lock:
            if self._stub is None and self._address:
                self._channel = grpc.insecure_channel(self._address)
                self._stub = engine_pb2_grpc.EngineStub(self._channel)
            return self._stub

    def log(self, severity: Any, message: str, urn: str, *, ephemeral: bool = False) -> None:
        stub = self._engine()
        if stub is not None:
            try:
                stub.Log(
                    engine_pb2.LogRequest(
                        severity=severity, message=message, urn=urn, ephemeral=ephemeral
                    ),
                    timeout=LOG_TIMEOUT,
                )
                return
            except grpc.RpcError:
                pass  # the engine is going away; stderr still reaches the plugin's log
        print(f"render-kv: {message}", file=sys.stderr, flush=True)

    def report_for(self, urn: str) -> Report:
        """Where the core's warnings and progress about resource ``urn`` go."""
        return Report(
            warn=lambda _name, message: self.log(engine_pb2.WARNING, message, urn),
            progress=lambda message: self.log(engine_pb2.INFO, message, urn, ephemeral=True),
        )

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._stub = self._channel = None
