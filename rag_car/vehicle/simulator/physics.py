"""Time step + driver's target speed -> the vehicle's physical quantities (speed, gear, engine speed, temperatures, fuel, 12 V).

A small, smooth model of the gasoline Corrin 2.0 (2.0 L four, 6-speed automatic, 215/60 R17 tires):
engine speed follows road speed through the gear and the torque converter; coolant warms from the
ambient temperature and is held near the thermostat; wheel speeds agree with the road speed (an
under-inflated tire rolls on a smaller radius, so its wheel turns a little faster); fuel falls with
the mass air flow. Quantities are plain floats keyed by name (see ``QUANTITIES``); the simulator's
vehicle.toml binds them to DBC signals.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from rag_car.vehicle.simulator.profiles import SpeedProfile

GEAR_RATIOS = (4.148, 2.370, 1.556, 1.155, 0.859, 0.686)
FINAL_DRIVE = 3.30
TIRE_CIRCUMFERENCE_M = 2.15
UPSHIFT_KPH = (15.0, 25.0, 40.0, 55.0, 68.0)  # light throttle; a firmer foot shifts later
DOWNSHIFT_GAP_KPH = 6.0
TANK_L = 50.0
MASS_KG = 1480.0
PLACARD_KPA = (240.0, 240.0, 230.0, 230.0)  # FL FR RL RR, cold
WHEELBASE_M = 2.64
TRACK_M = 1.57
STEERING_RATIO = 15.5
IDLE_RPM = 700.0
THERMOSTAT_C = 90.0
AMBIENT_C = 18.0
WHEELS = ("fl", "fr", "rl", "rr")


def _approach(value: float, target: float, rate: float, dt: float) -> float:
    """First-order lag: move ``value`` toward ``target`` with time constant 1/rate."""
    return target + (value - target) * math.exp(-rate * dt)


@dataclass
class VehicleState:
    t: float = 0.0
    speed_kph: float = 0.0
    accel: float = 0.0  # m/s2
    gear: int = 1
    shift_timer: float = 0.0
    rpm: float = IDLE_RPM
    throttle: float = 3.0
    coolant_c: float = THERMOSTAT_C
    oil_c: float = 95.0
    trans_c: float = 80.0
    cat_c: float = 480.0
    ambient_c: float = AMBIENT_C
    cabin_c: float = 21.0
    fuel_l: float = 32.0
    odometer_km: float = 48211.3
    trip_km: float = 0.0
    distance_since_clear_km: float = 1350.0
    distance_mil_km: float = 0.0
    battery_soc: float = 86.0
    tire_kpa: list[float] = field(default_factory=lambda: list(PLACARD_KPA))
    tire_c: list[float] = field(default_factory=lambda: [AMBIENT_C] * 4)
    steering_deg: float = 0.0
    run_time_s: float = 0.0
    oxygen_store: float = 0.5  # share of the catalyst's oxygen storage in use (0.5 in closed loop)


# Quantities a scenario may set in its [start] table (initial state) and what they mean.
START_KEYS = {
    "coolant_temp": ("coolant_c", "engine coolant temperature at start, degC (ambient for a cold start)"),
    "oil_temp": ("oil_c", "engine oil temperature at start, degC"),
    "trans_temp": ("trans_c", "transmission fluid temperature at start, degC"),
    "catalyst_temp": ("cat_c", "catalyst temperature at start, degC"),
    "ambient_temp": ("ambient_c", "outside air temperature, degC"),
    "fuel_level": ("fuel_l", "fuel level at start, % of the 50 L tank"),
    "odometer": ("odometer_km", "odometer at start, km"),
    "battery_soc": ("battery_soc", "12 V battery state of charge at start, %"),
    "distance_since_clear": ("distance_since_clear_km", "km since DTCs were last cleared"),
    "distance_mil_on": ("distance_mil_km", "km driven with the MIL on so far"),
}


class VehicleModel:
    """The vehicle's physics: :meth:`step` advances it by dt seconds of scenario time and returns the quantities."""

    def __init__(self, profile: SpeedProfile, start: dict[str, float] | None = None, seed: int = 11,
                 alternator_ok: bool = True) -> None:
        self.profile = profile
        self.state = VehicleState()
        self._random = random.Random(seed)
        self._o2_random = random.Random(seed + 1)  # its own stream: the other quantities keep their noise
        self.alternator_ok = alternator_ok
        self.mil_on = False
        for key, value in (start or {}).items():
            attr = START_KEYS[key][0]
            if key == "fuel_level":
                value = TANK_L * float(value) / 100.0
            setattr(self.state, attr, float(value))
        s = self.state
        if "oil_temp" not in (start or {}):
            s.oil_c = s.coolant_c + (5.0 if s.coolant_c > 80 else 0.0)
        if "trans_temp" not in (start or {}):
            s.trans_c = min(s.coolant_c, 80.0)
        if "catalyst_temp" not in (start or {}) and s.coolant_c < 60:
            s.cat_c = s.ambient_c
        if s.coolant_c < 60:
            s.tire_c = [s.ambient_c] * 4
            s.cabin_c = s.ambient_c
        # cold tires read their placard pressure scaled by absolute temperature
        s.tire_kpa = [p * (273.15 + s.tire_c[i]) / (273.15 + AMBIENT_C) for i, p in enumerate(PLACARD_KPA)]

    # --- one step ------------------------------------------------------------------------------------
    def step(self, dt: float) -> dict[str, float]:
        s = self.state
        rnd = self._random
        dt = max(0.0, min(dt, 1.0))
        s.t += dt
        s.run_time_s += dt
        target = self.profile.target(s.t)

        # Road speed: the driver closes on the target with limited acceleration and braking.
        v = s.speed_kph / 3.6
        error = target / 3.6 - v
        wanted = max(-3.0, min(2.2, 0.6 * error))
        if error > 0 and v < 1:
            wanted = max(wanted, 1.2)  # pulling away
        if target == 0 and v > 0:
            wanted = -min(2.5, max(0.8, 0.4 * v))  # brake to a stop without creeping
        s.accel = _approach(s.accel, wanted, 3.0, dt)
        v = max(0.0, v + s.accel * dt)
        if target == 0 and v < 0.05:
            v, s.accel = 0.0, 0.0
        s.speed_kph = v * 3.6
        distance_km = v * dt / 1000.0
        s.odometer_km += distance_km
        s.trip_km += distance_km
        s.distance_since_clear_km += distance_km

        # Power the engine must deliver: rolling resistance, drag, acceleration (+ accessories).
        power_kw = (MASS_KG * 9.81 * 0.011 * v + 0.5 * 1.2 * 0.33 * 2.4 * v ** 3 + MASS_KG * s.accel * v) / 1000.0 + 0.8
        driving = power_kw > 1.0 and v > 0.5

        # Gear: shift by road speed, later with a firmer foot; a shift takes 0.4 s.
        parked = self.profile.parked
        firm = max(0.0, min(1.0, (s.throttle - 20.0) / 40.0))
        if not parked:
            up = [u * (1.0 + 0.6 * firm) for u in UPSHIFT_KPH]
            if s.gear < 6 and s.speed_kph > up[s.gear - 1]:
                s.gear += 1
                s.shift_timer = 0.4
            elif s.gear > 1 and s.speed_kph < up[s.gear - 2] - DOWNSHIFT_GAP_KPH:
                s.gear -= 1
                s.shift_timer = 0.4
        s.shift_timer = max(0.0, s.shift_timer - dt)

        # Engine speed: wheel speed through gear and final drive; the converter slips at low speed.
        idle = IDLE_RPM + max(0.0, 70.0 - s.coolant_c) * 6.0  # fast idle while cold
        idle = min(idle, 1150.0)
        wheel_rpm = v / TIRE_CIRCUMFERENCE_M * 60.0
        geared = wheel_rpm * GEAR_RATIOS[s.gear - 1] * FINAL_DRIVE
        locked = s.gear >= 4 and s.speed_kph > 50 and s.throttle < 60
        if parked or v < 0.3:
            rpm_target = idle
        elif locked:
            rpm_target = geared
        else:
            rpm_target = max(geared * 1.05 + 12.0 * s.throttle, idle + 25.0 * s.throttle if driving else idle)
        s.rpm = _approach(s.rpm, rpm_target, 4.0, dt) + rnd.uniform(-4.0, 4.0)

        # Throttle and load follow the power demand; closed (fuel cut) when coasting down.
        throttle_target = 3.0 + power_kw * 1.05 if power_kw > 0 else 0.0
        if not driving and v < 0.5:
            throttle_target = 3.0
        s.throttle = _approach(s.throttle, max(0.0, min(100.0, throttle_target)), 5.0, dt)
        load = max(14.0, min(100.0, 18.0 + s.throttle * 0.78)) if s.throttle > 0.5 else 8.0
        coasting = s.throttle < 0.5 and v > 3 and s.rpm > 1200
        maf = 2.0 * s.rpm / 120.0 * 1.2 * load / 100.0 * 1.9
        fuel_rate_lh = 0.0 if coasting else maf / 14.7 / 745.0 * 3600.0
        s.fuel_l = max(0.0, s.fuel_l - fuel_rate_lh * dt / 3600.0)

        # Temperatures: coolant warms from the heat of combustion, the thermostat holds it near 90 degC.
        heat = 0.12 + fuel_rate_lh * 0.045
        s.coolant_c += (heat - 0.0006 * (s.coolant_c - s.ambient_c)) * dt
        if s.coolant_c > THERMOSTAT_C - 2:
            regulated = THERMOSTAT_C + 4.0 * load / 100.0 - (2.0 if v > 15 else 0.0)
            s.coolant_c = _approach(s.coolant_c, regulated, 0.08, dt)
        s.oil_c = _approach(s.oil_c, s.coolant_c + 6.0 + 8.0 * load / 100.0, 1 / 240.0, dt)
        s.trans_c = _approach(s.trans_c, min(s.coolant_c, 82.0) + (4.0 if v > 20 else 0.0), 1 / 400.0, dt)
        cat_target = (s.ambient_c + 150.0) if s.coolant_c < 35 else 380.0 + 3.2 * load + 0.4 * s.speed_kph
        s.cat_c = _approach(s.cat_c, cat_target, 1 / 45.0, dt)
        s.cabin_c = _approach(s.cabin_c, 21.0, 1 / 300.0, dt)
        o2_downstream = self._downstream_o2(coasting, dt)

        # Tires warm with speed; pressure follows absolute temperature.
        for i in range(4):
            tire_target = s.ambient_c + min(25.0, s.speed_kph * 0.22)
            s.tire_c[i] = _approach(s.tire_c[i], tire_target, 1 / 600.0, dt)
            s.tire_kpa[i] = PLACARD_KPA[i] * (273.15 + s.tire_c[i]) / (273.15 + AMBIENT_C)

        # 12 V: the alternator holds 14.2 V while it works; without it the battery carries the load.
        if self.alternator_ok:
            s.battery_soc = min(90.0, s.battery_soc + 0.002 * dt)
        else:
            s.battery_soc = max(5.0, s.battery_soc - 25.0 / 70.0 / 3600.0 * 100.0 * dt)  # 25 A out of a 70 Ah battery

        # Steering: the driver's wheel angle; yaw and lateral acceleration from the turn radius.
        steer = self.profile.steering(s.t, s.speed_kph)
        steer_rate = (steer - s.steering_deg) / dt if dt > 0 else 0.0
        s.steering_deg = steer
        road_angle = math.radians(steer / STEERING_RATIO)
        radius = WHEELBASE_M / math.tan(road_angle) if abs(road_angle) > 1e-4 else math.inf
        yaw = math.degrees(v / radius) if math.isfinite(radius) else 0.0
        lateral = v * v / radius if math.isfinite(radius) else 0.0

        if self.mil_on:
            s.distance_mil_km += distance_km

        braking = s.accel < -0.3 or (target == 0 and v < 0.5 and not parked)
        brake_bar = max(0.0, -s.accel * 14.0) if s.accel < -0.3 else (12.0 if braking else 0.0)
        turn = self.profile.turning_soon(s.t) if not parked else 0.0
        blink = int(s.t * 1.5 * 2) % 2 == 0
        q = {
            "vehicle_speed": s.speed_kph,
            "longitudinal_accel": s.accel,
            "lateral_accel": lateral,
            "yaw_rate": yaw,
            "steering_angle": steer,
            "steering_rate": max(-2000.0, min(2000.0, steer_rate)),
            "steering_torque": max(-10.0, min(10.0, steer * 0.02 + rnd.uniform(-0.05, 0.05))),
            "engine_speed": s.rpm,
            "engine_running": 1.0,
            "idle_active": 1.0 if v < 0.3 and s.throttle < 5 else 0.0,
            "throttle": s.throttle,
            "accel_pedal": 0.0 if s.throttle < 4 and v < 0.5 else min(100.0, s.throttle * 1.1),
            "engine_load": load,
            "engine_torque": (load / 100.0 * 200.0) if not coasting else -25.0,
            "gear_lever": 0.0 if parked else 3.0,
            "gear": 11.0 if parked else float(s.gear),
            "shift_active": 1.0 if s.shift_timer > 0 else 0.0,
            "tcc_state": 0.0 if parked or v < 0.3 else (2.0 if locked else 1.0),
            "turbine_speed": s.rpm if parked else (0.0 if v < 0.3 else (s.rpm if locked else geared * 1.0)),
            "trans_temp": s.trans_c,
            "coolant_temp": s.coolant_c,
            "oil_temp": s.oil_c,
            "intake_temp": s.ambient_c + (14.0 if v < 5 else 6.0),
            "oil_pressure": (130.0 + 0.07 * s.rpm) * (1.0 + max(0.0, 60.0 - s.oil_c) / 120.0),
            "maf": maf,
            "map": 25.0 + 75.0 * load / 100.0,
            "baro": 101.0,
            "ignition_advance": 12.0 + min(20.0, (s.rpm - IDLE_RPM) / 120.0) - load / 12.0,
            "evap_purge": 20.0 if s.coolant_c > 70 and not coasting else 0.0,
            "fuel_rail_pressure": 4.0 + 11.0 * load / 100.0 + s.rpm / 3000.0,
            "fuel_pump_duty": 25.0 + 0.5 * load,
            "fuel_rate": fuel_rate_lh,
            "injector_pw": 0.0 if coasting else 1.2 + load / 30.0,
            "stft_b1": 0.0 if s.coolant_c < 40 else 1.6 * math.sin(s.t * 1.3) + rnd.uniform(-0.8, 0.8),
            "ltft_b1": 1.6,
            "lambda_b1s1": 1.0 + (0.02 * math.sin(s.t * 6.0) if s.coolant_c >= 40 else -0.08),
            "o2_b1s2": o2_downstream,
            "fuel_system_status": 1.0 if s.coolant_c < 40 else (3.0 if coasting else 2.0),
            "catalyst_temp": s.cat_c,
            "alternator_target": 14.2,
            "alternator_field": 35.0 + 0.1 * load if self.alternator_ok else 100.0,
            "alternator_current": (18.0 + 0.1 * load) if self.alternator_ok else 0.0,
            "alternator_fault": 0.0 if self.alternator_ok else 1.0,
            "battery_voltage": 14.2 + rnd.uniform(-0.04, 0.04) if self.alternator_ok else 11.45 + 0.009 * s.battery_soc,
            "battery_current": 2.5 if self.alternator_ok else -25.0,
            "battery_soc": s.battery_soc,
            "battery_temp": s.ambient_c + 12.0,
            "brake_pressure": brake_bar,
            "brake_pressed": 1.0 if braking else 0.0,
            "brake_travel": min(100.0, brake_bar * 2.0),
            "lock_status": 1.0,
            "turn_left": 1.0 if turn > 0 and blink else 0.0,
            "turn_right": 1.0 if turn < 0 and blink else 0.0,
            "cabin_temp": s.cabin_c,
            "ambient_temp": s.ambient_c,
            "odometer": s.odometer_km,
            "trip_a": s.trip_km,
            "fuel_level": 100.0 * s.fuel_l / TANK_L,
            "distance_to_empty": s.fuel_l / 7.5 * 100.0,
            "distance_since_clear": s.distance_since_clear_km,
            "distance_mil_on": s.distance_mil_km,
            "run_time": s.run_time_s,
        }
        for i, wheel in enumerate(WHEELS):
            q[f"tire_pressure_{wheel}"] = s.tire_kpa[i]
            q[f"tire_temp_{wheel}"] = s.tire_c[i]
            q[f"wheel_speed_{wheel}"] = s.speed_kph  # refined by wheel_speeds() once pressures are final
        return q

    def _downstream_o2(self, coasting: bool, dt: float) -> float:
        """The downstream (post-catalyst) O2 sensor of a good catalyst, V: steady in its 0.6-0.8 V band.

        The catalyst's oxygen store smooths the upstream sensor's rich/lean switching, so the downstream
        sensor holds about 0.68 V with a slow wander and a little noise. In deceleration fuel cut the store
        fills with oxygen and the reading sags toward 0.64 V; after the cut the ECM's enrichment empties the
        store again. A cold engine runs open loop, a little rich: about 0.72 V.
        Simplified on purpose, so that a healthy car never reads outside its documented band: on a real car a
        fuel cut longer than the store holds (a few seconds) drives the sensor lean (below 0.2 V), and in the
        first seconds of a cold start, before its heater has lit it, the ECM reads the sensor's 0.45 V bias.
        The simulated drives' fuel cuts last 1-5 s. A worn catalyst (scenario ``catalyst``) overrides this.
        """
        s = self.state
        if coasting:
            s.oxygen_store = _approach(s.oxygen_store, 1.0, 1 / 3.0, dt)
        else:
            s.oxygen_store = _approach(s.oxygen_store, 0.5, 1 / 1.5, dt)
        rich = 0.04 if s.coolant_c < 40 else 0.0  # open-loop cold enrichment
        wander = 0.02 * math.sin(s.t / 7.0)
        noise = self._o2_random.uniform(-0.008, 0.008)
        return 0.68 + rich - 0.08 * (s.oxygen_store - 0.5) + wander + noise

    def feedback(self, final: dict[str, float]) -> None:
        """What the scenario made of this step's quantities, fed back: a failed alternator, a lit MIL."""
        self.alternator_ok = not final.get("alternator_fault")
        self.mil_on = bool(final.get("mil_commanded"))

    def wheel_speeds(self, q: dict[str, float]) -> None:
        """Set the four wheel speeds from road speed, turn radius and each tire's pressure (in place)."""
        v = q["vehicle_speed"]
        road_angle = math.radians(q["steering_angle"] / STEERING_RATIO)
        for i, wheel in enumerate(WHEELS):
            side = 1.0 if wheel.endswith("r") else -1.0  # right wheels are outside in a left (+) turn
            turn = side * TRACK_M / 2.0 * math.tan(road_angle) / WHEELBASE_M
            pressure = q[f"tire_pressure_{wheel}"]
            # rolling radius shrinks ~1 % per 60 kPa below placard
            under = max(0.0, (PLACARD_KPA[i] - pressure) / 60.0) * 0.01
            noise = self._random.uniform(-0.03, 0.03) if v > 0.5 else 0.0
            q[f"wheel_speed_{wheel}"] = max(0.0, v * (1.0 + turn) * (1.0 + under) + noise)
