"""``numeric_address``: an inventory's management address as the socket address of an IP literal, or None."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotspotctl.collectors.udp import numeric_address


@pytest.mark.parametrize(("host", "expected"), [
    ("10.1.2.3", ("10.1.2.3", 161)),
    ("0.0.0.0", ("0.0.0.0", 161)),
    ("255.255.255.255", ("255.255.255.255", 161)),
    ("10.01.2.3", None),  # a leading zero: octal to some parsers, refused by ipaddress and inet_pton alike
    ("10.1.2", None),
    ("10.1.2.3.4", None),
    ("256.1.2.3", None),
    (" 10.1.2.3", None),
    ("10.1.2.3\x00", None),
    ("１0.1.2.3", None),  # a fullwidth digit
    ("ap-0001.cdmx.example", None),  # a name: the resolver's
    ("::1", ("::1", 161, 0, 0)),
    ("[2001:DB8::1]", ("2001:db8::1", 161, 0, 0)),
    ("fe80::1%1", ("fe80::1", 161, 0, 1)),
    ("::ffff:10.1.2.3", ("10.1.2.3", 161)),  # v4-mapped: the IPv4 socket
])
def test_an_ip_literal_is_its_socket_address_and_anything_else_none(host: str, expected: tuple | None) -> None:
    assert numeric_address(host, 161) == expected


def reference(host: str, port: int) -> tuple | None:
    """What ipaddress alone makes of a literal without a scope (the parser before IPv4's fast path)."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.version == 4:
        return (str(ip), port)
    return (str(ip.ipv4_mapped), port) if ip.ipv4_mapped is not None else (str(ip), port, 0, 0)


octet = st.one_of(st.integers(0, 300).map(str), st.from_regex(r"0[0-9]{1,2}", fullmatch=True))


@given(st.one_of(st.lists(octet, min_size=3, max_size=5).map(".".join),
                 st.ip_addresses().map(str),
                 st.text(alphabet="0123456789.:abcdef[] x\x00", max_size=20)))
def test_the_ipv4_fast_path_agrees_with_ipaddress_on_any_text(host: str) -> None:
    if "%" not in host:
        assert numeric_address(host, 161) == reference(host, 161)
