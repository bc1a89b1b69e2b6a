"""Run every benchmark, one after the other: ``python -m bench`` (``--list`` names them).

Each is also runnable alone (``python -m bench.NAME``, with its own options).
"""

import sys

from bench import exchange_latency, inbox_ingest, ledger_reads, memory, vocab_normalize

BENCHMARKS = {
    "vocab_normalize": vocab_normalize.main,
    "ledger_reads": ledger_reads.main,
    "exchange_latency": exchange_latency.main,
    "inbox_ingest": inbox_ingest.main,
    "memory": memory.main,
}

if __name__ == "__main__":
    if "--list" in sys.argv[1:]:
        print("\n".join(BENCHMARKS))
        sys.exit(0)
    for name, run in BENCHMARKS.items():
        print(f"\n=== {name} ===", flush=True)
        sys.argv = [f"bench.{name}"]  # each parses its own options: the defaults
        run()
