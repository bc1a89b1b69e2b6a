"""Every benchmark runs to the end on a small load and prints its figures.

These are not timed tests: a figure beyond its target fails nothing here (the benchmarks
themselves say "MISSED"). They keep the benchmarks working as the code changes, and
check what each benchmark checks of its own run (e.g. that the exchange it timed really
happened). Each runs as an operator runs it, ``python -m bench.NAME``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.databases import POSTGRES_URL, REQUIRE_POSTGRES, postgres_unreachable_reason
from tests.processes import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def bench(name: str, *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), "OCE_BENCH_POSTGRES_URL": POSTGRES_URL},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"bench.{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def postgres_expected() -> bool:
    """Whether a benchmark's PostgreSQL half must have run (CI requires it)."""
    return REQUIRE_POSTGRES or postgres_unreachable_reason() is None


def figures(output: str, unit: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(rf"([\d,]+(?:\.\d+)?) {unit}", output)]


def test_vocab_normalize_prints_documents_per_second() -> None:
    output = bench("vocab_normalize", "--seconds", "0.1")
    rates = figures(output, "docs/s")
    assert len(rates) >= 7
    assert all(rate > 0 for rate in rates)


def test_jsonld_work_prints_each_document_and_the_loop_stall() -> None:
    output = bench("jsonld_work", "--repeat", "1")
    assert output.count("KiB  check") == 7
    assert len(figures(output, "ms  refused")) == 2
    assert len(figures(output, "ms  normalize")) == 5
    assert "event loop's longest stall" in output


def test_ledger_reads_measures_each_read_on_each_database() -> None:
    output = bench("ledger_reads", "--agents", "20", "--events", "300")
    assert "baseline: bare Starlette GET" in output
    databases = 2 if postgres_expected() else 1
    for read in ("resources", "open-commitments", "events"):
        lines = [line for line in output.splitlines() if line.strip().startswith(read + " ")]
        assert len(lines) == databases, output
        assert all("target p95 < 50 ms" in line for line in lines)
    if databases == 2:
        assert "PostgreSQL, 300 events over 20 agents" in output


def test_exchange_latency_times_every_step_of_a_real_exchange() -> None:
    output = bench("exchange_latency", "--rounds", "2")
    assert "checked: 3 agreements finished on both instances, bread balance exact" in output
    for step in ("publish", "offer", "accept", "deliver", "pay"):
        assert re.search(rf"^\s+{step}\s+median\s+[\d.]+ ms\s+p99\s+[\d.]+ ms", output, re.M)


def test_fanout_reaches_every_host_exactly_once() -> None:
    output = bench("fanout", "--followers", "60", "--hosts", "6", "--rounds", "2")
    assert re.search(r"^baseline: 6 unsigned POSTs from plain httpx", output, re.M), output
    databases = 2 if postgres_expected() else 1
    rounds = re.findall(
        r"activity \d: .* requests 6 \(6 signed\), per host min 1 max 1$", output, re.M
    )
    assert len(rounds) == 2 * databases, output
    assert output.count("requests per host: all exactly 1 (6 shared inboxes)") == databases
    if databases == 2:
        assert "PostgreSQL, 60 followers on 6 hosts" in output


def test_bench_lists_the_benchmarks_it_runs() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "bench", "--list"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    assert "fanout" in listed
    assert "vocab_normalize" in listed


def test_inbox_ingest_stores_every_accepted_activity() -> None:
    output = bench("inbox_ingest", "--activities", "200", "--actors", "5", "--concurrency", "16")
    assert re.search(r"^\s+bare Starlette\s+\d+ activities/s", output, re.M), output
    databases = 2 if postgres_expected() else 1
    assert len(re.findall(r"oce serve POST /inbox\s+\d+ activities/s", output)) == databases
    assert len(re.findall(r"of the baseline \(target ≥ 0\.35: (met|MISSED)\)", output)) == databases
    stored = re.findall(r"rows in inbox_items: (\d+) of (\d+) accepted \(all stored\)", output)
    assert len(stored) == databases, output
    assert all(rows == accepted for rows, accepted in stored)


def test_memory_reports_idle_and_after_ingesting() -> None:
    output = bench(
        "memory", "--agents", "20", "--activities", "200", "--actors", "5", "--drain-limit", "60"
    )
    assert re.search(r"^baseline: bare Starlette under uvicorn, idle: [\d.]+ MiB", output, re.M)
    for moment in ("idle:", "after 2", "after processing:"):
        assert re.search(rf"^\s+{moment}.*[\d.]+ MiB", output, re.M), output
    assert re.search(r"rows in inbox_items: (\d+) of \1 accepted", output), output


def test_inbox_flood_measures_what_a_flood_stores_and_what_a_429_costs() -> None:
    output = bench("inbox_flood", "--activities", "200", "--concurrency", "4")
    # The default limits let the burst through (120) and refuse the rest.
    limited = output.split("limited (defaults)")[1]
    assert "429:" in limited.split("\n")[1], output
    assert "after the worker's pruning pass 31 days on: 0 bytes" in output
    assert re.search(r"refused 429 [\d.]+ ms", output), output


def test_export_ledger_exports_and_imports_every_record() -> None:
    output = bench("export_ledger", "--events", "300", "--import")
    export = r"^export: 503 records, [\d.]+ MB in [\d.]+ s \([\d.]+ s of CPU\), peak RSS \d+ MB"
    assert re.search(export, output, re.M), output
    assert re.search(r"^import: [\d.]+ s", output, re.M), output


def test_processing_batched_has_the_effects_of_one_item_at_a_time() -> None:
    output = bench("processing", "--notes", "60", "--events", "20", "--actors", "8")
    databases = 2 if postgres_expected() else 1
    assert output.count("effects of both runs: the same") == databases, output
    rates = re.findall(r"items/s .*; ([\d.]+) SQL statements an item\)", output)
    assert len(rates) == 2 * databases + 2, output
    assert re.search(r"Create\{Note\} .*\n.*\n.*target ≥ 1000/s: (met|MISSED)", output), output
    assert re.search(r"ledger events .*\n.*\n.*target ≥ 300/s: (met|MISSED)", output), output


def test_sustained_reports_the_highest_rate_kept_up_with() -> None:
    output = bench(
        "sustained",
        *("--duration", "2", "--rates", "10", "--drain", "120"),
        *("--actors", "4", "--agents", "2", "--web", "1", "--workers", "1"),
    )
    assert re.search(r"^baseline: bare Starlette POST /inbox at 10/s: 20 of 20", output, re.M)
    databases = 2 if postgres_expected() else 1
    steps = re.findall(r"^\s+10/s for .* 20 sent, 20 answered 202 .* all visible", output, re.M)
    assert len(steps) == databases, output
    assert output.count("highest rate kept up with:") == databases, output


def test_inbox_path_prints_the_cpu_of_each_route() -> None:
    output = bench("inbox_path", "--activities", "100")
    assert len(figures(output, "ms of CPU an activity")) == 2
    assert output.count("{202: 100}") == 2  # every request of both runs was accepted
    assert "the bare endpoint's CPU" in output


def test_worker_wakeup_prints_both_medians() -> None:
    output = bench("worker_wakeup", "--rounds", "3")
    if not postgres_expected():
        assert "skipped" in output
        return
    assert len(figures(output, "ms  p90")) == 2
    assert "target median < 20 ms" in output
