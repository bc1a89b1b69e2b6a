"""``oce member``, ``oce org``, ``oce equation`` and ``oce distribute``: cooperatives on
the command line (:func:`add_commands` adds them to the ``oce`` parser)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession

from instance.agents import require_agent
from instance.commands.common import command_session, out, read_json_object
from instance.coop.memberships import (
    JOINING_STYLES,
    ROLES,
    add_member,
    change_settings,
    members,
    remove_member,
    require_organization,
)
from instance.problems import Problem
from instance.settings import Settings
from instance.urls import Urls

__all__ = ["add_commands", "joining_option", "publish_share_proposal", "set_joining"]


def _actor(urls: Urls, name: str) -> str:
    """A member named by local username or by actor id."""
    if name.startswith(("https://", "http://")):
        return name
    return urls.actor(name)


def _decimal(text: str | None, field: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise Problem(400, f"{field} {text!r} is not a decimal number", field=field) from None


async def set_joining(session: AsyncSession, username: str, args: argparse.Namespace) -> None:
    """Apply the organization options of ``agent create`` / ``org set``."""
    org = require_organization(await require_agent(session, username))
    members_public = None if args.members is None else args.members == "public"
    await change_settings(
        session,
        org,
        joining=args.joining,
        members_public=members_public,
        validators_required=args.validators,
        precision=args.precision,
        share_conforms_to=args.share_in,
        share_price=_decimal(args.share_price, "share_price"),
    )


def joining_option(parser: argparse.ArgumentParser) -> None:
    """The organization options, for ``agent create --type organization`` and ``org set``."""
    parser.add_argument("--joining", choices=JOINING_STYLES, help="how people join (organization)")
    parser.add_argument(
        "--members", choices=("public", "private"), help="who sees the members collection"
    )
    parser.add_argument("--validators", type=int, help="approvals a contribution needs")
    parser.add_argument("--precision", type=int, help="decimal places distributions pay in")
    parser.add_argument("--share-price", help="for --joining shares: the share's price")
    parser.add_argument("--share-in", help="for --joining shares: the currency's specification")


async def publish_share_proposal(settings: Settings, args: argparse.Namespace) -> None:
    """After ``agent create`` / ``org set`` touched joining by shares: publish the
    organization's share proposal through its outbox (unless it has one already)."""
    if args.joining != "shares" and args.share_price is None and args.share_in is None:
        return
    from instance.app import start_services, stop_services
    from instance.coop.shares import ensure_share_proposal

    svc = await start_services(settings)
    try:
        async with svc.db.read() as session:
            org = await require_agent(session, getattr(args, "org", None) or args.username)
        proposal = await ensure_share_proposal(svc, org)
    finally:
        await stop_services(svc)
    if proposal is not None:
        out(f"share proposal: {proposal}")


async def cmd_org_set(settings: Settings, args: argparse.Namespace) -> int:
    async with command_session(settings, write=True) as session:
        await set_joining(session, args.org, args)
    out(f"{args.org}: settings changed")
    await publish_share_proposal(settings, args)
    return 0


async def cmd_member_add(settings: Settings, args: argparse.Namespace) -> int:
    urls = Urls(settings.base_url)
    async with command_session(settings, write=True) as session:
        org = await require_agent(session, args.org)
        row = await add_member(session, urls, org, _actor(urls, args.name), args.role or ())
    out(f"{row.member} is a member of {args.org}: {row.roles}")
    return 0


async def cmd_member_remove(settings: Settings, args: argparse.Namespace) -> int:
    urls = Urls(settings.base_url)
    async with command_session(settings, write=True) as session:
        org = await require_agent(session, args.org)
        await remove_member(session, urls, org, _actor(urls, args.name))
    out(f"{args.name} is no longer a member of {args.org}")
    return 0


async def cmd_member_list(settings: Settings, args: argparse.Namespace) -> int:
    urls = Urls(settings.base_url)
    async with command_session(settings, write=False) as session:
        org = require_organization(await require_agent(session, args.org))
        rows = await members(session, urls.actor(org.username))
    for row in rows:
        out(f"{row.member}\t{row.roles}")
    if not rows:
        print(f"{args.org} has no members yet: `oce member add {args.org} NAME`", file=sys.stderr)
    return 0


async def cmd_equation_create(settings: Settings, args: argparse.Namespace) -> int:

    from instance.coop.defining import save_equation

    document = await read_json_object(args.file)
    urls = Urls(settings.base_url)
    async with command_session(settings, write=True) as session:
        org = await require_agent(session, args.org)
        row = await save_equation(session, urls, org, document, replace=args.replace)
    out(f"{args.org}: value equation {row.name!r} saved ({row.uri})")
    return 0


#: Fault injection for the crash test (tests/e2e/test_coop.py): after this many payments
#: are committed, ``oce distribute`` says so on stdout and waits (at most 10 minutes) to
#: be killed, at a known point rather than after a guessed delay.
PAUSE_VARIABLE = "OCE_DISTRIBUTE_PAUSE_AFTER"


def _pause_hook() -> Callable[[int], Awaitable[None]] | None:
    text = os.environ.get(PAUSE_VARIABLE, "")
    if not text.isdigit():
        return None
    stop_at = int(text)

    async def pause(count: int) -> None:
        if count == stop_at:
            print(f"paused after {count} payments", flush=True)
            await asyncio.sleep(600)

    return pause


async def cmd_distribute(settings: Settings, args: argparse.Namespace) -> int:
    from instance.app import start_services, stop_services
    from instance.coop.distributions import distribute, preview

    svc = await start_services(settings)
    try:
        async with svc.db.read() as session:
            org = await require_agent(session, args.org)
            found = await preview(session, svc.urls, org, args.income, args.equation)
        out(f"{args.income}: {found.amount} {found.unit} by {args.equation!r}")
        for part in [*found.sharing.parts, found.sharing.kept]:
            out(f"  {part.bucket}\t{part.recipient}\t{part.amount}\t(exact {part.exact})")
        if args.dry_run:
            out("dry run: nothing paid")
            return 0
        outcome = await distribute(
            svc, org, args.income, args.equation, by="oce distribute", after_payment=_pause_hook()
        )
    finally:
        await stop_services(svc)
    for recipient, amount, event, state in outcome.payments:
        out(f"paid {amount} {found.unit} to {recipient} ({state}, {event})")
    out(f"distribution {outcome.uri}: {outcome.state}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the cooperative commands to the ``oce`` parser's subcommands."""
    member = sub.add_parser("member", help="members of an organization").add_subparsers(
        dest="member_command", required=True, metavar="ACTION"
    )
    for action, handler, text in (
        ("add", cmd_member_add, "make someone (username or actor id) a member, with roles"),
        ("remove", cmd_member_remove, "end someone's membership"),
    ):
        command = member.add_parser(action, help=text)
        command.add_argument("org")
        command.add_argument("name", help="a local username or a remote actor id")
        if action == "add":
            command.add_argument("--role", action="append", choices=ROLES, help="repeatable")
        command.set_defaults(handler=handler)
    listing = member.add_parser("list", help="an organization's members and their roles")
    listing.add_argument("org")
    listing.set_defaults(handler=cmd_member_list)

    equation = sub.add_parser("equation", help="value equations").add_subparsers(
        dest="equation_command", required=True, metavar="ACTION"
    )
    create = equation.add_parser("create", help="save a ValueEquation document (JSON file)")
    create.add_argument("org")
    create.add_argument("file")
    create.add_argument("--replace", action="store_true", help="replace the one of that name")
    create.set_defaults(handler=cmd_equation_create)

    distribute = sub.add_parser("distribute", help="share an income by a value equation")
    distribute.add_argument("org")
    distribute.add_argument("--income", required=True, help="the income event's id")
    distribute.add_argument("--equation", required=True, help="the value equation's name")
    distribute.add_argument("--dry-run", action="store_true", help="preview only, pay nothing")
    distribute.set_defaults(handler=cmd_distribute)

    org = sub.add_parser("org", help="organization settings").add_subparsers(
        dest="org_command", required=True, metavar="ACTION"
    )
    change = org.add_parser("set", help="change how an organization runs")
    change.add_argument("org")
    joining_option(change)
    change.set_defaults(handler=cmd_org_set)
