"""The fast path: 100 sandbox environments, ten broken in ten ways, checked from one process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

from helpers import cli
from helpers.batch import Status, check_inventory
from helpers.batch.fleet import BREAKAGES, Fleet, fleet_plan
from helpers.batch.inventory import inventory_from_mapping, load_inventory
from helpers.common.leaks import scan_for_secrets


@pytest.fixture(scope="module")
def fleet100() -> Iterator[Fleet]:
    with Fleet(size=100) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def checked(fleet100: Fleet, tmp_path_factory: pytest.TempPathFactory):
    batch = check_inventory(load_inventory(fleet100.inventory_path), concurrency=8)
    report_dir = tmp_path_factory.mktemp("report")
    return batch, batch.write(report_dir), report_dir


def test_the_fleet_plan_spreads_ten_distinct_breakages():
    plan = fleet_plan(100)
    broken = [kind for _, kind in plan if kind]
    assert sorted(broken) == sorted(BREAKAGES) and len(plan) == 100
    assert len({name for name, _ in plan}) == 100
    assert len([kind for _, kind in fleet_plan(3) if kind]) == 3
    assert [kind for _, kind in fleet_plan(20, broken=0)] == [None] * 20


def test_each_broken_environment_gets_its_finding_and_the_healthy_none(fleet100, checked):
    batch, _, _ = checked
    assert len(batch.results) == 100
    for result in batch.results:
        expected = fleet100.expected[result.name]
        if expected is None:
            assert result.status == Status.OK, (result.name, result.error_codes)
            assert result.error_codes == []
        else:
            assert expected in result.error_codes, (result.name, result.error_codes)
            assert result.status == Status.FINDINGS
    assert batch.exit_code == 1
    assert batch.counts() == {"ok": 90, "findings": 10, "timeout": 0, "failed": 0}


def test_one_sign_in_per_identity(checked):
    batch, _, _ = checked
    # 10 shared service principals, 10 managed identities and 10 workload-identity apps (the
    # environments take turns at the three kinds) + the expired one + the wrong secret + the
    # unknown tenant
    assert batch.identities == 33


def test_the_junit_file_reads_with_a_junit_parser(fleet100, checked):
    _, paths, _ = checked
    xml = JUnitXml.fromfile(str(paths["junit"]))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == set(fleet100.expected)
    for name, expected in fleet100.expected.items():
        cases = list(suites[name])
        assert cases, name
        failed = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
        if expected is None:
            assert failed == [], name
        else:
            assert any(c.name.startswith(expected) for c in failed), name


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.links: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.add(attrs["href"][1:])

    def handle_data(self, data):
        self.text.append(data)


def test_the_html_report_is_readable(fleet100, checked):
    _, paths, _ = checked
    page = _Collect()
    page.feed(paths["html"].read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert "100 environments: 90 ok, 10 with error findings" in text
    assert page.links <= page.ids  # every summary row links to its environment's section
    for name, code in fleet100.expected.items():
        assert f"env-{name}" in page.ids
        if code:
            assert code in text


def test_the_json_report_has_every_environment(fleet100, checked):
    _, paths, _ = checked
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["exit_code"] == 1 and data["mode"] == "fast"
    assert {e["name"] for e in data["environments"]} == set(fleet100.expected)


def test_no_secret_lands_in_the_report_dir(fleet100, checked):
    _, _, report_dir = checked
    assert scan_for_secrets([report_dir], fleet100.secret_values()) == []


def test_a_hanging_environment_times_out_without_holding_up_the_others():
    with Fleet(size=4, broken=0) as fleet:
        fleet.sandbox.client.add_fault("latency", target="vault:fleet-kv-002", latency_ms=8000)
        inventory = load_inventory(fleet.inventory_path)
        check_inventory(inventory, concurrency=4)  # warm: imports, first sign-ins
        clock = time.perf_counter()
        batch = check_inventory(inventory, concurrency=4, env_timeout=2.0)
        elapsed = time.perf_counter() - clock
    by_name = {r.name: r for r in batch.results}
    slow = by_name.pop("fleet-002")
    assert slow.status == Status.TIMEOUT and slow.error_codes == ["AKV-BATCH-001"]
    assert all(r.status == Status.OK for r in by_name.values())
    assert elapsed < 6.0, elapsed  # bounded by the timeout, not by the 8 s delay


def test_an_environment_with_broken_settings_is_checked_offline_only():
    inventory = inventory_from_mapping(
        {"environments": [{"name": "bad", "vault_url": "http://example.com"}]}
    )
    (result,) = check_inventory(inventory).results
    assert "AKV-BATCH-003" in [f.code for f in result.findings]
    assert result.status == Status.FINDINGS


# -- the command line ---------------------------------------------------------------------------
def test_cli_fast_path_writes_the_report_and_exits_1(tmp_path: Path, capsys):
    with Fleet(size=12) as fleet:
        code = cli.main(
            [
                "check",
                "--inventory",
                str(fleet.inventory_path),
                "--report-dir",
                str(tmp_path / "report"),
                "--junit",
                str(tmp_path / "ci.xml"),
            ]
        )
    out = capsys.readouterr().out
    assert code == 1
    assert "12 environments: 2 ok, 10 with error findings" in out
    written = {p.name for p in (tmp_path / "report").iterdir()}
    assert written >= {"report.html", "report.json", "junit.xml"}
    assert len(list(JUnitXml.fromfile(str(tmp_path / "ci.xml")))) == 12


def test_cli_all_healthy_exits_0(capsys):
    with Fleet(size=3, broken=0) as fleet:
        code = cli.main(["check", "--inventory", str(fleet.inventory_path), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["exit_code"] == 0 and data["counts"]["ok"] == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--inventory", "{missing}"],
        ["check", "--inventory", "{inv}", "--settings", "x.yaml"],
        ["check", "--notebooks"],
    ],
)
def test_cli_usage_errors_and_unusable_inventories_exit_2(tmp_path: Path, argv, capsys):
    inv = tmp_path / "inv.yaml"
    inv.write_text("environments: [{name: a, vault_url: 'https://a.vault.azure.net/'}]\n")
    argv = [a.format(missing=tmp_path / "absent.yaml", inv=inv) for a in argv]
    assert cli.main(argv) == 2


def test_cli_help_explains_the_batch_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["check", "--help"])
    out = capsys.readouterr().out
    for flag in ("--inventory", "--report-dir", "--concurrency", "--notebooks", "--workers"):
        assert flag in out
