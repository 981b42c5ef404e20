"""cms auth: who you are."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated

import typer

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
    from cms_cli.auth.remote import refuse_operator

    refuse_operator("auth bootstrap")
    from cms_cli.auth import service
    from cms_cli.auth.models import Role
    from cms_cli.core.session import transaction

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
    from cms_cli.auth import credentials
    from cms_cli.auth.remote import remote

    password = read_password(password_stdin)
    config = current().config()
    api = remote(signed_in=False)
    if api is not None:  # the server checks the password, on its own clock
        answer = api.post("/auth/login", {"email": email, "password": password})
        token, user = answer["token"], answer["user"]
        who, role = f"{user['name']} <{user['email']}>", user["role"]
        expires = datetime.fromisoformat(answer["expires_at"])
    else:
        from cms_cli.auth import service
        from cms_cli.core.session import transaction

        with transaction() as session:
            done = service.login(
                session,
                email,
                password,
                hours=config.settings.session_hours,
                rounds=config.settings.bcrypt_rounds,
            )
        token, role = done.token, done.user.role.value
        who, expires = f"{done.user.name} <{done.user.email}>", done.auth_session.expires_at
    saved = credentials.save(config, token)
    if saved.notice:
        warning(saved.notice)
    result(
        f"Logged in as {who} ({role}) until {when(expires, config.tz)}; "
        f"token kept in the {saved.store}."
    )
    if os.environ.get("CMS_TOKEN"):
        warning("CMS_TOKEN is set and overrides the token just stored")


@app.command()
def status(json_: JsonOpt = False) -> None:
    """Who is logged in, with which role, until when (exit 4 when nobody is).

    Example: cms auth status --json
    """
    from cms_cli.auth import credentials
    from cms_cli.auth.remote import remote

    config = current().config()
    api = remote()
    if api is not None:
        answer = api.get("/auth/status")
        stored = credentials.load(config)
        item(
            {
                "email": answer["email"],
                "name": answer["name"],
                "role": answer["role"],
                "expires_at": datetime.fromisoformat(answer["expires_at"]),
                "token_store": stored.store if stored else None,
            },
            json_=json_,
        )
        return
    from cms_cli.auth.current import current as who
    from cms_cli.core.session import transaction

    with transaction() as session:
        me = who(session, config)
    item(
        {
            "email": me.user.email,
            "name": me.user.name,
            "role": me.user.role,
            "expires_at": me.auth_session.expires_at,
            "token_store": me.store,
        },
        json_=json_,
    )


@app.command()
def logout() -> None:
    """Revoke your session in the database and forget the token here.

    Example: cms auth logout
    """
    from cms_cli.auth import credentials
    from cms_cli.auth.remote import remote

    config = current().config()
    api = remote()
    if api is not None:
        email = api.get("/auth/status")["email"]
        api.post("/auth/logout")
        stored = credentials.load(config)
        store = stored.store if stored else None
    else:
        from cms_cli.auth import service
        from cms_cli.auth.current import current as who
        from cms_cli.core.session import transaction

        with transaction() as session:
            me = who(session, config)
            service.logout(session, me.user, me.auth_session)
        email, store = me.user.email, me.store
    credentials.delete(config)
    result(f"Logged out {email}.")
    if store == "env":
        warning("the revoked token is still in CMS_TOKEN; unset it")


@app.command()
def refresh() -> None:
    """Extend your session by session_hours from now.

    Example: cms auth refresh
    """
    from cms_cli.auth.remote import remote

    config = current().config()
    api = remote()
    if api is not None:
        answer = api.post("/auth/refresh")
        email, expires = answer["email"], datetime.fromisoformat(answer["expires_at"])
    else:
        from cms_cli.auth import service
        from cms_cli.auth.current import current as who
        from cms_cli.core.session import transaction

        with transaction() as session:
            me = who(session, config)
            row = service.refresh(
                session, me.user, me.auth_session, hours=config.settings.session_hours
            )
        email, expires = me.user.email, row.expires_at
    result(f"Session of {email} extended until {when(expires, config.tz)}.")


@app.command()
def token() -> None:
    """Print your session token, for CMS_TOKEN in scripts and cron.

    Example: export CMS_TOKEN="$(cms auth token)"
    """
    from cms_cli.auth import credentials
    from cms_cli.auth.remote import remote

    config = current().config()
    api = remote()
    if api is not None:
        api.get("/auth/status")  # exit 4 unless the server takes the token
    else:
        from cms_cli.auth.current import current as who
        from cms_cli.core.session import transaction

        with transaction() as session:
            who(session, config)
    stored = credentials.load(config)
    assert stored is not None  # who() succeeded, so a token is stored
    result(stored.token)


@app.command()
def passwd(password_stdin: PasswordStdin = False) -> None:
    """Change your own password; your other sessions end.

    On a terminal it asks the current password, then the new one twice. With
    --password-stdin, the new password is read as one line (your session vouches for you).

    Example: cms auth passwd
    """
    from cms_cli.auth.remote import remote

    config = current().config()
    api = remote()
    if api is not None:
        api.get("/auth/status")  # exit 4 before asking anything
        old = None if password_stdin else read_password(False, prompt="Current password")
        new = read_password(password_stdin, prompt="New password", confirm=True)
        email = api.post("/auth/passwd", {"old": old, "new": new})["email"]
    else:
        from cms_cli.auth import service
        from cms_cli.auth.current import current as who
        from cms_cli.core.session import transaction

        with transaction() as session:
            me = who(session, config)
        old = None if password_stdin else read_password(False, prompt="Current password")
        new = read_password(password_stdin, prompt="New password", confirm=True)
        with transaction() as session:
            me = who(session, config)
            service.change_password(
                session,
                me.user,
                old,
                new,
                keep=me.auth_session,
                rounds=config.settings.bcrypt_rounds,
            )
        email = me.user.email
    result(f"Password of {email} changed; your other sessions were ended.")
