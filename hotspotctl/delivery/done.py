"""The crews' report back over HTTP: `hotspotctl crews receive` serves the signed links of the crew lists.

A link (reports.done) is ``<crews.done_url>?stop=<outage ids>&sig=<HMAC-SHA256>``. GET shows the stop and a
short form (who, a note, fixed or not) and writes nothing: mail scanners and link previews fetch links on
their own, and a GET must be safe (RFC 9110, 9.2.1). POST of the same link (the form's button, or a script)
checks the signature again in constant time and records the visit {"at", "by", "note", "via": "link",
"fixed"} on the stop's outages, in the ledger and the audit log. A missing or wrong signature is 403 and
nothing is read or written. Pages are short, Spanish then English, and every value in them is escaped.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Mapping
from datetime import tzinfo
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hotspotctl import clock
from hotspotctl.errors import HotspotError, InputError, NotFoundError
from hotspotctl.evaluate.outages import Outage
from hotspotctl.reports.done import verify_done
from hotspotctl.reports.outages import NAME_LIMIT, NOTE_LIMIT, load_outage, one_line, record_visit
from hotspotctl.store import Store

log = logging.getLogger(__name__)

BODY_LIMIT = 8 * 1024  # bytes of a POST body read (the form is a few hundred)
TIMEOUT_S = 15.0  # a client that sends nothing for this long is dropped
_FIXED = {"1": True, "yes": True, "si": True, "sí": True, "true": True, "0": False, "no": False, "false": False}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str) -> bytes:
    return ("<!doctype html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>body{{font-family:sans-serif;max-width:32rem;margin:1rem auto;"
            "padding:0 1rem}label,input,textarea,button{display:block;width:100%;margin:.3rem 0}"
            "button{padding:.8rem;font-size:1.1rem}</style></head>"
            f"<body>{body}</body></html>\n").encode()


def _where(outages: list[Outage]) -> str:
    return ", ".join(f"{o.site} (#{o.id})" for o in outages)


class DoneReceiver:
    """An HTTP server on ``host:port`` (0 = any free port) that records crews' visits from signed links."""

    def __init__(self, store: Store, secret: str, tz: tzinfo, *, host: str = "127.0.0.1", port: int = 8765) -> None:
        if not secret:
            raise InputError("crews.done_secret is not set (HOTSPOTCTL_CREWS_DONE_SECRET): the receiver could not "
                             "tell a crew's link from a forged one; nothing started")
        self.store, self.tz = store, tz
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = TIMEOUT_S
            server_version = "hotspotctl"
            sys_version = ""

            def do_GET(self) -> None:
                receiver.answer(self, self._query(), post=False)

            def do_POST(self) -> None:
                length = self.headers.get("Content-Length", "0")
                size = int(length) if length.isdigit() else -1
                if not 0 <= size <= BODY_LIMIT:
                    self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Demasiado grande / Too large", "")
                    return
                body = self.rfile.read(size).decode("utf-8", "replace")
                form = {**self._query(), **{k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}}
                receiver.answer(self, form, post=True)

            def _query(self) -> dict[str, str]:
                query = urlsplit(self.path).query
                return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}

            def _send(self, status: HTTPStatus, title: str, body: str) -> None:
                page = _page(title, f"<h1>{_e(title)}</h1>{body}")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
                                                            "form-action 'self'")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:
                # the path without its query: a link's signature is a key to that stop, not for the logs
                log.info("done link: %s %s %s", self.command, urlsplit(self.path).path, args[1] if len(args) > 1
                         else "")

        try:
            self.server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --bind or "
                             "--port; nothing started") from None
        self.server.daemon_threads = True
        self.secret = secret
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def answer(self, handler: Any, form: Mapping[str, str], *, post: bool) -> None:
        ids = verify_done(form.get("stop", ""), form.get("sig", ""), self.secret)
        if ids is None:
            handler._send(HTTPStatus.FORBIDDEN, "Enlace no válido / Invalid link",
                          "<p>Este enlace no es válido: pida una lista nueva.</p>"
                          "<p>This link is not valid: ask for a new list.</p>")
            return
        try:
            outages = [load_outage(self.store, outage_id) for outage_id in ids]
        except NotFoundError:
            handler._send(HTTPStatus.NOT_FOUND, "Parada desconocida / Unknown stop",
                          "<p>Esta parada ya no está en el registro. / This stop is no longer in the ledger.</p>")
            return
        if not post:
            handler._send(HTTPStatus.OK, "¿Visita hecha? / Visit done?", self._form(outages, form))
            return
        try:
            by = one_line(form["by"], "by", NAME_LIMIT) if form.get("by", "").strip() else self._crew(outages)
            note = one_line(form["note"], "the note", NOTE_LIMIT) if form.get("note", "").strip() else None
            fixed = _FIXED.get(form.get("fixed", "").strip().casefold())
            results = record_visit(self.store, ids, by=by, at=clock.now(), tz=self.tz, via="link", note=note,
                                   fixed=fixed, command=f"crews receive: POST stop={form.get('stop', '')}")
        except InputError as exc:
            handler._send(HTTPStatus.BAD_REQUEST, "No registrado / Not recorded", f"<p>{_e(exc)}</p>")
            return
        except HotspotError as exc:  # the store away: the crew should try again, and the NOC should know
            log.error("done link: the visit to %s was not recorded: %s", _where(outages), exc)
            handler._send(HTTPStatus.SERVICE_UNAVAILABLE, "No registrado / Not recorded",
                          "<p>Inténtelo de nuevo en un momento. / Try again in a moment.</p>")
            return
        handler._send(HTTPStatus.OK, "Visita registrada / Visit recorded",
                      f"<p>Gracias, {_e(by)}. / Thank you.</p><p>{_e(_where([r.outage for r in results]))}</p>")

    def _crew(self, outages: list[Outage]) -> str:
        """Who, when the crew did not say: the outage's assignee, else its zone's crew."""
        first = outages[0]
        return first.assigned_to or f"crew {first.zone}"

    def _form(self, outages: list[Outage], form: Mapping[str, str]) -> str:
        status = "; ".join(f"{o.site} (#{o.id}): {o.cause}" + ("" if o.open else " (cerrada / closed)")
                           for o in outages)
        return (f"<p>{_e(status)}</p><form method=\"post\">"
                f"<input type=\"hidden\" name=\"stop\" value=\"{_e(form.get('stop'))}\">"
                f"<input type=\"hidden\" name=\"sig\" value=\"{_e(form.get('sig'))}\">"
                "<label>Quién / Who <input name=\"by\" maxlength=\"200\"></label>"
                "<label>Nota / Note <textarea name=\"note\" maxlength=\"1000\"></textarea></label>"
                "<button name=\"fixed\" value=\"1\">Reparado / Fixed</button>"
                "<button name=\"fixed\" value=\"0\">No reparado / Not fixed</button></form>")

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.5)

    def start(self) -> DoneReceiver:
        """Serve on a thread (tests, or a caller with its own loop); ``close`` stops it."""
        self._thread = threading.Thread(target=self.serve_forever, name="done-receiver", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
            self._thread = None
        self.server.server_close()

    def __enter__(self) -> DoneReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
