"""Calibration of the simulated IMR trial against Jensen 2019 Table 3, averaged over many seeds.

Prints, per outcome, arm and visit: the published complete-case mean (SD) n and the simulated ones
averaged over ``--seeds`` trials (with the spread of the simulated means across trials), and the time
one 198-participant trial takes to generate. Usage: ``python bench/simulation_trial_calibration.py``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from trialdesk.protocol import load_protocol
from trialdesk.simulation.calibration import PUBLISHED
from trialdesk.simulation.trial import simulate_trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--participants", type=int, default=198)
    args = parser.parse_args()
    protocol = load_protocol()
    rows, times = [], []
    for seed in range(args.seeds):
        start = time.perf_counter()
        trial = simulate_trial(protocol, args.participants, seed=seed)
        times.append(time.perf_counter() - start)
        scores = trial.scores
        totals = scores[(scores["score"] == "total") & scores["value"].notna()].merge(
            trial.participants[["trial_id", "arm"]], on="trial_id")
        summary = totals.groupby(["instrument", "visit", "arm"])["value"].agg(["mean", "std", "count"])
        summary["seed"] = seed
        rows.append(summary.reset_index())
    table = pd.concat(rows)
    role = {protocol.intervention.arm: "intervention"}
    lines = []
    for (instrument, visit, arm), group in table.groupby(["instrument", "visit", "arm"]):
        target = PUBLISHED.get((instrument, visit, role.get(arm, "control")))
        if target is None:
            continue
        lines.append({"instrument": instrument, "visit": visit, "arm": arm,
                      "published": f"{target.mean} ({target.sd}) {target.n}",
                      "simulated": f"{group['mean'].mean():.2f} ({group['std'].mean():.2f}) "
                                   f"{group['count'].mean():.1f}",
                      "sd of means": round(group["mean"].std(), 2),
                      "mean error / SE": round((group["mean"].mean() - target.mean)
                                               / (target.sd / target.n**0.5), 2)})
    print(pd.DataFrame(lines).to_string(index=False))
    median = sorted(times)[len(times) // 2]
    print(f"\ngeneration of a {args.participants}-participant trial: median {median:.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}) over {args.seeds} seeds")


if __name__ == "__main__":
    main()
