"""The ``oce`` command line.

Errors are one readable line (``oce: error: …``) and exit status 1; ``--verbose``
adds the traceback. Commands that touch the database bring it up to date first.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from instance import __version__
from instance.agents import create_agent, list_agents, require_agent
from instance.commands.common import command_session, out, read_json_object
from instance.commands.coop import (
    add_commands,
    joining_option,
    publish_share_proposal,
    set_joining,
)
from instance.logs import configure_logging
from instance.moderation import block_domain, blocked_domains, unblock_domain
from instance.portability.commands import add_commands as add_portability_commands
from instance.problems import Problem
from instance.settings import Settings, SettingsError, load_settings
from instance.store.db import Database
from instance.store.migrate import upgrade
from instance.store.models import Agent, utcnow
from instance.tokens import (
    SCOPES,
    create_token,
    list_tokens,
    parse_lifetime,
    revoke_token,
    token_state,
)
from instance.urls import Urls
from instance.web.app.passwords import hash_password, set_password

__all__ = ["main"]

Command = Callable[[Settings, argparse.Namespace], Awaitable[int]]


async def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    out(f"migrating {_redacted(settings.database_url)}")
    async with command_session(settings, write=False):
        pass
    out("database is up to date")
    return 0


async def cmd_agent_create(settings: Settings, args: argparse.Namespace) -> int:
    if args.type != "organization" and args.joining is not None:
        raise Problem(400, "--joining is for organizations (--type organization)", field="joining")
    async with command_session(settings, write=True) as session:
        agent = await create_agent(
            session,
            args.username,
            kind=args.type,
            name=args.name or "",
            summary=args.summary or "",
            manually_approves_followers=args.manual_approval,
        )
        if args.type == "organization":
            await set_joining(session, agent.username, args)
    out(Urls(settings.base_url).actor(agent.username))
    if args.type == "organization":
        await publish_share_proposal(settings, args)
    return 0


async def cmd_agent_password(settings: Settings, args: argparse.Namespace) -> int:
    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"new password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            raise Problem(400, "the two passwords differ; nothing was changed", field="password")
    hashed = await hash_password(password)
    async with command_session(settings, write=True) as session:
        agent = await require_agent(session, args.username)
        await set_password(session, agent, hashed)
    print(
        f"{args.username} can now sign in at {Urls(settings.base_url).base}/login",
        file=sys.stderr,
    )
    return 0


async def cmd_agent_delete(settings: Settings, args: argparse.Namespace) -> int:
    from instance.app import start_services, stop_services
    from instance.outbox.c2s import post_to_outbox

    if not args.yes:
        prompt = f"delete {args.username} for good? type its name to confirm: "
        answer = await asyncio.to_thread(input, prompt)
        if answer.strip() != args.username:
            raise Problem(400, "not confirmed; nothing was deleted", field="username")
    svc = await start_services(settings)
    try:
        async with svc.db.read() as session:
            agent = await require_agent(session, args.username)
        actor = svc.urls.actor(agent.username)
        await post_to_outbox(svc, agent, {"type": "Delete", "object": actor})
    finally:
        await stop_services(svc)
    out(f"{actor} is deleted: it answers 410; its followers and peers are told by the workers")
    return 0


async def cmd_agent_list(settings: Settings, _args: argparse.Namespace) -> int:
    async with command_session(settings, write=False) as session:
        agents = await list_agents(session)
    urls = Urls(settings.base_url)
    for agent in agents:
        out(f"{agent.username}\t{agent.kind}\t{agent.name}\t{urls.actor(agent.username)}")
    if not agents:
        print("no agents yet: create one with `oce agent create USERNAME`", file=sys.stderr)
    return 0


async def cmd_token_create(settings: Settings, args: argparse.Namespace) -> int:
    scopes = args.scope or SCOPES
    lifetime = parse_lifetime(args.expires) if args.expires else None
    async with command_session(settings, write=True) as session:
        agent = await require_agent(session, args.username)
        expires_at = utcnow() + lifetime if lifetime else None
        token = await create_token(
            session, agent, args.label or "", scopes=scopes, expires_at=expires_at
        )
    # Only the token on standard output (scripts take it from there); what it allows, on
    # standard error.
    out(token)
    until = f"until {_when(expires_at)}" if expires_at else "until revoked"
    print(f"scope {' '.join(s for s in SCOPES if s in scopes)}, valid {until}", file=sys.stderr)
    return 0


def _when(moment: datetime | None, never: str = "never") -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}" if moment else never


async def cmd_token_list(settings: Settings, args: argparse.Namespace) -> int:
    async with command_session(settings, write=False) as session:
        agent = await require_agent(session, args.username)
        tokens = await list_tokens(session, agent)
    if not tokens:
        print(f"{agent.username} has no tokens: make one with `oce token create`", file=sys.stderr)
        return 0
    now = utcnow()
    out("id\tstate\tscope\tcreated\tlast used\texpires\tlabel")
    for row in tokens:
        out(
            "\t".join(
                (
                    str(row.id),
                    token_state(row, now),
                    row.scope,
                    _when(row.created_at),
                    _when(row.last_used_at),
                    _when(row.expires_at),
                    row.label,
                )
            )
        )
    return 0


async def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    async with command_session(settings, write=True) as session:
        row = await revoke_token(session, args.id)
        owner = await session.get(Agent, row.agent_id)
    name = owner.username if owner else "?"
    out(f"revoked token {row.id} of {name}: every process refuses it from now on")
    return 0


async def cmd_domain_block(settings: Settings, args: argparse.Namespace) -> int:
    async with command_session(settings, write=True) as session:
        name = await block_domain(session, args.domain)
    out(f"blocked {name}: its requests get 403 and nothing is delivered to it")
    return 0


async def cmd_domain_unblock(settings: Settings, args: argparse.Namespace) -> int:
    async with command_session(settings, write=True) as session:
        removed = await unblock_domain(session, args.domain)
    if not removed:
        raise Problem(404, f"{args.domain} was not blocked", field="domain")
    out(f"unblocked {args.domain}")
    return 0


async def cmd_domain_list(settings: Settings, _args: argparse.Namespace) -> int:
    async with command_session(settings, write=False) as session:
        for name in await blocked_domains(session):
            out(name)
    return 0


async def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    from instance.app import start_services, stop_services
    from instance.workers import Workers

    configure_logging(settings.log_level)
    svc = await start_services(settings)
    try:
        # A worker signs and delivers with the ids it finds: it must agree with `serve`.
        await _settle_base_url(svc.db, settings, accept_change=False)
    except Problem:
        await stop_services(svc)
        raise
    workers = Workers(svc)
    workers.start()
    out(f"oce worker processing inbox and deliveries for {settings.base_url}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await workers.stop()
        await stop_services(svc)
    return 0


async def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from instance.app import start_services, stop_services
    from instance.ledger.audit import audit

    svc = await start_services(settings)
    try:
        async with svc.db.read() as session:
            agent = await require_agent(session, args.username)
        report = await audit(svc, agent, args.agreement)
    finally:
        await stop_services(svc)
    out(f"agreement {report.agreement}, compared with {report.counterparty}'s instance")
    out(f"  digest here:  {report.digest_here}")
    out(f"  digest there: {report.digest_there}")
    if report.same:
        out("both instances hold the same state of it")
        return 0
    for line in report.differences:
        out(f"  differs: {line}")
    return 3


async def cmd_proof_verify(settings: Settings, args: argparse.Namespace) -> int:
    from federation import ProofError
    from instance.app import start_services, stop_services
    from instance.ledger.integrity import proof_key_id, verify_anywhere

    document = await read_json_object(args.file)
    svc = await start_services(settings)
    try:
        async with svc.db.read() as session:
            agents = {proof_key_id(svc.urls, a): a for a in await list_agents(session)}
        try:
            proofs = await verify_anywhere(svc.peers, svc.urls, agents, document)
        except ProofError as exc:
            raise Problem(422, f"not verified: {exc.reason}") from None
    finally:
        await stop_services(svc)
    for where, proof in proofs:
        out(f"{where}: signed by {proof.verification_method} at {proof.created}: valid")
    return 0


def cmd_demo(_settings: Settings, args: argparse.Namespace) -> int:
    from instance.demo import DemoError, run_demo

    if args.story == "coop":
        from instance.coopdemo import run_coop_demo

        try:
            run_coop_demo(out)
        except DemoError as exc:
            raise Problem(500, str(exc)) from None
        out("\nThe demo ran to the end: every ledger shows the worked example's balances.")
        return 0
    try:
        run_demo(out)
    except DemoError as exc:
        raise Problem(500, str(exc)) from None
    out("\nThe demo ran to the end: both ledgers show the exchange as expected.")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from instance.web import connections

    _check_port_free(settings.host, settings.port)
    # Each web process builds its app from the environment (instance.asgi), so pass the
    # effective settings down that way.
    os.environ["OCE_HOST"] = settings.host
    os.environ["OCE_PORT"] = str(settings.port)
    os.environ["OCE_BASE_URL"] = settings.base_url
    os.environ["OCE_DATABASE_URL"] = settings.database_url
    moved, agents = asyncio.run(_prepare_database(settings, args.accept_new_base_url))
    listening = f"{settings.host}:{settings.port}"
    out(f"oce {__version__} serving {settings.base_url} (listening on {listening})")
    out(f"database: {_redacted(settings.database_url)}")
    if moved:
        out(f"the database's base URL is now {settings.base_url} (confirmed)")
    if not agents:
        # Say it the way this was started (`.venv/bin/oce` after `make serve`).
        command = sys.argv[0] if os.path.basename(sys.argv[0]) == "oce" else "oce"
        if settings.base_url != Settings().base_url:
            # Another terminal does not have this port: the commands need the base URL.
            command = f"OCE_BASE_URL={settings.base_url} {command}"
        out("no agent yet. In another terminal, create the first one and give it a password:")
        out(f"  {command} agent create alice --name 'Alice'")
        out(f"  {command} agent password alice")
        out(f"then sign in at {settings.base_url}/login")
    uvicorn.run(
        "instance.asgi:app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=args.workers if args.workers and args.workers > 1 else None,
        log_level="warning",
        proxy_headers=True,
        server_header=False,
        # Deadlines and a header size cap on every request (see the module).
        http=connections.PROTOCOL,
    )
    return 0


def _check_port_free(host: str, port: int) -> None:
    """Fail with a hint before migrating when another program holds the port."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: an address in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            other = 8010 if port != 8010 else 8020
            raise Problem(
                409,
                f"port {port} on {host} is busy ({exc.strerror or exc}); choose another: "
                f"make serve PORT={other}  (or: oce serve --port {other})",
            ) from None


async def _prepare_database(settings: Settings, accept_new_base_url: bool) -> tuple[bool, int]:
    """Migrate, check the base URL is the database's own; (URL changed, agents)."""
    db = Database.from_url(settings.database_url, pool_size=1)
    try:
        await upgrade(db.engine)
        moved = await _settle_base_url(db, settings, accept_new_base_url)
        async with db.read() as session:
            agents = len(await list_agents(session))
    finally:
        await db.dispose()
    return moved, agents


async def _settle_base_url(db: Database, settings: Settings, accept_change: bool) -> bool:
    from instance.identity import BaseUrlChanged, settle_base_url

    try:
        return await settle_base_url(db, settings.base_url, accept_change=accept_change)
    except BaseUrlChanged as exc:
        raise Problem(409, str(exc)) from None


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        return f"{scheme}{sep}{credentials.split(':')[0]}:***@{host}"
    return url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oce", description="oce instance server")
    parser.add_argument("--version", action="version", version=f"oce {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="start the server (migrates the database first)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="web processes (PostgreSQL)")
    serve.add_argument(
        "--accept-new-base-url",
        action="store_true",
        help="serve a database that has published ids under another base URL (ids are permanent)",
    )
    serve.set_defaults(sync_handler=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    agent = sub.add_parser("agent", help="local agents").add_subparsers(
        dest="agent_command", required=True, metavar="ACTION"
    )
    create = agent.add_parser("create", help="create an agent with its own key pair")
    create.add_argument("username")
    create.add_argument("--type", choices=["person", "organization"], default="person")
    create.add_argument("--name", help="display name")
    create.add_argument("--summary", help="a short description")
    create.add_argument(
        "--manual-approval", action="store_true", help="hold follow requests for approval"
    )
    joining_option(create)
    create.set_defaults(handler=cmd_agent_create)
    password = agent.add_parser(
        "password", help="set the password an agent signs in with at /login (asked twice)"
    )
    password.add_argument("username")
    password.add_argument(
        "--stdin", action="store_true", help="read the password from the first line of stdin"
    )
    password.set_defaults(handler=cmd_agent_password)
    remove = agent.add_parser(
        "delete", help="delete an agent: a tombstone (410); the records others hold stay"
    )
    remove.add_argument("username")
    remove.add_argument("--yes", action="store_true", help="do not ask to confirm")
    remove.set_defaults(handler=cmd_agent_delete)
    listing = agent.add_parser("list", help="list local agents")
    listing.set_defaults(handler=cmd_agent_list)

    audit = sub.add_parser(
        "audit", help="compare an agreement with the other party's instance's record"
    )
    audit.add_argument("agreement", help="the agreement's id")
    audit.add_argument("--as", dest="username", required=True, help="the local party")
    audit.set_defaults(handler=cmd_audit)

    proof = sub.add_parser("proof", help="integrity proofs").add_subparsers(
        dest="proof_command", required=True, metavar="ACTION"
    )
    verify = proof.add_parser(
        "verify", help="check the integrity proofs of a saved activity or object (JSON file)"
    )
    verify.add_argument("file")
    verify.set_defaults(handler=cmd_proof_verify)

    demo = sub.add_parser("demo", help="run a whole exchange between two local instances")
    demo.add_argument(
        "story",
        nargs="?",
        choices=("exchange", "coop"),
        default="exchange",
        help="exchange (two instances) or coop (a cooperative on three instances)",
    )
    demo.set_defaults(sync_handler=cmd_demo)

    worker = sub.add_parser("worker", help="process the inbox and make deliveries (no web)")
    worker.set_defaults(handler=cmd_worker)

    domain = sub.add_parser("domain", help="blocked domains").add_subparsers(
        dest="domain_command", required=True, metavar="ACTION"
    )
    for action, handler, text in (
        ("block", cmd_domain_block, "refuse a domain's requests and deliver nothing to it"),
        ("unblock", cmd_domain_unblock, "lift a block"),
    ):
        command = domain.add_parser(action, help=text)
        command.add_argument("domain")
        command.set_defaults(handler=handler)
    domain.add_parser("list", help="list blocked domains").set_defaults(handler=cmd_domain_list)

    add_commands(sub)
    add_portability_commands(sub)

    token = sub.add_parser("token", help="client access tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION"
    )
    token_create = token.add_parser("create", help="print a new bearer token for an agent")
    token_create.add_argument("username")
    token_create.add_argument("--label", help="a note saying what the token is for")
    token_create.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        help="what it may do: read (GET) or write (post to the outbox); repeat for both, "
        "the default",
    )
    token_create.add_argument(
        "--expires", metavar="DURATION", help="lifetime such as 90m, 12h, 30d or 2w (default: none)"
    )
    token_create.set_defaults(handler=cmd_token_create)
    token_list = token.add_parser(
        "list", help="an agent's tokens: state, scope, when made, last used and expiring"
    )
    token_list.add_argument("username")
    token_list.set_defaults(handler=cmd_token_list)
    token_revoke = token.add_parser("revoke", help="revoke a token (by its id from token list)")
    token_revoke.add_argument("id", type=int)
    token_revoke.set_defaults(handler=cmd_token_revoke)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        overrides: dict[str, Any] = {}
        if args.command == "serve":
            overrides = {"host": args.host, "port": args.port}
        settings = load_settings(**overrides)
        if hasattr(args, "sync_handler"):
            return int(args.sync_handler(settings, args))
        status: int = asyncio.run(args.handler(settings, args))
        return status
    except KeyboardInterrupt:
        return 130
    except (SettingsError, Problem, SQLAlchemyError, OSError) as exc:
        if args.verbose:
            traceback.print_exc()
        message = exc.detail if isinstance(exc, Problem) else str(exc).splitlines()[0]
        print(f"oce: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
