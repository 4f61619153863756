"""Waiting for something another process holds: asleep between looks, one line every 30 s saying what it
waits for, and a deadline after which it gives up with a message instead of waiting forever."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

ANNOUNCE_EVERY_SECONDS = 30
LOOK_EVERY_SECONDS = 2.0


class WaitTimedOut(Exception):
    """Gave up waiting; the message is the one line the user needs."""


@dataclass(frozen=True)
class Busy:
    """Who holds what is waited for ("the run of 03:00 (1a2b3c4d)") and what it is doing now ("in
    retentio_dbt_models"); a new holder is announced at once, a holder's progress every 30 s."""

    holder: str
    doing: str = ""

    def __str__(self) -> str:
        return f"{self.holder}, {self.doing}," if self.doing else self.holder


class Wait:
    """One run's patience, shared by everything it waits for in turn (a run lock, then a database file):
    `max_seconds` in all, counted from the first time something was busy."""

    def __init__(self, what: str, max_seconds: float, setting: str,
                 announce_every: float = ANNOUNCE_EVERY_SECONDS, look_every: float = LOOK_EVERY_SECONDS):
        self.what, self.max_seconds, self.setting = what, max_seconds, setting
        self.announce_every, self.look_every = announce_every, look_every
        self.began: float | None = None
        self.waiting = False  # stays True if the wait ends in an exception: the run was stopped while waiting
        self._announced: tuple[str, float] | None = None  # (holder, when)

    @property
    def waited(self) -> float:
        return 0.0 if self.began is None else time.monotonic() - self.began

    def until_free(self, busy: Callable[[], Busy | None]) -> None:
        """Return as soon as `busy()` returns None; sleep between looks."""
        self.waiting = True
        while (now_busy := busy()) is not None:
            if self.began is None:
                self.began = time.monotonic()
            if self.waited >= self.max_seconds:
                raise WaitTimedOut(f"gave up after {self.waited:.0f} s waiting for {now_busy} to release "
                                   f"{self.what} ({self.setting}={self.max_seconds:g})")
            self._announce(now_busy)
            time.sleep(max(0.0, min(self.look_every, self.max_seconds - self.waited)))
        self.waiting = False

    def _announce(self, busy: Busy) -> None:
        now = time.monotonic()
        if self._announced is not None:
            holder, when = self._announced
            if holder == busy.holder and now - when < self.announce_every:
                return
        print(f"Waiting for {busy} to release {self.what} ({self.waited:.0f} s so far; giving up after "
              f"{self.max_seconds:g} s, {self.setting})", flush=True)
        self._announced = (busy.holder, now)
