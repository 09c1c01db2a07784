"""The report's figures, drawn with matplotlib (Agg) as SVG text to embed inline.

Rendering is deterministic: ``svg.hashsalt`` fixes the ids matplotlib would otherwise randomise,
``metadata={"Date": None}`` drops the time stamp, and text stays text (``svg.fonttype = "none"``) so
the file is small, searchable and read by screen readers. Each figure's ids are prefixed with its
name, so several figures inline in one page never share an id.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from scipy import stats as sps

from trialdesk.reporting.arms import ArmView
from trialdesk.reporting.results_schema import Estimate
from trialdesk.reporting.trialinfo import TrialInfo

ARM_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")  # Okabe–Ito: distinguishable in colour blindness
SITE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
RC: dict[Any, Any] = {
    "svg.hashsalt": "trialdesk-report",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
}


def to_svg(fig: Figure, name: str, title: str, description: str) -> str:
    """The figure as inline SVG with a <title> and <desc>, deterministic, ids prefixed by ``name``."""
    buffer = io.StringIO()
    with plt.rc_context(RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE: the SVG goes inline in HTML
    svg = re.sub(r'\bid="', f'id="{name}-', svg)
    svg = re.sub(r"url\(#", f"url(#{name}-", svg)
    svg = re.sub(r'(?<![\w:-])(xlink:)?href="#', lambda m: f"{m.group(0)}{name}-", svg)
    head_end = svg.index(">") + 1
    head = svg[:head_end].replace(
        "<svg ", f'<svg role="img" aria-labelledby="{name}-title {name}-desc" class="figure" ', 1
    )
    body = svg[head_end:]
    # matplotlib's own <metadata> block (RDF, creator string) adds nothing for readers: drop it.
    body = re.sub(r"<metadata>.*?</metadata>\s*", "", body, flags=re.S)
    return (
        f'{head}\n<title id="{name}-title">{escape(title)}</title>\n'
        f'<desc id="{name}-desc">{escape(description)}</desc>{body}'
    ).strip()


def recruitment(participants: pd.DataFrame, trial: TrialInfo) -> str:
    """Cumulative randomised participants per site and in total, against the targets."""
    randomised = participants[participants["arm"].notna() & (participants["arm"].astype(str) != "")].copy()
    randomised["on"] = pd.to_datetime(randomised["randomised_on"], errors="coerce")
    randomised = randomised.dropna(subset=["on"]).sort_values(["on", "trial_id"], kind="mergesort")
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        sites = sorted(randomised["site"].astype(str).unique())
        for i, site in enumerate(sites):
            dates = randomised.loc[randomised["site"].astype(str) == site, "on"]
            colour = SITE_COLOURS[i % len(SITE_COLOURS)]
            ax.step(
                dates, np.arange(1, len(dates) + 1), where="post", color=colour, label=trial.site_name(site)
            )
            target = next((s.target for s in trial.sites if s.code == site), None)
            if target:
                ax.axhline(target, color=colour, linestyle=":", linewidth=1)
        ax.step(
            randomised["on"],
            np.arange(1, len(randomised) + 1),
            where="post",
            color="#333333",
            linewidth=1.6,
            label="All sites",
        )
        if trial.target_participants:
            ax.axhline(
                trial.target_participants,
                color="#333333",
                linestyle="--",
                linewidth=1,
                label=f"Target ({trial.target_participants})",
            )
        ax.set_ylabel("Participants randomised (cumulative)")
        ax.set_xlabel("Date of randomisation")
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    described = "; ".join(
        f"{trial.site_name(s)}: {int((randomised['site'].astype(str) == s).sum())}" for s in sites
    )
    description = (
        f"Cumulative number randomised over time, {len(randomised)} in all ({described}); "
        f"target {trial.target_participants or 'not set'}. Dotted lines: site targets."
    )
    return to_svg(fig, "fig-recruitment", "Recruitment over time by site against target", description)


def forest(estimates: Sequence[tuple[str, Estimate]], view: ArmView) -> str:
    """Every outcome's effect with its 95 % CI; differences and ratios in separate panels."""
    panels = [
        ("difference", [(lab, e) for lab, e in estimates if e.get("scale", "difference") == "difference"]),
        ("ratio", [(lab, e) for lab, e in estimates if e.get("scale") == "ratio"]),
    ]
    panels = [(scale, rows) for scale, rows in panels if rows]
    a, b = (view.short_name(c) for c in view.codes[:2])
    heights = [max(len(rows), 1) for _, rows in panels]
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            len(panels),
            1,
            figsize=(7.5, 0.9 + 0.32 * sum(heights) + 0.5 * len(panels)),
            gridspec_kw={"height_ratios": heights},
            squeeze=False,
        )
        for ax, (scale, rows) in zip(axes[:, 0], panels, strict=True):
            y = np.arange(len(rows))[::-1]
            for yi, (_, e) in zip(y, rows, strict=True):
                low, high = e.get("ci_low"), e.get("ci_high")
                if low is not None and high is not None:
                    ax.plot([low, high], [yi, yi], color="#333333", linewidth=1.2)
                ax.plot([e["estimate"]], [yi], marker="s", color=ARM_COLOURS[0], markersize=5)
            ax.axvline(1.0 if scale == "ratio" else 0.0, color="#999999", linestyle="--", linewidth=0.8)
            if scale == "ratio":
                ax.set_xscale("log")
                low, high = ax.get_xlim()
                ticks = [
                    t
                    for t in (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 10)
                    if low <= t <= high
                ]
                ax.xaxis.set_major_locator(FixedLocator(ticks))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                ax.xaxis.set_minor_locator(NullLocator())
            ax.set_yticks(y, [label for label, _ in rows])
            ax.set_xlabel(
                f"Rate ratio, {a} / {b} (log scale)"
                if scale == "ratio"
                else f"Difference in means, {a} − {b} (outcome units)"
            )
            ax.tick_params(axis="y", length=0)
        fig.tight_layout()
    description = "; ".join(
        f"{label}: {e['estimate']:.2f} "
        f"({e.get('ci_low', float('nan')):.2f} to {e.get('ci_high', float('nan')):.2f})"
        for label, e in estimates
    )
    return to_svg(fig, "fig-forest", "Forest plot of all outcomes (estimate with 95 % CI)", description)


def _mean_ci(x: pd.Series) -> tuple[float, float, float, int]:
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan, n
    half = float(sps.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def trajectories(
    scores: pd.DataFrame,
    participants: pd.DataFrame,
    trial: TrialInfo,
    view: ArmView,
    panels: Sequence[tuple[str, str, str]],
) -> str:
    """Observed mean with 95 % CI (t interval) per arm and visit; ``panels``: (instrument, score, label)."""
    merged = scores.merge(participants[["trial_id", "arm"]].astype({"arm": str}), on="trial_id")
    cols = 3 if len(panels) > 4 else max(len(panels), 1)
    rows = math.ceil(len(panels) / cols)
    lines = []
    with plt.rc_context(RC):
        fig, axes = plt.subplots(rows, cols, figsize=(7.5, 2.3 * rows + 0.4), squeeze=False)
        for k, (instrument, score, label) in enumerate(panels):
            ax = axes[k // cols, k % cols]
            of = merged[(merged["instrument"] == instrument) & (merged["score"] == score)]
            visits = sorted(of["visit"].unique(), key=lambda v: (trial.visit_month(v), v))
            for i, arm in enumerate(view.codes):
                stats = [
                    _mean_ci(
                        pd.to_numeric(
                            of.loc[(of["visit"] == v) & (of["arm"] == arm), "value"], errors="coerce"
                        ).dropna()
                    )
                    for v in visits
                ]
                months = np.array([trial.visit_month(v) for v in visits]) + (i - 0.5) * 0.35
                means = np.array([s[0] for s in stats])
                err = np.array([[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]])
                ax.errorbar(
                    months,
                    means,
                    yerr=err,
                    color=ARM_COLOURS[i % 4],
                    marker="o",
                    markersize=3.5,
                    capsize=2,
                    linewidth=1.2,
                    label=view.name(arm),
                )
                lines.append(
                    f"{label}, {view.name(arm)}: "
                    + ", ".join(
                        f"{trial.visit_label(v)} {s[0]:.1f} (n {s[3]})"
                        for v, s in zip(visits, stats, strict=True)
                    )
                )
            ax.set_title(label, fontsize=9)
            ax.set_xticks(
                [trial.visit_month(v) for v in visits], [f"{trial.visit_month(v):g}" for v in visits]
            )
            ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
        for k in range(len(panels), rows * cols):
            axes[k // cols, k % cols].set_visible(False)
        fig.supxlabel("Months since baseline", fontsize=9)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="upper center",
            ncol=len(view.codes),
            frameon=False,
            fontsize=8,
            bbox_to_anchor=(0.5, 1.02),
        )
        fig.tight_layout(rect=(0, 0, 1, 0.96))
    return to_svg(
        fig, "fig-trajectories", "Outcome trajectories by arm (observed means with 95 % CI)", "; ".join(lines)
    )


def attendance(dose: pd.DataFrame, modules: int | None) -> str:
    """Histogram of sessions attended and bar chart of modules covered."""
    attended = pd.to_numeric(dose["sessions_attended"], errors="coerce").dropna().astype(int)
    covered = pd.to_numeric(dose["modules_covered"], errors="coerce").dropna().astype(int)
    with plt.rc_context(RC):
        fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 2.8))
        top = int(max(attended.max() if attended.size else 0, pd.to_numeric(dose["sessions_offered"]).max()))
        left.hist(attended, bins=np.arange(0, top + 5, 4) - 0.5, color=ARM_COLOURS[0], edgecolor="white")
        left.set_xlabel("Sessions attended")
        left.set_ylabel("Participants")
        last = modules if modules else int(covered.max() if covered.size else 0)
        counts = covered.value_counts().reindex(range(last + 1), fill_value=0)
        right.bar(counts.index, counts.to_numpy(), color=ARM_COLOURS[2])
        right.set_xlabel("Curriculum modules covered")
        right.set_xticks(list(counts.index))
        fig.tight_layout()
    description = (
        f"{len(attended)} participants; sessions attended median {attended.median():.0f}; "
        "modules covered: " + ", ".join(f"{k}: {v}" for k, v in counts.items())
    )
    return to_svg(fig, "fig-attendance", "Attendance and curriculum modules covered", description)


def fidelity_over_time(fidelity: pd.DataFrame, trial: TrialInfo) -> str:
    """Fidelity scores by date rated, per site, with the high / moderate thresholds."""
    first = fidelity[fidelity["double_of"].isna() | (fidelity["double_of"].astype(str) == "")].copy()
    first["on"] = pd.to_datetime(first["rated_on"], errors="coerce")
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(7.5, 2.8))
        ax.axhspan(trial.fidelity_high, 5, color="#e3f1e3", zorder=0)
        ax.axhspan(trial.fidelity_moderate, trial.fidelity_high, color="#f6f1dc", zorder=0)
        for i, site in enumerate(sorted(first["site"].astype(str).unique())):
            rows = first[first["site"].astype(str) == site].sort_values(["on", "rating_id"], kind="mergesort")
            ax.plot(
                rows["on"],
                rows["score"],
                linestyle="none",
                marker="o",
                markersize=4,
                color=SITE_COLOURS[i % len(SITE_COLOURS)],
                label=trial.site_name(site),
            )
        ax.set_ylim(1, 5)
        ax.set_ylabel("Fidelity score (mean of items)")
        ax.set_xlabel("Date rated")
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
    description = (
        f"{len(first)} ratings; mean {first['score'].mean():.2f}; shaded bands: high fidelity "
        f"(from {trial.fidelity_high:g}) and moderate (from {trial.fidelity_moderate:g})."
    )
    return to_svg(fig, "fig-fidelity", "Fidelity scores over time", description)
