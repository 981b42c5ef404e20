"""``python -m cms_cli`` runs the same command as ``cms``."""

from cms_cli.main import app

app(prog_name="cms")
