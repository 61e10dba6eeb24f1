"""The `recaudit` command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from projections.errors import ProjectionError
from recaudit.cli import evidence as evidence_cli
from recaudit.cli import integrity as integrity_cli
from recaudit.cli import query as query_cli
from recaudit.cli import remote
from recaudit.cli import retention as retention_cli
from recaudit.cli import token as auth_cli
from recaudit.cli.exits import ExitCode
from recaudit.cli.logs import configure_logging
from recaudit.settings import LogSettings, Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recaudit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the whole backend in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--data-dir", type=Path)

    demo = sub.add_parser("demo", help="drive a realistic mix of calls and summarise them")
    demo.add_argument("--url", help="a running recaudit (default: start one in-process)")
    demo.add_argument("--data-dir", type=Path, help="where the in-process backend keeps data")
    demo.add_argument("--calls", type=int, default=40, help="how many calls to drive")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--audio-calls", type=int, default=8,
                      help="how many of the calls stream audio (in-process only)")
    demo.add_argument("--yes", action="store_true",
                      help="with --url: go ahead without asking (the calls stay in its store)")
    remote.add_token_option(demo)

    relay = sub.add_parser("relay", help="publish the event store to Kafka (until SIGTERM)")
    relay.add_argument("--data-dir", type=Path)

    consume = sub.add_parser("consume", help="run one consumer on its own (until SIGTERM)")
    consume.add_argument("name", help="the consumer's name, e.g. call-states")
    consume.add_argument("--data-dir", type=Path)

    timeline = sub.add_parser("timeline", help="print a call's timeline as a table")
    timeline.add_argument("call_id")
    timeline.add_argument("--url", default="http://127.0.0.1:8080")
    timeline.add_argument("--min-position", type=int,
                          help="wait until the projection has applied this position")
    remote.add_token_option(timeline)

    rebuild = sub.add_parser("rebuild-projections",
                             help="replay the event store into fresh ClickHouse projections")
    rebuild.add_argument("--data-dir", type=Path)
    rebuild.add_argument("--url", help="ask this running server to rebuild instead")
    remote.add_token_option(rebuild)

    integrity_cli.add_commands(sub)  # verify, seal
    evidence_cli.add_commands(sub)  # export, verify-bundle
    auth_cli.add_commands(sub)  # token
    query_cli.add_commands(sub)  # query
    retention_cli.add_commands(sub)  # retention run

    args = parser.parse_args(argv)
    try:
        configure_logging(LogSettings.from_env())
        if args.command == "serve":
            return _serve(args)
        if args.command == "demo":
            from recaudit.cli.demo import run_demo

            return run_demo(args)
        if args.command == "relay":
            return _relay(args)
        if args.command == "consume":
            return _consume(args)
        if args.command == "timeline":
            from recaudit.cli.demo import print_timeline

            return print_timeline(args.url, args.call_id, args.min_position,
                                  headers=remote.auth_headers(args))
        if args.command == "rebuild-projections":
            from recaudit.cli.projections import rebuild_projections

            return rebuild_projections(args)
        if args.command in integrity_cli.COMMANDS:
            return integrity_cli.run(args)
        if args.command in evidence_cli.COMMANDS:
            return evidence_cli.run(args)
        if args.command in auth_cli.COMMANDS:
            return auth_cli.run(args)
        if args.command in query_cli.COMMANDS:
            return query_cli.run(args)
        if args.command in retention_cli.COMMANDS:
            return retention_cli.run(args)
    except SettingsError as exc:
        print(f"recaudit: configuration error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except ProjectionError as exc:
        print(f"recaudit: {exc}", file=sys.stderr)
        return ExitCode.PROJECTION
    parser.error(f"unknown command {args.command}")
    return ExitCode.USAGE


def _serve(args: argparse.Namespace) -> int:
    from recaudit.access import load_tokens
    from recaudit.bootstrap import build
    from recaudit.http.server import (
        ServerError,
        bound_port,
        http_url,
        is_loopback,
        listen,
        serve_forever,
    )

    settings = Settings.from_env(data_dir=args.data_dir)
    tokens = load_tokens(settings)
    if not tokens.enabled and not is_loopback(args.host):
        print(f"recaudit: refusing to listen on {args.host}: no access tokens are configured, "
              "so anyone who reaches the port could set policies and drive calls. Configure "
              "tokens (RECAUDIT_TOKENS_FILE or RECAUDIT_TOKENS; `recaudit token` makes one) "
              "or listen on a loopback address such as 127.0.0.1", file=sys.stderr)
        return ExitCode.USAGE
    try:
        sock = listen(args.host, args.port)  # before anything is opened
    except ServerError as exc:
        print(f"recaudit: {exc}", file=sys.stderr)
        return ExitCode.CANNOT_LISTEN
    with sock:
        backend = build(settings)
        where = (settings.postgres_url and "PostgreSQL") or f"{settings.data_dir}/events.sqlite"
        access = f"on, {len(tokens)} tokens" if tokens.enabled else "off (loopback only)"
        print(f"recaudit: event store {where}; access control {access}; "
              f"listening on {http_url(args.host, bound_port(sock))}", flush=True)
        backend.start()
        # uvicorn shuts down gracefully on SIGTERM/SIGINT and then raises the signal again
        # under the handlers it found; these make that second raise harmless, so the
        # consumers, the relay and the sealer are stopped in order below.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        try:
            serve_forever(backend.app, sock)
        finally:
            backend.close()
        print(f"recaudit: stopped after {backend.committer.jobs} commands, "
              f"{backend.committer.conflicts} write conflicts retried", flush=True)
    return ExitCode.OK


def _until_signalled() -> threading.Event:
    """An event set by SIGTERM or SIGINT, for a graceful stop."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _relay(args: argparse.Namespace) -> int:
    stop = _until_signalled()  # from the start: a stop while starting up is graceful too
    from recaudit.bootstrap import build

    settings = Settings.from_env(data_dir=args.data_dir)
    if settings.kafka_bootstrap is None:
        raise SettingsError("the relay needs RECAUDIT_KAFKA_BOOTSTRAP")
    backend = build(settings)
    assert backend.relay is not None
    backend.start_relay()
    print(f"recaudit relay: publishing to {settings.kafka_topic} on {settings.kafka_bootstrap}",
          flush=True)
    stop.wait()
    backend.close()
    print(f"recaudit relay: stopped at position {backend.relay.position()}", flush=True)
    return ExitCode.OK


def _consume(args: argparse.Namespace) -> int:
    stop = _until_signalled()  # from the start: a stop while starting up is graceful too
    from recaudit.bootstrap import build

    settings = Settings.from_env(data_dir=args.data_dir)
    backend = build(settings)
    if args.name in backend.pipeline.in_process_only:
        print(f"recaudit: the {args.name} consumer runs inside `recaudit serve` (it needs the "
              "API's process); it cannot run on its own", file=sys.stderr)
        backend.close()
        return ExitCode.USAGE
    try:
        backend.pipeline.consumer(args.name)
    except KeyError as exc:
        print(f"recaudit: {exc.args[0]}", file=sys.stderr)
        backend.close()
        return ExitCode.USAGE
    backend.pipeline.start(only=[args.name])
    feed = "Kafka" if settings.kafka_bootstrap else "the local event log"
    print(f"recaudit consume: {args.name} reading {feed}", flush=True)
    stop.wait()
    backend.close()
    return ExitCode.OK

