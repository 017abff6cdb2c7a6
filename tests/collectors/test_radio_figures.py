"""Every radio figure a profile reads from a recording, pinned in its case.yaml (``radio_figures``).

The LibreNMS parity test (test_radio_parity.py) checks the figures LibreNMS also reads; this one pins all
of them, for the cases LibreNMS cannot vouch for: recordings whose LibreNMS data has no radio sensors,
and the synthetic fixtures built from a vendor MIB for profiles that have not met a real device (their
case.yaml says ``synthetic: built from <MIB> structure; no real device met``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.collectors.test_radio_parity import CASES, DEVICES, case_spec, read_case, shipped

FIGURE_CASES = [case for case in CASES if "radio_figures" in case_spec(case)]
SYNTHETIC = [case for case in CASES if "synthetic" in case_spec(case)]


def test_there_are_pinned_cases() -> None:
    assert {"cambium_cnpilot", "fortinet_fortiap", "teldat_tv-base-vdsl2-adsl"} <= set(FIGURE_CASES)


@pytest.mark.parametrize("case", FIGURE_CASES)
def test_radio_figures(case: str) -> None:
    expected: list[dict[str, Any]] = case_spec(case)["radio_figures"]
    read = read_case(case, shipped())
    assert read.profile == case_spec(case)["profile"]
    assert [radio.to_json() for radio in read.radios] == expected


@pytest.mark.parametrize("case", SYNTHETIC)
def test_a_synthetic_case_says_so_and_pins_its_radios(case: str) -> None:
    spec = case_spec(case)
    assert spec["synthetic"].startswith("built from ") and spec["synthetic"].endswith("no real device met")
    profile = shipped().get(spec["profile"])
    # its figures are pinned: a standalone AP's radios here (radio_figures) or in test_vendor_radios.py
    # (expect_radios); a controller's APs and their radios in test_controllers.py
    assert "radio_figures" in spec or "expect_radios" in spec or profile.controller is not None
    assert not (DEVICES / case / "librenms.json").exists()
    header = profile.source.read_text(encoding="utf-8").lower()
    assert "not met" in header or "no real device" in header
