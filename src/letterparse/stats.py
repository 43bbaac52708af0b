"""Small statistics shared by the comparison tables (no heavy imports)."""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval for ``k`` successes in ``n`` trials (95% by default);
    ``(None, None)`` when ``n`` is 0.  Unlike the normal approximation it stays inside
    [0, 1] and is honest for the small groups that inspection counts often are."""
    if n <= 0:
        return None, None
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is not between 0 and n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # 0/n and n/n end exactly at 0 and 1 (the formula leaves rounding noise there)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high
