"""Grouped bar charts (PNG) of benchmark figures, for the plots RESULTS.md links.

matplotlib is optional: without it write_bar_chart() returns False and the caller says so in its
fragment (scripts/setup-debian.sh installs python3-matplotlib).
"""


def write_bar_chart(path, title, ylabel, categories, series):
    """Writes a bar chart to `path`: one group per category, one bar per series.

    series: list of (label, [value per category]); None values are left out. Returns whether a
    file was written.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")  # no display on the benchmark machines
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    width = 0.8 / max(1, len(series))
    largest = max((v for _, values in series for v in values if v is not None), default=0)
    label_format = "%.2f" if largest < 10 else "%.1f" if largest < 100 else "%.0f"
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(categories) * max(1, len(series)) / 2),
                                    4.0))
    for k, (label, values) in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * width
        xs = [i + offset for i, v in enumerate(values) if v is not None]
        ys = [v for v in values if v is not None]
        bars = ax.bar(xs, ys, width, label=label)
        ax.bar_label(bars, fmt=label_format, fontsize=7)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(categories, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
