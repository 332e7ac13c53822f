"""The markdown table and the PNG plots of one benchmark run."""

from pathlib import Path
from typing import Any


def cdf_points(latencies_s: list[float], points: int = 200) -> list[list[float]]:
    """[[latency_ms, fraction]] at `points` evenly spaced quantiles: enough to redraw the CDF."""
    if not latencies_s:
        return []
    ordered = sorted(latencies_s)
    n = len(ordered)
    step = max(1, n // points)
    out = [[round(ordered[i] * 1000, 3), round((i + 1) / n, 4)] for i in range(0, n, step)]
    out.append([round(ordered[-1] * 1000, 3), 1.0])
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}" if v >= 100 else f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of the result rows (one per scenario or step)."""
    cols = [
        ("scenario", "scenario"),
        ("offered", "offered"),
        ("throughput", "throughput"),
        ("p50_ms", "p50 ms"),
        ("p95_ms", "p95 ms"),
        ("p99_ms", "p99 ms"),
        ("lost", "lost"),
        ("cpu", "server CPU"),
        ("limit", "limit"),
        ("ratio", "ratio"),
        ("target", "target"),
    ]
    lines = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(k)) for k, _ in cols) + " |")
    return "\n".join(lines)


def plots(result: dict[str, Any], stem: Path) -> list[str]:
    """latency-vs-rate and CDF PNGs beside the JSON; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    caption = (
        f"{result['machine']['cores']} cores, {result['machine']['memory_gib']} GiB; {result['command']}"
    )
    steps = result["scenarios"].get("2_open_loop", {}).get("steps", [])
    if steps:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=80)
        rates = [s["offered_sends_per_s"] for s in steps]
        for key, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
            ax.plot(rates, [s[key] for s in steps], marker="o", label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("offered sends/s (10 chats x 10 members, 20 senders)")
        ax.set_ylabel("send -> receive latency, ms")
        ax.set_title("Fan-out, open loop", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.text(0.01, 0.01, caption, fontsize=6)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        path = stem.with_name(stem.name + "-latency-vs-rate.png")
        fig.savefig(path)
        plt.close(fig)
        written.append(path.name)
    curves = result.get("cdf", {})
    if curves:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=80)
        for name, pts in curves.items():
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name)
        ax.set_xscale("log")
        ax.set_xlabel("send -> receive latency, ms")
        ax.set_ylabel("fraction of deliveries")
        ax.set_title("Latency CDF", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.text(0.01, 0.01, caption, fontsize=6)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        path = stem.with_name(stem.name + "-cdf.png")
        fig.savefig(path)
        plt.close(fig)
        written.append(path.name)
    return written
