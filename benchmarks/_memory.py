"""Resident-memory readings for the benchmark workers (Linux /proc), shared by the scripts."""

from __future__ import annotations


def rss_mib(field: str) -> float:
    """A memory field of this process from /proc/self/status (``VmRSS``, ``VmHWM``) in MiB; NaN if absent."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> bool:
    """Reset this process's peak resident set (VmHWM); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False
