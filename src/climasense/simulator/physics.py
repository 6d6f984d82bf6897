"""What a virtual device measures: an environment that behaves like a boat at a marina berth.

Pure and seeded (a `random.Random` per device), so tests can check the shapes: temperature
follows the sun (coolest before dawn, warmest mid-afternoon, local solar time from longitude),
relative humidity moves against it, pressure drifts slowly, shore power drops now and then
(the battery drains while it is off and recharges when it is back), signal strength is noisy
around a per-berth level, air quality wanders around a baseline. Every value stays inside the
contract's accepted range.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime

# Contract §4.1 accepted values.
RANGES = {
    "temperature": (-60.0, 125.0),
    "humidity": (0.0, 100.0),
    "pressure": (300.0, 1100.0),
    "power_availability": (0.0, 1.0),
    "battery_level": (0.0, 100.0),
    "signal_strength": (-150.0, 0.0),
    "iaq": (0.0, 500.0),
}


def clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def solar_hour(moment: datetime, longitude: float) -> float:
    """Local solar time in hours [0, 24): UTC shifted by 4 minutes per degree of longitude."""
    utc = moment.hour + moment.minute / 60 + moment.second / 3600
    return (utc + longitude / 15.0) % 24.0


def diurnal(hour: float) -> float:
    """-1 at 03:00 and +1 at 15:00 local solar time (a cosine, period one day)."""
    return -math.cos(2 * math.pi * (hour - 3.0) / 24.0)


@dataclass
class Climate:
    """The weather at one berth (shared shape, per-device numbers)."""

    mean_temperature: float = 16.0
    temperature_swing: float = 5.0  # half the day/night difference, °C
    mean_humidity: float = 70.0
    humidity_per_degree: float = 2.5  # relative humidity falls as air warms
    mean_pressure: float = 1013.0


@dataclass
class PowerModel:
    mean_hours_between_outages: float = 8.0
    mean_outage_minutes: float = 25.0
    drain_percent_per_hour: float = 6.0  # on battery
    charge_percent_per_hour: float = 15.0  # on shore power
    idle_drain_percent_per_hour: float = 0.0  # battery-only devices (Zigbee sensors)
    has_shore_power: bool = True


@dataclass
class Physics:
    rng: random.Random
    longitude: float = 0.0
    climate: Climate = field(default_factory=Climate)
    power: PowerModel = field(default_factory=PowerModel)
    signal_level: float = -75.0
    battery: float = 100.0
    shore_power: bool = True
    outage_left_seconds: float = 0.0
    pressure: float = 1013.0
    iaq: float = 45.0

    def __post_init__(self) -> None:
        self.pressure = self.climate.mean_pressure + self.rng.uniform(-4, 4)
        self.shore_power = self.power.has_shore_power

    def temperature(self, moment: datetime) -> float:
        hour = solar_hour(moment, self.longitude)
        value = (
            self.climate.mean_temperature
            + self.climate.temperature_swing * diurnal(hour)
            + self.rng.gauss(0, 0.25)
        )
        return round(clamp(value, *RANGES["temperature"]), 2)

    def humidity(self, temperature: float) -> float:
        value = (
            self.climate.mean_humidity
            - self.climate.humidity_per_degree * (temperature - self.climate.mean_temperature)
            + self.rng.gauss(0, 1.0)
        )
        return round(clamp(value, 5.0, 100.0), 1)

    def advance(self, seconds: float) -> None:
        """Move the slow state (power, battery, pressure, air quality) on by `seconds`."""
        hours = seconds / 3600.0
        model = self.power
        if model.has_shore_power:
            if self.shore_power:
                # Outages arrive as a Poisson process.
                chance = 1.0 - math.exp(-hours / model.mean_hours_between_outages)
                if self.rng.random() < chance:
                    self.shore_power = False
                    self.outage_left_seconds = self.rng.expovariate(
                        1.0 / (model.mean_outage_minutes * 60)
                    )
            else:
                self.outage_left_seconds -= seconds
                if self.outage_left_seconds <= 0:
                    self.shore_power = True
                    self.outage_left_seconds = 0.0
        if model.has_shore_power and self.shore_power:
            self.battery += model.charge_percent_per_hour * hours
        elif model.has_shore_power:
            self.battery -= model.drain_percent_per_hour * hours
        self.battery -= model.idle_drain_percent_per_hour * hours
        self.battery = clamp(self.battery, 0.0, 100.0)
        # Pressure: a slow random walk pulled back to the mean (weather systems, not noise).
        self.pressure += self.rng.gauss(0, 0.3 * math.sqrt(hours)) + 0.05 * hours * (
            self.climate.mean_pressure - self.pressure
        )
        self.pressure = clamp(self.pressure, 950.0, 1060.0)
        self.iaq += self.rng.gauss(0, 8 * math.sqrt(hours)) + 0.5 * hours * (45.0 - self.iaq)
        self.iaq = clamp(self.iaq, 0.0, 500.0)

    def signal(self) -> float:
        return float(round(clamp(self.signal_level + self.rng.gauss(0, 3.0), -150.0, 0.0)))

    def sample(self, moment: datetime, sensors: list[str]) -> dict[str, float]:
        """One value per enabled sensor type at `moment` (call `advance` between samples)."""
        temperature = self.temperature(moment)
        values = {
            "temperature": temperature,
            "humidity": self.humidity(temperature),
            "pressure": round(self.pressure, 1),
            "power_availability": 1.0 if self.shore_power else 0.0,
            "battery_level": round(self.battery, 1),
            "signal_strength": self.signal(),
            "iaq": round(self.iaq),
        }
        return {name: values[name] for name in sensors if name in values}


def for_device(kind: str, seed: int, longitude: float) -> Physics:
    """A device's physics: its own seed, berth climate and radio level."""
    rng = random.Random(seed)
    climate = Climate(
        mean_temperature=rng.uniform(12, 20),
        temperature_swing=rng.uniform(3, 7),
        mean_humidity=rng.uniform(60, 80),
    )
    if kind == "zigbee_sensor":
        # Battery powered, inside a cabin: a damped version of the weather outside.
        climate.temperature_swing *= 0.5
        power = PowerModel(has_shore_power=False, idle_drain_percent_per_hour=0.05)
        physics = Physics(rng, longitude, climate, power, signal_level=rng.uniform(-85, -60))
        physics.battery = rng.uniform(70, 100)
        return physics
    return Physics(rng, longitude, climate, PowerModel(), signal_level=rng.uniform(-100, -60))
