"""Crew lists by email: one message per zone, the list as HTML (and plain text) with the CSV attached.

SMTP with the standard library: STARTTLS (``crews.email.tls = "starttls"``, port 587) or TLS from the first
byte (``crews.email.tls = "ssl"``, port 465), the server verified against ``crews.email.ca_file`` or the system's CAs,
then a login when ``crews.email.username`` is set. One connection serves every zone of a send.
The password never appears in a message, a log line or a repr.

A zone's recipients are ``crews.email.zones[zone]`` (comma-separated; the zone's name matched in any case
and with or without accents) plus ``crews.email.to``.
"""

from __future__ import annotations

import io
import logging
import re
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from hotspotctl.delivery.webhook import DeliveryError
from hotspotctl.evaluate.outages import NOC_ZONE
from hotspotctl.messages import catalogue
from hotspotctl.names import name_key
from hotspotctl.reports.crews import ZoneList, cause_label
from hotspotctl.reports.render import where_text, write_crews_csv, write_crews_html
from hotspotctl.settings import EmailSettings

log = logging.getLogger("hotspotctl.crews")

_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")  # and bidi overrides
_NOT_SLUG = re.compile(r"[^0-9a-z]+")


def one_line(text: str) -> str:
    """Text safe in a mail header or a line of the list: control characters, line breaks and bidirectional
    overrides (which would show a name backwards) become single spaces."""
    return " ".join(_LINE_BREAKS.sub(" ", text).split())


def slug(text: str) -> str:
    """'Gustavo A. Madero' -> 'gustavo-a-madero', for file names."""
    return _NOT_SLUG.sub("-", name_key(text)).strip("-") or "zone"


def list_date(zone_list: ZoneList) -> str:
    """The list's day in the city's zone (``ZoneList.tz``), as the crews' schedule is."""
    return datetime.fromtimestamp(zone_list.generated_at, zone_list.tz).strftime("%Y-%m-%d")


def recipients(settings: EmailSettings, zone: str) -> tuple[str, ...]:
    """The zone's own addresses, then crews.email.to, without repeats. The NOC's own list (controllers,
    zone ``NOC``) goes only to crews.email.zones["NOC"]: crews.email.to is the field crews'."""
    key = name_key(zone)
    own = [text for name, text in settings.zones.items() if name_key(name) == key]
    shared = [] if key == name_key(NOC_ZONE) else list(settings.to)
    found: list[str] = []
    for address in [part for text in own for part in text.split(",")] + shared:
        address = one_line(address)
        if address and address.lower() not in {a.lower() for a in found}:
            found.append(address)
    return tuple(found)


def subject(zone_list: ZoneList) -> str:
    """'Lista de cuadrilla Iztapalapa: 2 paradas (2026-11-22)', in the zone's language, on one line."""
    t = catalogue(zone_list.language)
    stops = t.plural("count.stops", len(zone_list.stops))
    return one_line(t("email.subject", zone=one_line(zone_list.zone), stops=stops, date=list_date(zone_list)))


def attachment_name(zone_list: ZoneList) -> str:
    return f"crews-{slug(zone_list.zone)}-{list_date(zone_list)}.csv"


def plain_text(zone_list: ZoneList) -> str:
    """The short numbered list of the text/plain part, in the zone's language. Text from the inventory and
    devices is put on one line (no control characters: a name cannot forge lines of the list)."""
    t = catalogue(zone_list.language)
    route = "email.route_depot" if zone_list.start_kind == "depot" else "email.route_centroid"
    lines = [t("email.generated", subject=subject(zone_list), when=zone_list.local(zone_list.generated_at)),
             t(route, lat=f"{zone_list.start[0]:.6f}", lon=f"{zone_list.start[1]:.6f}",
               km=f"{zone_list.distance_km:.1f}"), ""]
    for stop in zone_list.stops:
        place = where_text(stop, zone_list.language)
        where = one_line(stop.name) + (f" ({one_line(place)})" if place else "")
        lines.append(t("email.stop", order=stop.order, where=where, cause=cause_label(stop.cause, zone_list.language),
                       aps=stop.aps_affected, people=stop.people, clients=stop.clients,
                       since=zone_list.local(stop.since)))
        lines.append(f"   {one_line(stop.action)}")
        lines.append(f"   {stop.map_url}")
    if zone_list.more:
        lines += ["", t("email.more", n=zone_list.more)]
    lines += ["", t("email.attached")]
    return "\n".join(lines) + "\n"


def build_message(zone_list: ZoneList, settings: EmailSettings, to: tuple[str, ...]) -> EmailMessage:
    """The zone's message: text and HTML alternatives, the CSV attached."""
    one = [zone_list]
    html, csv = io.StringIO(), io.StringIO()
    write_crews_html(html, one, generated_at=zone_list.generated_at, language=zone_list.language)
    write_crews_csv(csv, one)
    message = EmailMessage()
    try:
        message["Subject"] = subject(zone_list)
        message["From"] = one_line(settings.sender)
        message["To"] = ", ".join(to)
    except ValueError as exc:  # an address the header cannot hold
        raise DeliveryError(f"zone {one_line(zone_list.zone)!r}: cannot address the message: {exc}; check "
                            "crews.email.sender, crews.email.to and crews.email.zones") from None
    message["Date"] = formatdate(localtime=True)
    domain = settings.sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid("crews", domain=one_line(domain) or "localhost")
    message.set_content(plain_text(zone_list))
    message.add_alternative(html.getvalue(), subtype="html")
    message.add_attachment(csv.getvalue(), subtype="csv", charset="utf-8", filename=attachment_name(zone_list))
    return message


def _smtp_text(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {' '.join(error.split())}"


class EmailSink:
    """Sends messages through crews.email's SMTP server; connects at the first message."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self.target = f"SMTP {settings.host}:{settings.port}"
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"EmailSink({self.target!r})"

    def _context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.settings.ca_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"crews.email.ca_file {self.settings.ca_file!r}: cannot load: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None

    def connect(self) -> None:
        """Open, secure and log in; DeliveryError saying what failed and which setting to check."""
        s = self.settings
        if self._smtp is not None:
            return
        smtp: smtplib.SMTP | None = None
        try:
            if s.tls == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=self._context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
                if s.tls == "starttls":
                    smtp.ehlo()
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password)
        except smtplib.SMTPNotSupportedError:
            self._drop(smtp)
            raise DeliveryError(f'{self.target} does not offer STARTTLS: set crews.email.tls = "ssl" (port 465), '
                                'or crews.email.tls = "none" to send in clear') from None
        except smtplib.SMTPAuthenticationError as exc:
            self._drop(smtp)
            raise DeliveryError(f"{self.target} refused the login of {s.username!r}: {_smtp_text(exc)}; check "
                                "crews.email.username and HOTSPOTCTL_CREWS_EMAIL_PASSWORD") from None
        except ssl.SSLError as exc:
            self._drop(smtp)
            raise DeliveryError(f"{self.target}: TLS failed: {exc.reason or exc}; set crews.email.ca_file to the "
                                "CA that signed the server's certificate") from None
        except smtplib.SMTPResponseException as exc:
            self._drop(smtp)
            raise DeliveryError(f"{self.target} refused: {_smtp_text(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(smtp)
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise DeliveryError(f"{self.target} is not reachable: {reason}; check crews.email.host and "
                                "crews.email.port") from None
        self._smtp = smtp
        log.info("connected to %s", self.target)

    def send(self, message: EmailMessage) -> None:
        """Send one message (reconnecting once when the server closed the connection)."""
        for attempt in range(2):
            self.connect()
            assert self._smtp is not None
            try:
                refused = self._smtp.send_message(message)
            except smtplib.SMTPServerDisconnected:
                self._drop(self._smtp)
                self._smtp = None
                if attempt:
                    raise DeliveryError(f"{self.target} closed the connection while sending") from None
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                texts = "; ".join(f"{rcpt}: {_smtp_text(smtplib.SMTPResponseException(*answer))}"
                                  for rcpt, answer in exc.recipients.items())
                raise DeliveryError(f"{self.target} refused every recipient: {texts}; check crews.email.to "
                                    "and crews.email.zones") from None
            except smtplib.SMTPSenderRefused as exc:
                raise DeliveryError(f"{self.target} refused the sender {exc.sender!r}: {_smtp_text(exc)}; check "
                                    "crews.email.sender") from None
            except smtplib.SMTPResponseException as exc:
                raise DeliveryError(f"{self.target} refused the message: {_smtp_text(exc)}") from None
            except (smtplib.SMTPException, OSError) as exc:
                self._drop(self._smtp)
                self._smtp = None
                raise DeliveryError(f"{self.target}: {getattr(exc, 'strerror', None) or exc}") from None
            if refused:
                log.warning("%s refused some recipients: %s", self.target, ", ".join(sorted(refused)))
            return

    @staticmethod
    def _drop(smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        try:
            smtp.close()
        except OSError:  # already gone
            log.debug("closing an SMTP connection that was already closed")

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._drop(self._smtp)
            self._smtp = None

    def __enter__(self) -> EmailSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
