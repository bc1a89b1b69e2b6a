"""How long sharing an income takes, by the number of approved contributions.

The arithmetic of a distribution (``instance.coop.sharing.share``: exact fractions,
rounding, the difference to the largest part) over an equation with a fixed bucket and
a debt-like, proportional work bucket; half the contributions carry a claim already
partly paid. Prints milliseconds per distribution for each size.

    PYTHONPATH=. python -m bench.coop_sharing [--sizes 100,1000,10000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from instance.coop.equations import read_equation
from instance.coop.sharing import ClaimSoFar, Contribution, claim_key, share

EQUATION = {
    "type": "ValueEquation",
    "name": "bench",
    "buckets": [
        {"name": "fixed", "percentage": "10", "distributionAgent": "https://a.test/agents/f"},
        {
            "name": "work",
            "percentage": "90",
            "rules": [{"action": "work", "rate": "hours * 25 + 1", "claimType": "debt-like"}],
        },
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    equation = read_equation(EQUATION)
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for size in (int(s) for s in args.sizes.split(",")):
        contributions = [
            Contribution(
                event=f"https://b.test/events/{n}",
                contributor=f"https://b.test/agents/m{n % 97}",
                action="work",
                at=start + timedelta(minutes=n),
                hours=Decimal(rng.randint(1, 4000)) / 100,
            )
            for n in range(size)
        ]
        claims = {
            claim_key("bench", "work", c.event): ClaimSoFar(Decimal(1000), Decimal(3), 1)
            for c in contributions[::2]
        }
        runs = max(1, 2000 // size)
        began = time.perf_counter()
        for _ in range(runs):
            result = share(Decimal("98765.43"), 2, equation, contributions, claims, "org")
        elapsed = (time.perf_counter() - began) / runs
        total = sum(p.amount for p in [*result.parts, result.kept])
        assert total == Decimal("98765.43"), total
        print(f"{size:>6} contributions: {elapsed * 1000:8.1f} ms per distribution", flush=True)


if __name__ == "__main__":
    main()
