"""``render-kv-emulator`` / ``python -m pulumi_render_kv.emulator``: serve the emulator.

When ready it prints ``RENDER_API_URL=http://HOST:PORT/v1`` as its first line on stdout (tools
parse it, so it never changes) and, when it runs servers, ``RENDER_KV_CA_CERT=/path/ca.pem`` as
the second: the CA that signs the external ``rediss://`` endpoints, which a client must trust to
use them. Logs go to stderr. SIGINT (Ctrl-C) and SIGTERM stop the HTTP server and every server
process.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .app import DEFAULT_OWNER_ID, Emulator, EmulatorSettings
from .ratelimit import RateLimitSettings
from .store import StoreError

logger = logging.getLogger("pulumi_render_kv.emulator")


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="render-kv-emulator",
        description="A local emulator of Render's REST API for Key Value (Valkey) instances.",
        epilog=(
            "On start it prints RENDER_API_URL=http://HOST:PORT/v1 and, unless --no-data-plane, "
            "RENDER_KV_CA_CERT=PATH: the CA certificate (PEM) that signs the external rediss:// "
            "endpoints; pass it to clients (e.g. valkey-cli --cacert PATH) to use them."
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the HTTP API binds (default: %(default)s); servers stay on 127.0.0.1",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind; 0 = a free port (default)"
    )
    parser.add_argument(
        "--api-key", help="require this bearer token (default: accept any non-empty token)"
    )
    parser.add_argument("--owner-id", default=DEFAULT_OWNER_ID, help="workspace id (tea-…)")
    parser.add_argument("--owner-name", default="Emulator Workspace", help="workspace name")
    parser.add_argument("--owner-email", default="owner@example.com", help="workspace email")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=(
            "where the emulator keeps its state (an SQLite file, emulator.sqlite3, written on "
            "every change) and the servers their data; started again on the same directory it "
            "brings back every workspace, environment and instance, each server restarted on "
            "its data (persistence permitting) and its old ports (when free); one emulator per "
            "directory at a time. "
            "Default: a temp dir, removed on exit"
        ),
    )
    parser.add_argument(
        "--create-delay",
        type=_non_negative,
        default=0.0,
        help="seconds a new instance reports 'creating' (default: 0)",
    )
    parser.add_argument(
        "--restart-delay",
        type=_non_negative,
        default=0.0,
        help="seconds a restart (plan/policy/persistence change, resume) lasts (default: 0)",
    )
    parser.add_argument(
        "--resume-delay",
        type=_non_negative,
        default=0.0,
        help=(
            "seconds an instance still reads 'suspended' after a resume was accepted, before "
            "its restart (Render's resume is asynchronous; default: 0)"
        ),
    )
    parser.add_argument(
        "--status-on-create",
        choices=("unknown", "creating"),
        default="unknown",
        help="status in the create response (default: unknown, as Render answers)",
    )
    parser.add_argument(
        "--no-data-plane",
        action="store_true",
        help="run no server processes; connection info points at placeholder hosts",
    )
    parser.add_argument("--server-binary", help="valkey-server/redis-server to run")
    parser.add_argument(
        "--empty-allow-list-as-array",
        action="store_true",
        help="answer an empty ipAllowList as [] instead of null (Render sends null)",
    )
    limits = RateLimitSettings()
    parser.add_argument(
        "--get-per-minute", type=_positive_int, default=limits.get_per_minute, help="GET limit"
    )
    parser.add_argument(
        "--write-per-minute",
        type=_positive_int,
        default=limits.write_per_minute,
        help="POST/PATCH/DELETE limit (creates excluded)",
    )
    parser.add_argument(
        "--create-per-hour",
        type=_positive_int,
        default=limits.create_per_hour,
        help="POST /key-value + POST /redis limit",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="lift every rate limit (headers stay)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def settings_from_args(args: argparse.Namespace) -> EmulatorSettings:
    """Turn parsed arguments into settings."""
    limits = (
        RateLimitSettings.unlimited()
        if args.no_rate_limits
        else RateLimitSettings(
            get_per_minute=args.get_per_minute,
            write_per_minute=args.write_per_minute,
            create_per_hour=args.create_per_hour,
        )
    )
    return EmulatorSettings(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        owner_id=args.owner_id,
        owner_name=args.owner_name,
        owner_email=args.owner_email,
        data_dir=args.data_dir,
        create_delay=args.create_delay,
        restart_delay=args.restart_delay,
        resume_delay=args.resume_delay,
        data_plane=not args.no_data_plane,
        rate_limits=limits,
        status_on_create=args.status_on_create,
        null_empty_allow_list=not args.empty_allow_list_as_array,
        server_binary=args.server_binary,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        # Both clean up after themselves when they fail (temp dir, server processes).
        emulator = Emulator(settings_from_args(args)).start()
    except Exception as exc:  # any start-up failure: one line on stderr, exit status 1
        # The data-plane hint only where servers could be the cause (not a port or state file).
        plain = isinstance(exc, OSError | StoreError)
        hint = "" if plain else " (use --no-data-plane to run without servers)"
        logger.error("cannot start the emulator: %s%s", exc, hint)
        return 1
    try:
        print(f"RENDER_API_URL={emulator.url}", flush=True)
        if emulator.ca_cert_path is not None:
            # A line of its own after the URL line, which tools read as the first line.
            print(f"RENDER_KV_CA_CERT={emulator.ca_cert_path}", flush=True)
        logger.info("workspace %s; Ctrl-C or SIGTERM stops", emulator.owner_id)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
