"""The latent fair prices the simulated books follow, and how their volatility and
activity cluster.

Each base asset has one ``FairPrice`` driver, shared by its instruments (BTCUSDT,
BTCUSD_PERP and the BTCUSD quarterlies move together; the quarterlies' basis stays put).
Its price is a geometric random walk whose volatility is ``sigma * vol`` at each moment:
``sigma`` the instrument's daily volatility per square-root millisecond, ``vol`` a
stochastic multiplier.

Volatility clusters because ``vol = exp(x - s**2)`` where the log-volatility ``x`` is a
mean-reverting (Ornstein-Uhlenbeck) process: the sum of a market-wide component (every
asset's calm spells and storms overlap, as crypto's do) and the asset's own, with
stationary standard deviation ``s``. ``E[vol**2] = 1``, so the daily variance stays that of
the catalogue. Activity clusters with it: the asset's share of the order flow is weighted
by ``activity = exp(x - s**2 / 2)`` (mean 1), so a storm is also a burst of orders and a
calm spell a quiet tape, as volume and volatility go together in real markets.

The regimes move on a fixed grid of simulated time (``GRID_MS``), all drivers at once, so
the cost is a few microseconds per grid step whatever the action rate; between steps
they hold. Time is an argument and every draw comes from the caller's ``random.Random``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from tickerplant.market.units import DAY_MS

__all__ = ["GRID_MS", "FairPrice", "Regimes"]

GRID_MS = 250  # regimes step this often in simulated time
_MARKET_TAU_MS = 600_000  # the market-wide mood mean-reverts over minutes...
_OWN_TAU_MS = 90_000  # ...each asset's own over a minute or two
_MARKET_SD = 0.4  # stationary standard deviations of the two log-volatility components
_OWN_SD = 0.5
_LOG_VOL_VAR = _MARKET_SD**2 + _OWN_SD**2


class FairPrice:
    """The latent driver shared by every instrument of one base asset, as a factor of
    each instrument's initial price."""

    __slots__ = ("activity", "factor", "last_ms", "own", "pressure", "sigma", "vol_sigma")

    def __init__(self, daily_volatility: float, start_ms: int) -> None:
        self.factor = 1.0
        self.last_ms = start_ms
        self.sigma = daily_volatility / math.sqrt(DAY_MS)  # stdev of the log price per sqrt(ms)
        self.own = 0.0  # the asset's own log-volatility component
        self.vol_sigma = self.sigma  # sigma times the current volatility multiplier
        self.activity = 1.0  # the current multiplier of the asset's share of the order flow
        self.pressure = 0.0  # outside takers' transient impact, in log price (impact.py)


class Regimes:
    """Moves every driver's log-volatility on the grid; see the module docstring."""

    __slots__ = ("_drivers", "_market", "_rng", "next_ms")

    def __init__(self, drivers: Sequence[FairPrice], rng: random.Random, start_ms: int) -> None:
        self._drivers = list(drivers)
        self._rng = rng
        # Start from the stationary distribution: a seed may open in a calm or a storm.
        self._market = rng.gauss() * _MARKET_SD
        for driver in self._drivers:
            driver.own = rng.gauss() * _OWN_SD
            self._set_multipliers(driver)
        self.next_ms = start_ms + GRID_MS

    def step(self, now_ms: int) -> None:
        """Move the regimes through every grid step up to ``now_ms`` (at most one step's
        worth of randomness for a long pause: an OU process forgets anyway)."""
        if now_ms < self.next_ms:
            return
        steps = (now_ms - self.next_ms) // GRID_MS + 1
        elapsed_ms = steps * GRID_MS
        self.next_ms += elapsed_ms
        gauss = self._rng.gauss
        keep = math.exp(-elapsed_ms / _MARKET_TAU_MS)
        self._market = self._market * keep + _MARKET_SD * math.sqrt(1.0 - keep * keep) * gauss()
        keep = math.exp(-elapsed_ms / _OWN_TAU_MS)
        noise = _OWN_SD * math.sqrt(1.0 - keep * keep)
        for driver in self._drivers:
            driver.own = driver.own * keep + noise * gauss()
            self._set_multipliers(driver)

    def _set_multipliers(self, driver: FairPrice) -> None:
        log_vol = self._market + driver.own
        driver.vol_sigma = driver.sigma * math.exp(log_vol - _LOG_VOL_VAR)
        driver.activity = math.exp(log_vol - _LOG_VOL_VAR / 2)
