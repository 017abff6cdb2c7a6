"""expand(): an InfluxQL query as Grafana 10/11 sends it, macro by macro and variable by variable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from hotspotctl.grafana.influxql import escape_regex, group_by_tags, select_columns
from hotspotctl.grafana.templating import ALL, TimeRange, Variable, expand, format_interval, usages

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 1795359600000 ms
MORNING = TimeRange(datetime(2026, 11, 22, 9, 0, tzinfo=UTC), NOW)
DISTRICT = Variable("district", multi=True, include_all=True, all_value=".*")
PROGRAM = Variable("program", multi=True, include_all=True)  # no custom all value: All is every option
AP = Variable("ap")
TRANSPORT = "Transporte (Metrobus, Cablebus, Tren Ligero, Trolebus, etc.)"


def test_time_filter_relative_and_absolute() -> None:
    query = 'SELECT last("up") FROM "ap_status" WHERE $timeFilter'
    assert expand(query, now=NOW) == 'SELECT last("up") FROM "ap_status" WHERE time >= now() - 6h and time <= now()'
    assert expand(query, time_range=TimeRange.last("30m"), now=NOW).endswith(
        "WHERE time >= now() - 30m and time <= now()")
    assert expand(query, time_range=MORNING, now=NOW).endswith(
        "WHERE time >= 1795338000000ms and time <= 1795359600000ms")
    # weeks are not in the data source's now-N pattern: Grafana resolves them to a time (7 days before NOW)
    assert expand(query, time_range=TimeRange.last("1w"), now=NOW).endswith(
        "WHERE time >= 1794754800000ms and time <= now()")


def test_range_and_interval_macros() -> None:
    query = "$__from $__to $__interval $interval $__interval_ms"
    assert expand(query, time_range=MORNING, interval=timedelta(seconds=10), now=NOW) == \
        "1795338000000 1795359600000 10s 10s 10000"
    assert expand(query, time_range=TimeRange.last("6h"), interval=timedelta(minutes=1), now=NOW) == \
        "1795338000000 1795359600000 1m 1m 60000"


@pytest.mark.parametrize(("interval", "text"), [
    (timedelta(milliseconds=500), "500ms"), (timedelta(seconds=10), "10s"), (timedelta(seconds=60), "1m"),
    (timedelta(seconds=90), "1m"), (timedelta(minutes=20), "20m"), (timedelta(hours=1), "1h"),
    (timedelta(hours=36), "1d"), (timedelta(days=400), "1y"), (timedelta(0), "1ms")])
def test_interval_is_formatted_like_grafanas_backend(interval: timedelta, text: str) -> None:
    assert format_interval(interval) == text


def test_multi_value_variables_are_regex_escaped_and_alternated() -> None:
    query = 'WHERE "district" =~ /^$district$/ AND "program" =~ /^$program$/'
    assert expand(query, {"district": ["Gustavo A. Madero", "Tlalpan"], "program": [TRANSPORT]},
                  variables=[DISTRICT, PROGRAM]) == (
        'WHERE "district" =~ /^(Gustavo A\\. Madero|Tlalpan)$/ AND '
        '"program" =~ /^(Transporte \\(Metrobus, Cablebus, Tren Ligero, Trolebus, etc\\.\\))$/')
    # one value given as text (a URL's var-district=...): escaped, no parentheses
    assert expand(query, {"district": "Gustavo A. Madero", "program": "a/b"}, variables=[DISTRICT, PROGRAM]) == \
        'WHERE "district" =~ /^Gustavo A\\. Madero$/ AND "program" =~ /^a\\/b$/'


def test_all_is_the_custom_all_value_unformatted_or_every_option() -> None:
    query = 'WHERE "district" =~ /^$district$/ AND "program" =~ /^$program$/'
    assert expand(query, {"district": ALL, "program": ALL}, variables=[DISTRICT, PROGRAM],
                  options={"program": ["Escuelas", TRANSPORT]}) == (
        'WHERE "district" =~ /^.*$/ AND "program" =~ /^(Escuelas|Transporte \\(Metrobus, Cablebus, Tren Ligero, '
        'Trolebus, etc\\.\\))$/')
    assert expand(query, {"district": [ALL], "program": "Escuelas"}, variables=[DISTRICT, PROGRAM]) == \
        'WHERE "district" =~ /^.*$/ AND "program" =~ /^Escuelas$/'
    with pytest.raises(ValueError, match=r"\$program is All, with no custom all value"):
        expand(query, {"district": ALL, "program": ALL}, variables=[DISTRICT, PROGRAM])


def test_single_value_variables_are_escaped_only_inside_a_regex() -> None:
    values = {"ap": "PILARES-(RIO MIXCOAC) SANTA LUCIA II_AP_01"}
    assert expand('WHERE "ap" =~ /^$ap$/', values, variables=[AP]) == \
        'WHERE "ap" =~ /^PILARES-\\(RIO MIXCOAC\\) SANTA LUCIA II_AP_01$/'
    assert expand("WHERE \"ap\" = '$ap'", values, variables=[AP]) == \
        "WHERE \"ap\" = 'PILARES-(RIO MIXCOAC) SANTA LUCIA II_AP_01'"
    # the data source looks for "$ap" in the regex: ${ap} there is not recognised, and goes in as is
    assert expand('WHERE "ap" =~ /^${ap}$/', values, variables=[AP]) == \
        'WHERE "ap" =~ /^PILARES-(RIO MIXCOAC) SANTA LUCIA II_AP_01$/'


@pytest.mark.parametrize("value", ["20108", "05-161-02", "33_SP_ALCALDÍA_GUSTAVO_A._MADERO_AP01", " 7.5x"])
def test_a_value_that_starts_like_a_number_is_never_escaped(value: str) -> None:
    # JavaScript's parseFloat reads a number at the start of each: Grafana leaves such values alone
    assert expand('WHERE "ap" =~ /^$ap$/', {"ap": value}, variables=[AP]) == f'WHERE "ap" =~ /^{value}$/'
    assert expand('WHERE "district" =~ /^$district$/', {"district": value}, variables=[DISTRICT]) == \
        f'WHERE "district" =~ /^{value}$/'


def test_explicit_formats() -> None:
    values = {"district": ["Gustavo A. Madero", "O'Higgins", 'say "hi"']}
    expanded = expand("${district:csv} | ${district:pipe} | ${district:raw} | ${district:singlequote} | "
                      "${district:doublequote} | ${district:regex} | [[district]] | [[district:pipe]]", values,
                      variables=[DISTRICT])
    assert expanded.split(" | ") == [
        "Gustavo A. Madero,O'Higgins,say \"hi\"",
        "Gustavo A. Madero|O'Higgins|say \"hi\"",
        "Gustavo A. Madero,O'Higgins,say \"hi\"",
        "'Gustavo A. Madero','O\\'Higgins','say \"hi\"'",
        '"Gustavo A. Madero","O\'Higgins","say \\"hi\\""',
        "(Gustavo A\\. Madero|O'Higgins|say \"hi\")",
        "(Gustavo A\\. Madero|O'Higgins|say \"hi\")",
        "Gustavo A. Madero|O'Higgins|say \"hi\"",
    ]
    assert expand("${district:regex}", {"district": ["Tlalpan"]}, variables=[DISTRICT]) == "Tlalpan"


def test_unknown_references_stay_as_written_and_are_listed() -> None:
    query = 'SELECT x FROM m WHERE "district" =~ /^$distrct$/ AND $timeFilter GROUP BY time(${__interval})'
    assert expand(query, {"district": "Tlalpan"}, now=NOW) == (
        'SELECT x FROM m WHERE "district" =~ /^$distrct$/ AND time >= now() - 6h and time <= now() GROUP BY time(1m)')
    assert [(u.name, u.format, u.text) for u in usages(query + " [[ap:csv]] ${program:pipe}")] == [
        ("distrct", None, "$distrct"), ("timeFilter", None, "$timeFilter"), ("__interval", None, "${__interval}"),
        ("ap", "csv", "[[ap:csv]]"), ("program", "pipe", "${program:pipe}")]


@pytest.mark.parametrize("end", ["now-6", "now-6x", "yesterday", "now+1h"])
def test_time_ranges_say_what_they_accept(end: str) -> None:
    with pytest.raises(ValueError, match=re.escape("a time range end is 'now', 'now-<n><s|m|h|d|w>' or a datetime")):
        TimeRange(end)
    with pytest.raises(ValueError, match="give an aware datetime"):
        TimeRange(datetime(2026, 11, 22, 9, 0))


def test_escape_regex_is_grafanas() -> None:
    assert escape_regex(r"a.b*c+d?e^f$g|h(i)j[k]l{m}n/o\p-q,r s") == \
        r"a\.b\*c\+d\?e\^f\$g\|h\(i\)j\[k\]l\{m\}n\/o\\p-q,r s"


def test_select_columns_and_group_by_tags() -> None:
    query = ('SELECT sum("up") AS "up", count("up") - sum("up") AS down, "rtt_ms", max("x"), a + b, * '
             'FROM (SELECT last("up") AS "up" FROM "ap_status" WHERE "district" =~ /^a FROM b$/ GROUP BY "ap") '
             'WHERE $timeFilter GROUP BY time($__interval), "district", ap::tag fill(none) LIMIT 10')
    assert select_columns(query) == ("up", "down", "rtt_ms", "max")
    assert group_by_tags(query) == ("district", "ap")
    assert select_columns('SHOW TAG VALUES FROM "ap_status" WITH KEY = "ap"') == ()
    assert group_by_tags('SELECT last("up") AS "up" FROM "ap_status" WHERE $timeFilter') == ()
