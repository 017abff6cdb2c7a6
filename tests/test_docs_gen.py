"""The generated documents (hotspotctl/docs_gen.py): committed, current, and true to the code they come from."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import typer

from hotspotctl import docs_gen
from hotspotctl.cli import app
from hotspotctl.settings import Settings, describe, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _committed(relative: Path) -> str:
    path = ROOT / relative
    assert path.is_file(), f"{relative} is missing: run `{docs_gen.REGENERATE}`"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("relative", [docs_gen.CONFIGURATION_PAGE, docs_gen.CLI_PAGE, docs_gen.EXAMPLE_CONFIG],
                         ids=str)
def test_a_generated_document_is_current(relative: Path):
    """A setting, a default, a help text or a command changed and its page was not made again: run the command."""
    wanted = docs_gen.generated(ROOT)[ROOT / relative]
    assert _committed(relative) == wanted, f"{relative} is stale: run `{docs_gen.REGENERATE}` and commit the result"


def test_the_configuration_reference_lists_every_setting_the_loader_knows():
    """Cross-check with the loader's own walk (`config show`): every key, with the named sets as NAME."""
    page = docs_gen.configuration_reference()
    shown = {re.sub(r"^(snmp|ssh)\.auth(\.[^.]+)?(?=\.|$)", r"\1.auth.NAME", row["key"])
             for row in describe(load_settings(env={}, cwd=Path("/")))}
    listed = {s.key for s in docs_gen.iter_settings()}
    assert shown <= listed
    for key in listed:
        assert f"| `{key}` |" in page, key
    assert "| `snmp.timeout_s` | `1.0` | `HOTSPOTCTL_SNMP_TIMEOUT_S` | 0.01 .. 60 s |" in page
    assert "| `evaluate.site_offline_share` | `0.8` | `HOTSPOTCTL_EVALUATE_SITE_OFFLINE_SHARE` | more than 0 .. 1 |" in page
    assert "| `crew_zones.depots` | `{}` | file only |" in page
    assert "| `ssh.auth.NAME.port` | `22` | file only | 1 .. 65,535 |" in page
    assert "&lt;data_dir&gt;" in page  # help text is escaped, not taken for an HTML tag


def test_the_cli_reference_has_every_command_and_option():
    page = docs_gen.cli_reference(typer.main.get_command(app))
    for name in ("hotspotctl inventory import", "hotspotctl config init", "hotspotctl crews send", "hotspotctl run"):
        assert f"## `{name}`" in page, name
    assert "--merge" in page and "--force" in page and "HOTSPOTCTL_CONFIG" in page


def _uncommented(example: str) -> str:
    """The example with every commented default (``# key = value``) made live; explanations (``##``) stay."""
    return "\n".join(line[2:] if line.startswith("# ") else line for line in example.splitlines()) + "\n"


def test_the_example_configuration_loads_and_equals_the_defaults(tmp_path: Path):
    defaults = load_settings(env={}, cwd=tmp_path).settings
    example = tmp_path / "example.toml"
    example.write_text(docs_gen.example_config(), encoding="utf-8")
    assert load_settings(example, env={}, cwd=tmp_path).settings == defaults
    live = tmp_path / "live.toml"
    live.write_text(_uncommented(docs_gen.example_config()), encoding="utf-8")
    document = tomllib.loads(live.read_text(encoding="utf-8"))
    assert document["snmp"]["timeout_s"] == 1.0 and document["inventory"]["districts"][0] == "Alvaro Obregon"
    loaded = load_settings(live, env={}, cwd=tmp_path)
    assert loaded.settings == defaults
    file_keys = {key for key, origin in loaded.origins.items() if origin.startswith("file")}
    assert len(file_keys) >= 70  # every commented default was a real key, now read from the file


def test_the_example_configuration_has_every_section_and_no_secret_value():
    example = docs_gen.example_config()
    for section, _, _ in docs_gen.iter_sections():
        assert f"\n[{section}]\n" in example, section
    for secret in ("community", "write_community", "auth_password", "priv_password", "token", "password", "api_key"):
        assert not re.search(rf"^#? ?{secret} =", example, re.MULTILINE), secret
    assert "HOTSPOTCTL_INFLUX_TOKEN in the environment" in example
    assert "## community_env = " in example


def test_config_init_writes_the_committed_example(cli):
    result = cli("config", "init")
    assert result.code == 0, result.err
    written = (cli.workdir / "hotspotctl.toml").read_text(encoding="utf-8")
    assert written == _committed(docs_gen.EXAMPLE_CONFIG)
    assert "wrote hotspotctl.toml" in result.err
    assert cli("config", "show").code == 0  # the file it wrote is the one the next command reads


def test_config_init_leaves_an_existing_file_alone_without_force(cli):
    target = cli.workdir / "site.toml"
    target.write_text('timezone = "UTC"\n', encoding="utf-8")
    refused = cli("config", "init", target)
    assert refused.code == 3
    assert f"{target}: already exists; nothing written (--force replaces it)" in refused.err
    assert target.read_text(encoding="utf-8") == 'timezone = "UTC"\n'
    replaced = cli("config", "init", target, "--force")
    assert replaced.code == 0, replaced.err
    assert target.read_text(encoding="utf-8") == docs_gen.example_config()


def test_config_init_into_a_missing_folder_is_refused(cli):
    result = cli("config", "init", cli.workdir / "no" / "such" / "hotspotctl.toml")
    assert result.code == 3
    assert "no such directory; nothing written" in result.err


def test_the_example_defaults_are_the_settings_defaults():
    """The example's values come from the same declarations as Settings' own defaults."""
    document = tomllib.loads(_uncommented(docs_gen.example_config()))
    defaults = Settings()
    assert document["snmp"]["max_in_flight"] == defaults.snmp.max_in_flight
    assert document["influx"]["api"] == defaults.influx.api
    assert tuple(document["inventory"]["bounds"]) == defaults.inventory.bounds


def test_the_readme_is_short_and_its_links_resolve():
    """The manual lives in docs/; the README says what it is, the two commands and where to read next."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode("utf-8")) <= 15_000
    assert "make demo" in readme and "make test" in readme and ".venv/bin/hotspotctl" in readme
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert len(targets) >= 15
    assert [target for target in targets if not (ROOT / target).is_file()] == []


def test_every_decision_record_joins_the_site_menu(tmp_path: Path):
    (tmp_path / "decisions").mkdir()
    for name in ("b-second.md", "a-first.md"):
        (tmp_path / "decisions" / name).write_text(f"# {name[2:-3].title()}\n\n## Context\n", encoding="utf-8")
    config = {"docs_dir": str(tmp_path), "nav": [{"Home": "index.md"}, {"Design decisions": "decisions/"}]}
    assert docs_gen.on_config(config)["nav"] == [
        {"Home": "index.md"},
        {"Design decisions": ["decisions/index.md", "decisions/a-first.md", "decisions/b-second.md"]}]
    assert "- [First](a-first.md)\n- [Second](b-second.md)\n" in docs_gen.decisions_index(tmp_path / "decisions")
