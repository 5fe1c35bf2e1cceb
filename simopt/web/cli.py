"""``simopt serve`` and ``simopt users add|list``.

Only argparse is imported at module level: every simopt command builds the same parser, and the
web stack loads only when one of these commands runs. Bad input is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_OK = 0
EXIT_BAD_INPUT = 2
ROLES = ("admin", "planner", "viewer")

SERVE_EPILOG = """\
The database (users, scenarios and their versions, runs) is results/simopt.db unless --db names
another, e.g. --db postgresql+psycopg://simopt@localhost/simopt; its schema is migrated at start.
Create the first administrator before the first login:
  simopt users add admin --role admin"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1–65535)")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1")
    return value


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="URL",
        help="the database as an SQLAlchemy URL (default: sqlite:///results/simopt.db)",
    )


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="start the web app (scenarios, plans and budgets in the browser)",
        description="Serve the web app: log in, scenarios, what-ifs and plans in the browser, "
        "in Vietnamese (English selectable). Every asset is served locally.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="the port to listen on (8000)")
    _db_option(p)
    p.add_argument(
        "--workers-threads",
        type=_positive,
        default=2,
        metavar="N",
        help="threads for background runs (2)",
    )
    p.set_defaults(func=cmd_serve)

    users = sub.add_parser(
        "users",
        help="add or list the web app's users",
        description="Manage the web app's users from the command line (the first administrator "
        "especially; later ones can be added on the administrator's page).",
    )
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_sub.add_parser(
        "add",
        help="add a user",
        description="Add a user. The password is asked twice (not echoed), or read from the "
        "first line of standard input with --password-stdin.",
    )
    add.add_argument("username", metavar="USERNAME")
    add.add_argument("--role", required=True, choices=ROLES, help="admin, planner or viewer")
    add.add_argument(
        "--province",
        action="append",
        default=[],
        metavar="NAME",
        help='a province the user sees, e.g. "Long An" (repeatable; made when new)',
    )
    add.add_argument(
        "--language", choices=("vi", "en"), default="vi", help="the user's language (vi)"
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _db_option(add)
    add.set_defaults(func=cmd_users_add)

    ls = users_sub.add_parser("list", help="list the users", description="List the users.")
    _db_option(ls)
    ls.set_defaults(func=cmd_users_list)


def _fail(message: str) -> int:
    from simopt.errors import printable

    print(f"simopt: {printable(message, 400)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _settings(args: argparse.Namespace, **extra: Any) -> Any:
    from simopt.web.settings import WebSettings

    return WebSettings(db_url=args.db, **extra)


def _open(args: argparse.Namespace) -> Any:
    """The database's sessions, migrated; None (after one line) when it cannot be opened."""
    from simopt.web.db import DatabaseError, open_database

    settings = _settings(args)
    try:
        return open_database(settings.database_url)[1]
    except DatabaseError as err:
        _fail(str(err))
        return None


def _read_password(args: argparse.Namespace, username: str) -> str | None:
    import getpass

    from simopt.reporting.i18n import messages

    m = messages("en")
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            _fail(m("web.cli.no_password"))
            return None
        return password
    try:
        first = getpass.getpass(m("web.cli.password_prompt", username=username))
        second = getpass.getpass(m("web.cli.password_again"))
    except EOFError:
        _fail(m("web.cli.no_password"))
        return None
    if first != second:
        _fail(m("web.account.password_mismatch"))
        return None
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from simopt.reporting.i18n import messages
    from simopt.web.accounts import (
        AccountError,
        clean_province_name,
        create_user,
        normalise_username,
    )
    from simopt.web.models import User

    m = messages("en")
    try:
        username = normalise_username(args.username)
        for name in args.province:
            clean_province_name(name)
    except AccountError as err:
        return _fail(str(err))
    sessions = _open(args)
    if sessions is None:
        return EXIT_BAD_INPUT
    with sessions() as db:
        if db.scalar(select(User).where(func.lower(User.username) == username)) is not None:
            return _fail(m("web.account.username_taken", username=username))
    password = _read_password(args, username)
    if password is None:
        return EXIT_BAD_INPUT
    with sessions() as db:
        try:
            user = create_user(
                db,
                username,
                password,
                args.role,
                language=args.language,
                provinces=args.province,
                min_password_length=_settings(args).min_password_length,
            )
        except AccountError as err:
            return _fail(str(err))
        names = ", ".join(p.name for p in user.provinces)
        if user.is_admin:
            names = m("web.cli.all_provinces")
        print(
            m("web.cli.user_added", username=user.username, role=user.role, provinces=names or "—")
        )
    return EXIT_OK


def cmd_users_list(args: argparse.Namespace) -> int:
    from simopt.errors import printable
    from simopt.reporting.i18n import messages
    from simopt.web.accounts import list_users

    m = messages("en")
    sessions = _open(args)
    if sessions is None:
        return EXIT_BAD_INPUT
    with sessions() as db:
        users = list_users(db)
        if not users:
            print(m("web.cli.no_users_listed"))
            return EXIT_OK
        rows = [("USERNAME", "ROLE", "LANG", "STATUS", "PROVINCES")]
        for u in users:
            provinces = (
                m("web.cli.all_provinces")
                if u.is_admin
                else ", ".join(p.name for p in u.provinces) or "—"
            )
            status = "active" if u.active else m("web.cli.inactive")
            rows.append((printable(u.username), u.role, u.language, status, printable(provinces)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    return EXIT_OK


def _port_free(host: str, port: int) -> str | None:
    """Why the address cannot be listened on, or None."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"--host {host}: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return f"{host}:{port}: cannot listen there ({exc.strerror or exc})"
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from sqlalchemy.engine import make_url

    from simopt.reporting.i18n import messages
    from simopt.web.accounts import count_users
    from simopt.web.app import create_app
    from simopt.web.db import DatabaseError

    m = messages("en")
    problem = _port_free(args.host, args.port)
    if problem:
        return _fail(problem)
    settings = _settings(args, worker_threads=args.workers_threads)
    try:
        app = create_app(settings)
    except DatabaseError as err:
        return _fail(str(err))
    with app.state.web.sessions() as db:
        if count_users(db) == 0:
            print(m("web.cli.no_users"), file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    db_shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(m("web.cli.serving", url=f"http://{host}:{args.port}/", db=db_shown), file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=True, server_header=False)
    return EXIT_OK
