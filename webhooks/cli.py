"""The `callout` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import date
from pathlib import Path

from dispatch.clock import SystemClock
from dispatch.company import Company
from storage.company_file import CompanyFileError, load_company_file
from storage.db import make_engine, session_factory
from storage.importer import import_company
from storage.migrate import SchemaOutOfDate, check_schema, upgrade
from storage.uow import SqlUnitOfWork
from webhooks.config import ConfigError, Settings, settings_from_env
from webhooks.logs import setup_logging


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["bench"]:
        return _bench(args[1:])
    if args[:1] == ["simulate"]:
        from webhooks.simulate import main as simulate_main

        return simulate_main(args[1:])
    parser = _parser()
    ns = parser.parse_args(args)
    try:
        settings = settings_from_env(os.environ)
    except ConfigError as err:
        print(f"callout: {err}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    try:
        result: int = ns.run(ns, settings)
    except (SchemaOutOfDate, CompanyFileError, ConfigError) as err:
        print(f"callout: {err}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="callout", description="Messaging-first field-service dispatch."
    )
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the bundled demo company on 127.0.0.1:8080")
    demo.add_argument("--port", type=int)
    demo.add_argument(
        "--replay", action="store_true", help="play the bundled demo day in a fresh database"
    )
    demo.add_argument(
        "--speed",
        type=float,
        help="the replay's clock speed: 180 (the default) plays 3 minutes a second",
    )
    demo.set_defaults(run=_demo)

    serve = sub.add_parser("serve", help="the server (webhooks, API, board) and the worker")
    serve.add_argument("--no-worker", action="store_true", help="the web part alone")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)

    sub.add_parser("worker", help="outbox delivery and timers, without the web part").set_defaults(
        run=_worker
    )

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or upgrade the schema").set_defaults(run=_db_upgrade)

    imp = sub.add_parser("import", help="load or update a company file")
    imp.add_argument("file", type=Path)
    imp.set_defaults(run=_import)

    exp = sub.add_parser("export", help="export data")
    exp_sub = exp.add_subparsers(dest="export_command", required=True)
    inv = exp_sub.add_parser("invoices", help="CSV of invoices for a period (days inclusive)")
    inv.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    inv.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    inv.add_argument("--out", type=Path, help="file to write (default: standard output)")
    inv.set_defaults(run=_export_invoices)

    parse = sub.add_parser("parse", help="show what intake understands of a message (JSON)")
    parse.add_argument("text", nargs="?", help="the message")
    parse.add_argument("--company", type=Path, help="a company file (default: the database's)")
    parse.add_argument("--from", dest="sender", help="the sender's phone or e-mail")
    parse.add_argument("--at", help="when it was sent (ISO, default now)")
    parse.add_argument("--jsonl", type=Path, help='one {"text","from","at"} object a line')
    parse.set_defaults(run=_parse)

    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="make a token (printed once, stored hashed)")
    create.add_argument("name")
    create.add_argument("--role", default="admin", choices=["admin", "dispatcher", "technician"])
    create.add_argument("--party", help="the dispatcher or technician id the token speaks for")
    create.set_defaults(run=_token_create)
    return p


def _with_port(settings: Settings, host: str | None, port: int | None) -> Settings:
    from dataclasses import replace

    return replace(settings, host=host or settings.host, port=port or settings.port)


def _serve(ns: argparse.Namespace, settings: Settings) -> int:
    from webhooks.serve import run_server

    settings = _with_port(settings, ns.host, ns.port)
    base = f"http://{settings.host}:{settings.port}"
    banner = [f"Callout serving on {base}", "Press Ctrl+C to stop."]
    return run_server(settings, banner=banner, worker=not ns.no_worker)


def _worker(_ns: argparse.Namespace, settings: Settings) -> int:
    from webhooks.worker import run_worker_process

    return run_worker_process(settings)


def _db_upgrade(_ns: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database schema is up to date")
    return 0


def _import(ns: argparse.Namespace, settings: Settings) -> int:
    loaded = load_company_file(ns.file)

    async def run() -> str:
        engine = make_engine(settings.database_url)
        try:
            await check_schema(engine)
            async with SqlUnitOfWork(session_factory(engine)) as uow:
                report = await import_company(uow.session, loaded.company, SystemClock().now())
                await uow.commit()
            return report.summary()
        finally:
            await engine.dispose()

    print(asyncio.run(run()))
    for site in loaded.geocoded_sites:
        print(f"site {site}: placed at its ZIP centroid (no coordinates in the file)")
    return 0


def _export_invoices(ns: argparse.Namespace, settings: Settings) -> int:
    from webhooks.export import export_invoices

    if ns.end < ns.start:
        print("callout export: --to must not be before --from", file=sys.stderr)
        return 2
    with (
        ns.out.open("w", newline="", encoding="utf-8") if ns.out else nullcontext(sys.stdout) as out
    ):
        count = asyncio.run(export_invoices(settings.database_url, ns.start, ns.end, out))
    print(f"{count} invoices", file=sys.stderr)
    return 0


def _parse(ns: argparse.Namespace, settings: Settings) -> int:
    from bot.intake.batch import parse_jsonl, parse_records

    if (ns.text is None) == (ns.jsonl is None):
        print("callout parse: give a message TEXT or --jsonl FILE", file=sys.stderr)
        return 2
    company = load_company_file(ns.company).company if ns.company else _db_company(settings)
    now = SystemClock().now()
    if ns.jsonl is not None:
        with ns.jsonl.open(encoding="utf-8") as lines:
            for line in parse_jsonl(company, lines, now=now):
                print(line)
        return 0
    record: dict[str, object] = {"text": ns.text, "from": ns.sender, "at": ns.at}
    try:
        [result] = parse_records(company, [record], now=now)
    except ValueError as err:
        print(f"callout parse: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _db_company(settings: Settings) -> Company:
    async def run() -> Company:
        engine = make_engine(settings.database_url)
        try:
            await check_schema(engine)
            async with SqlUnitOfWork(session_factory(engine)) as uow:
                return await uow.company.load()
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _token_create(ns: argparse.Namespace, settings: Settings) -> int:
    async def run() -> str:
        engine = make_engine(settings.database_url)
        try:
            await check_schema(engine)
            async with SqlUnitOfWork(session_factory(engine)) as uow:
                token = await uow.tokens.create(
                    ns.name, SystemClock().now(), role=ns.role, party_id=ns.party
                )
                await uow.commit()
            return token
        finally:
            await engine.dispose()

    print(asyncio.run(run()))
    return 0


def _demo(ns: argparse.Namespace, settings: Settings) -> int:
    from webhooks.demo import run_demo
    from webhooks.replay import DEFAULT_SPEED

    if ns.speed is not None and not ns.replay:
        print("callout demo: --speed goes with --replay", file=sys.stderr)
        return 2
    speed = (DEFAULT_SPEED if ns.speed is None else ns.speed) if ns.replay else None
    return run_demo(_with_port(settings, None, ns.port), replay_speed=speed)


def _bench(args: list[str]) -> int:
    if args[:1] == ["trsp"]:
        from webhooks.bench_trsp import main as trsp_main

        return trsp_main(args[1:])
    print("callout bench: expected `callout bench trsp INSTANCE...`", file=sys.stderr)
    return 2
