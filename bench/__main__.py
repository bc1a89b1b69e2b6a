"""Run every benchmark, or the ones named: ``python -m bench [--list] [NAME ...]``.

Each is also runnable alone (``python -m bench.NAME``, with its own options); run this
way, each runs with its defaults.
"""

import sys
from importlib import import_module

BENCHMARKS = (
    "vocab_normalize",
    "jsonld_work",
    "inbox_ingest",
    "inbox_flood",
    "fanout",
    "exchange_latency",
    "memory",
    "ledger_reads",
    "agent_app",
    "coop_sharing",
    "export_ledger",
    "processing",
    "sustained",
    "inbox_path",
    "worker_wakeup",
)

if __name__ == "__main__":
    names = sys.argv[1:] or list(BENCHMARKS)
    if names == ["--list"]:
        print("\n".join(BENCHMARKS))
        raise SystemExit(0)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; known: {', '.join(BENCHMARKS)}")
    for name in names:
        print(f"== bench.{name}", flush=True)
        sys.argv = [f"bench.{name}"]  # each parses its own options: run with defaults
        import_module(f"bench.{name}").main()
