"""Scenario time -> target vehicle speed (km/h) and steering demand: the city, highway and idle drives."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

PROFILES = ("city", "highway", "idle")


@dataclass
class Segment:
    start: float
    duration: float
    speed: float  # target km/h while the segment lasts
    turn: float = 0.0  # steering wheel angle (deg, + left) held in the segment


class SpeedProfile:
    """A repeatable drive (seeded): :meth:`target` gives the speed the driver aims for at time t.

    city: stops of 6-20 s at lights, then 30-60 km/h for 15-45 s, some turns at junctions.
    highway: 95-125 km/h with slow changes and the odd slowdown to 80 km/h.
    idle: standing still, engine running, lever in P.
    """

    def __init__(self, name: str, seed: int = 7) -> None:
        if name not in PROFILES:
            raise ValueError(f"unknown speed profile {name!r}: use one of {', '.join(PROFILES)}")
        self.name = name
        self._random = random.Random(seed)
        self._segments: list[Segment] = []
        self._end = 0.0

    @property
    def parked(self) -> bool:
        return self.name == "idle"

    def _extend(self, until: float) -> None:
        rnd = self._random
        while self._end <= until:
            if self.name == "city":
                stop = Segment(self._end, rnd.uniform(6, 20), 0.0)
                turn = rnd.choice([0.0, 0.0, 90.0, -90.0])
                pull_away = Segment(stop.start + stop.duration, 6.0, 18.0, turn)
                cruise = Segment(pull_away.start + pull_away.duration, rnd.uniform(15, 45), rnd.choice([30.0, 40.0, 50.0, 60.0]))
                self._segments += [stop, pull_away, cruise]
                self._end = cruise.start + cruise.duration
            elif self.name == "highway":
                # Join from a slip road, then long stretches of steady cruise.
                if not self._segments:
                    self._segments.append(Segment(0.0, 25.0, 80.0))
                    self._end = 25.0
                    continue
                speed = rnd.choice([100.0, 110.0, 110.0, 115.0, 120.0, 80.0])
                segment = Segment(self._end, rnd.uniform(30, 90), speed)
                self._segments.append(segment)
                self._end = segment.start + segment.duration
            else:
                self._segments.append(Segment(self._end, 3600.0, 0.0))
                self._end += 3600.0

    def segment(self, t: float) -> Segment:
        self._extend(t)
        # segments are appended in order; a reverse scan finds recent ones quickly
        for segment in reversed(self._segments):
            if segment.start <= t:
                return segment
        return self._segments[0]

    def target(self, t: float) -> float:
        """Target speed (km/h) at scenario time t."""
        segment = self.segment(t)
        wobble = 0.0
        if self.name == "highway":
            wobble = 2.0 * math.sin(t / 17.0) + 1.0 * math.sin(t / 5.3)
        elif self.name == "city" and segment.speed > 0:
            wobble = 1.5 * math.sin(t / 4.1)
        return max(0.0, segment.speed + wobble) if segment.speed > 0 else 0.0

    def steering(self, t: float, speed_kph: float) -> float:
        """Steering wheel angle (deg) the driver holds at time t."""
        segment = self.segment(t)
        if segment.turn and speed_kph > 3:
            # turn in over the first half of the pull-away, unwind over the second
            phase = (t - segment.start) / segment.duration
            return segment.turn * math.sin(math.pi * min(max(phase, 0.0), 1.0))
        if self.name == "highway":
            return 2.0 * math.sin(t / 9.0)
        return 0.0

    def turning_soon(self, t: float) -> float:
        """The turn (deg, + left) of the next 4 s, for the turn signal; 0 when none."""
        for ahead in (0.0, 2.0, 4.0):
            segment = self.segment(t + ahead)
            if segment.turn:
                return segment.turn
        return 0.0
