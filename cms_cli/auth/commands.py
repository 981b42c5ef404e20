"""cms auth: who you are."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cms_cli.api import call
from cms_cli.core.context import current
from cms_cli.core.output import JsonOpt, item, result, warning, when
from cms_cli.core.prompts import read_password

app = typer.Typer(
    help="Log in and out, sessions and your own password.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

EmailOpt = Annotated[str, typer.Option("--email", help="Account e-mail (case-insensitive).")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password as one line from stdin.")
]


@app.command()
def bootstrap(
    email: EmailOpt,
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create the very first account, a manager (operator; no login needed).

    Example: cms auth bootstrap --email registrar@uni.example --name "Registry Office"
    --password-stdin < pw.txt
    """
    from cms_cli.api.remote import refuse_operator

    refuse_operator("auth bootstrap")
    from cms_cli.auth import service
    from cms_cli.auth.models import Role
    from cms_cli.core.session import transaction

    current().may_create = True  # the first account of a new database

    password = read_password(password_stdin, confirm=True)
    rounds = current().config().settings.bcrypt_rounds
    with transaction() as session:
        user = service.bootstrap(
            session,
            service.NewUser(email=email, name=name, role=Role.manager),
            password,
            rounds=rounds,
        )
    result(f"Created manager {user.email}. Next: cms auth login --email {user.email}")


@app.command()
def login(email: EmailOpt, password_stdin: PasswordStdin = False) -> None:
    """Check your password and keep a new session token on this machine.

    Example: cms auth login --email ana.lopez@uni.example
    """
    from cms_cli.auth import api, credentials

    password = read_password(password_stdin)
    config = current().config()
    # Through a server, the server checks the password, on its own clock.
    done = call(api.login, api.Credentials(email=email, password=password))
    saved = credentials.save(config, done.token)
    if saved.notice:
        warning(saved.notice)
    url = current().server_url
    if url:  # this profile talks to that server from now on, in its time zone
        from dataclasses import replace

        from cms_cli.api.remote import server_timezone
        from cms_cli.core.config import remember_server

        zone = server_timezone(url)
        # Only `cms --server URL auth login` makes the profile the server's client for
        # good; a server configured (CMS_SERVER_URL, server_url) is already so.
        remember_server(config, url, zone, remember=current().server is not None)
        if zone and "timezone" not in config.settings.model_fields_set:
            config = replace(config, settings=config.settings.model_copy(update={"timezone": zone}))
    who = f"{done.user.name} <{done.user.email}>"
    result(
        f"Logged in as {who} ({done.user.role.value}) until {when(done.expires_at, config.tz)}; "
        f"token kept in the {saved.store}."
    )
    if os.environ.get("CMS_TOKEN"):
        warning("CMS_TOKEN is set and overrides the token just stored")


def _store() -> str | None:
    """Where this machine keeps the token (keyring, file or env)."""
    from cms_cli.auth import credentials

    stored = credentials.load(current().config())
    return stored.store if stored else None


@app.command()
def status(json_: JsonOpt = False) -> None:
    """Who is logged in, with which role, until when (exit 4 when nobody is).

    Example: cms auth status --json
    """
    from cms_cli.auth import api

    shown = call(api.status, api.Nothing())
    item({**shown.model_dump(), "token_store": _store()}, json_=json_)


@app.command()
def logout() -> None:
    """Revoke your session and forget the token here (and the server that
    cms --server URL auth login remembered for this profile).

    Example: cms auth logout
    """
    from cms_cli.auth import api, credentials
    from cms_cli.core.config import forget_server
    from cms_cli.core.errors import Unavailable

    store = _store()
    try:
        done = call(api.logout, api.Nothing())
    except Unavailable as exc:
        # The server cannot be reached: this machine forgets all the same, and says the
        # session could not be revoked (it ends at its expiry, or by a manager).
        credentials.delete(current().config())
        forget_server(current().config())
        warning(f"{exc.message}: the session was forgotten here but not revoked on the server")
        raise
    credentials.delete(current().config())
    forget_server(current().config())
    result(f"Logged out {done.email}.")
    if store == "env":
        warning("the revoked token is still in CMS_TOKEN; unset it")


@app.command()
def refresh() -> None:
    """Extend your session by session_hours from now, never past session_max_days after
    the login.

    Example: cms auth refresh
    """
    from cms_cli.auth import api

    done = call(api.refresh, api.Nothing())
    result(f"Session of {done.email} extended until {when(done.expires_at, current().tz)}.")


@app.command()
def token() -> None:
    """Print your session token, for CMS_TOKEN in scripts and cron.

    Example: export CMS_TOKEN="$(cms auth token)"
    """
    from cms_cli.auth import api, credentials

    call(api.status, api.Nothing())  # exit 4 unless the session is valid
    stored = credentials.load(current().config())
    assert stored is not None  # the session was found, so a token is stored
    result(stored.token)


@app.command()
def passwd(password_stdin: PasswordStdin = False) -> None:
    """Change your own password; your other sessions end.

    Always asks the current password: on a terminal, then the new one twice; with
    --password-stdin, two lines: the current password, then the new one.

    Example: cms auth passwd
    """
    from cms_cli.auth import api

    def passwords(data: api.PasswordChange) -> api.PasswordChange:
        old = read_password(password_stdin, prompt="Current password")
        new = read_password(password_stdin, prompt="New password", confirm=True)
        return api.PasswordChange(old=old, new=new)

    # Who is logged in is checked first (exit 4 before anything is asked).
    done = call(api.passwd, api.PasswordChange(old="", new=""), ask=passwords)
    result(f"Password of {done.email} changed; your other sessions were ended.")


@app.command()
def forgot(email: EmailOpt) -> None:
    """E-mail yourself a one-time code to choose a new password (anyone).

    The answer is the same whether or not the address has an account; a few requests
    in a row, and the next are quietly not sent for 15 minutes. Then: cms auth accept.

    Example: cms auth forgot --email ana.lopez@uni.example
    """
    from cms_cli.auth import api

    done = call(api.forgot, api.ForgotRequest(email=email))
    result(done.message)


@app.command()
def accept(
    code: Annotated[str, typer.Argument(help="The code from the e-mail.", metavar="CODE")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Choose your password with the one-time code an invitation or a reset e-mailed you.

    The code works once and expires (invite_hours, 72 by default). On a terminal the
    new password is asked twice; with --password-stdin, one line. Your other sessions
    end. Then: cms auth login.

    Example: cms auth accept K7QD-M2XP-9TRA-WE4H
    """
    from cms_cli.auth import api

    def password(data: api.Acceptance) -> api.Acceptance:
        new = read_password(password_stdin, prompt="New password", confirm=True)
        return data.model_copy(update={"password": new})

    # The code is checked first (exit 4 before the password is asked).
    done = call(api.accept, api.Acceptance(code=code), ask=password)
    result(f"Password of {done.email} set; log in with cms auth login --email {done.email}.")
