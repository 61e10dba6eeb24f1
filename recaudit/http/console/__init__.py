"""The web console: pages for compliance teams and the agent's client, served under /console/.

Server-rendered pages (Jinja2 templates, autoescaped), a timeline drawn as SVG on the
server, and small scripts of our own from `static/`. The pages read through the same
service and read models as the JSON API; the agent's client sends its commands to the
JSON API itself.
"""

from recaudit.http.console.app import PREFIX, install_console
from recaudit.http.console.sessions import SessionStore
from recaudit.http.console.signin import refusal_page

__all__ = ["PREFIX", "SessionStore", "install_console", "refusal_page"]
