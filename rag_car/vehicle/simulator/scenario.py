"""Scenario TOML file -> Scenario: which signals ramp where, which DTCs set when, which lamps light.

Format (docs/simulator.md has the full reference)::

    name = "overheating"                 # default: the file name
    summary = "Coolant climbs past 115 C ..."   # the one line of `rag-car simulate --list`
    speed_profile = "city"               # city | highway | idle (the --speed-profile flag wins)

    [start]                              # initial state of the physics (physics.START_KEYS)
    coolant_temp = 96

    [[ramp]]                             # move a signal linearly to `to` over `over_s` seconds
    signal = "ECM_EngineTemps.CoolantTemp"
    to = 119
    over_s = 60
    at_s = 5                             # when it starts (scenario seconds), and/or
    # when = "ECM_EngineTemps.CoolantTemp > 100"   # a condition on any signal,
    # hold_s = 10                                    # true for this long (a DTC's "for 10 s")

    [[set]]     signal, value, at_s/when          # hold a signal at a value
    [[noise]]   signal, amplitude, shape = "random"|"sine", period_s, at_s/when   # add variation
    [[dtc]]     code, status = "pending"|"confirmed", mil = true|false, ecu = "ECM", at_s/when
    [[lamp]]    key (a [[lamp]] key of the vehicle profile, knowledge/facts.toml), state = "on"|"flashing"|"off", at_s/when
    [obd]       refuse = { "0A" = "serviceNotSupported" }   # service -> NRC name or number

Signals are named "Message.Signal" exactly as in the DBC (or "Signal" alone when only one message has
it). Every mistake is a ScenarioError naming the file, the line and what is wrong.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag_car.errors import ConfigError
from rag_car.vehicle.diagnostics.dtc import is_dtc
from rag_car.vehicle.diagnostics.nrc import NRC_NAMES
from rag_car.vehicle.simulator.physics import START_KEYS
from rag_car.vehicle.simulator.profiles import PROFILES

BUNDLED_DIR = Path(__file__).resolve().parent / "scenarios"
FORMAT_HELP = "see the scenario format in docs/simulator.md (or a bundled file in rag_car/vehicle/simulator/scenarios/)"
_CONDITION = re.compile(r"^\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_TOP_KEYS = {"name", "summary", "speed_profile", "vin", "start", "ramp", "set", "noise", "dtc", "lamp", "obd"}
_TRIGGER_KEYS = {"at_s", "when", "hold_s"}
_KEYS = {
    "ramp": {"signal", "to", "from", "over_s"} | _TRIGGER_KEYS,
    "set": {"signal", "value"} | _TRIGGER_KEYS,
    "noise": {"signal", "amplitude", "shape", "period_s"} | _TRIGGER_KEYS,
    "dtc": {"code", "status", "mil", "ecu", "occurrences"} | _TRIGGER_KEYS,
    "lamp": {"key", "state"} | _TRIGGER_KEYS,
}
_NRC_BY_NAME = {name.lower(): code for code, name in NRC_NAMES.items()}


class ScenarioError(ConfigError):
    """A scenario cannot be used: an unknown name, a file that is not TOML, a key or value that is wrong."""


@dataclass(frozen=True)
class Condition:
    signal: str
    op: str
    value: float
    text: str

    def holds(self, value: float) -> bool:
        return {">": value > self.value, ">=": value >= self.value, "<": value < self.value,
                "<=": value <= self.value, "==": value == self.value, "!=": value != self.value}[self.op]


@dataclass(frozen=True)
class Trigger:
    """Fires once scenario time reaches ``at_s`` and ``when`` (if any) has held for ``hold_s``; then it stays fired."""

    at_s: float = 0.0
    when: Condition | None = None
    hold_s: float = 0.0


@dataclass(frozen=True)
class Effect:
    kind: str  # ramp, set, noise
    signal: str
    trigger: Trigger
    line: int
    to: float = 0.0
    start: float | None = None  # ramp "from"; None = the value when the ramp begins
    over_s: float = 30.0
    value: float = 0.0
    amplitude: float = 0.0
    shape: str = "random"
    period_s: float = 1.0


@dataclass(frozen=True)
class DtcEvent:
    code: str
    status: str  # pending, confirmed
    mil: bool
    ecu: str
    occurrences: int
    trigger: Trigger
    line: int


@dataclass(frozen=True)
class LampEvent:
    key: str
    state: str
    trigger: Trigger
    line: int


@dataclass
class Scenario:
    name: str
    path: Path
    summary: str = ""
    speed_profile: str = "city"
    vin: str = ""
    start: dict[str, float] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    dtcs: list[DtcEvent] = field(default_factory=list)
    lamps: list[LampEvent] = field(default_factory=list)
    refuse: dict[int, int] = field(default_factory=dict)
    _locator: "_Locator | None" = field(default=None, repr=False)

    def error(self, line: int, what: str) -> ScenarioError:
        return ScenarioError(f"scenario file {self.path}, line {line}: {what}", FORMAT_HELP)

    def signals_named(self) -> list[tuple[str, int]]:
        """Every signal name the file uses, with its line (effects and conditions)."""
        names = [(e.signal, e.line) for e in self.effects]
        for item in [*self.effects, *self.dtcs, *self.lamps]:
            if item.trigger.when is not None:
                names.append((item.trigger.when.signal, item.line))
        return names

    def bind(self, resolve, lamp_keys: set[str], ecus: set[str]) -> None:
        """Check names against the DBC and facts; ``resolve(name)`` returns "Message.Signal" or raises KeyError(hint).

        Rewrites every signal to its full "Message.Signal" name. Raises ScenarioError for the first bad name.
        """
        def full(name: str, line: int) -> str:
            try:
                return resolve(name)
            except KeyError as exc:
                raise self.error(line, str(exc.args[0]) if exc.args else f"unknown signal {name!r}") from None

        def trig(t: Trigger, line: int) -> Trigger:
            if t.when is None:
                return t
            return Trigger(t.at_s, Condition(full(t.when.signal, line), t.when.op, t.when.value, t.when.text), t.hold_s)

        self.effects = [Effect(**{**e.__dict__, "signal": full(e.signal, e.line), "trigger": trig(e.trigger, e.line)})
                        for e in self.effects]
        for lamp in self.lamps:
            if lamp.key not in lamp_keys:
                close = difflib.get_close_matches(lamp.key, sorted(lamp_keys), n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else f" (known: {', '.join(sorted(lamp_keys))})"
                raise self.error(lamp.line, f"lamp key {lamp.key!r} is not a [[lamp]] of facts.toml{hint}")
        self.lamps = [LampEvent(l.key, l.state, trig(l.trigger, l.line), l.line) for l in self.lamps]
        for dtc in self.dtcs:
            if dtc.ecu not in ecus:
                raise self.error(dtc.line, f"ecu {dtc.ecu!r} is not simulated (use one of {', '.join(sorted(ecus))})")
        self.dtcs = [DtcEvent(d.code, d.status, d.mil, d.ecu, d.occurrences, trig(d.trigger, d.line), d.line) for d in self.dtcs]


class _Locator:
    """Line numbers of tables and keys in the raw TOML text (tomllib keeps none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def table(self, kind: str, index: int | None = None) -> int:
        header = re.compile(rf"^\s*\[\[\s*{re.escape(kind)}\s*\]\]" if index is not None else rf"^\s*\[\s*{re.escape(kind)}\s*\]")
        seen = -1
        for n, line in enumerate(self.lines, 1):
            if header.match(line):
                seen += 1
                if index is None or seen == index:
                    return n
        return 1

    def key(self, key: str, kind: str | None = None, index: int | None = None) -> int:
        start = self.table(kind, index) if kind else 0
        pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
        for n in range(start, len(self.lines)):
            line = self.lines[n]
            if kind and n >= start and re.match(r"^\s*\[", line):
                break
            if pattern.match(line):
                return n + 1
        return start or 1


def bundled_scenarios() -> dict[str, Path]:
    """Name -> file of every scenario shipped in the package."""
    return {path.stem: path for path in sorted(BUNDLED_DIR.glob("*.toml"))}


def available_scenarios(extra_dirs: list[Path] | None = None) -> dict[str, Path]:
    """Bundled scenarios plus those in ``extra_dirs`` (a user's own override a bundled one of the same name)."""
    found = bundled_scenarios()
    for folder in extra_dirs or []:
        if folder.is_dir():
            found.update({path.stem: path for path in sorted(folder.glob("*.toml"))})
    return found


def resolve_scenario(name_or_path: str, extra_dirs: list[Path] | None = None) -> Path:
    """A scenario name (bundled or in ``extra_dirs``) or a path to a .toml file -> the file.

    Raises ScenarioError listing the known scenarios when it is neither.
    """
    known = available_scenarios(extra_dirs)
    if name_or_path in known:
        return known[name_or_path]
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or "/" in name_or_path:
        if path.is_file():
            return path
        raise ScenarioError(f"scenario file {path} does not exist", f"check the path, or use one of: {', '.join(known)}")
    close = difflib.get_close_matches(name_or_path, list(known), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise ScenarioError(f"unknown scenario {name_or_path!r}",
                        f"{hint}choose one of: {', '.join(known)} (`rag-car simulate --list`), or give a path to your own .toml file")


def load_scenario(name_or_path: str | Path, extra_dirs: list[Path] | None = None) -> Scenario:
    """Parse and check one scenario file (names are checked against the DBC later, by :meth:`Scenario.bind`)."""
    path = name_or_path if isinstance(name_or_path, Path) else resolve_scenario(str(name_or_path), extra_dirs)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"scenario file {path} cannot be read ({exc.strerror or exc})", "check the path and permissions") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"scenario file {path} is not UTF-8 text", "save it as UTF-8") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"line {match.group(1)}, column {match.group(2)}" if match else "somewhere"
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ScenarioError(f"scenario file {path}, {where}: not valid TOML: {what}", FORMAT_HELP) from exc
    return _build(path, text, data)


def _build(path: Path, text: str, data: dict[str, Any]) -> Scenario:
    loc = _Locator(text)
    scenario = Scenario(name=path.stem, path=path, _locator=loc)

    def fail(line: int, what: str) -> ScenarioError:
        return scenario.error(line, what)

    for key in data:
        if key not in _TOP_KEYS:
            raise fail(loc.key(key) if not isinstance(data[key], (dict, list)) else loc.table(key),
                       f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})")
    scenario.name = _text(data, "name", path.stem, fail, loc)
    scenario.summary = _text(data, "summary", "", fail, loc)
    scenario.vin = _text(data, "vin", "", fail, loc).upper()
    profile = _text(data, "speed_profile", "city", fail, loc)
    if profile not in PROFILES:
        raise fail(loc.key("speed_profile"), f"speed_profile {profile!r} is not one of {', '.join(PROFILES)}")
    scenario.speed_profile = profile

    start = data.get("start", {})
    if not isinstance(start, dict):
        raise fail(loc.key("start"), "start must be a table: [start]")
    for key, value in start.items():
        line = loc.key(key, "start")
        if key not in START_KEYS:
            raise fail(line, f"unknown start quantity {key!r} (known: {', '.join(sorted(START_KEYS))})")
        scenario.start[key] = _number(value, f"start.{key}", line, fail)

    for kind in ("ramp", "set", "noise", "dtc", "lamp"):
        items = data.get(kind, [])
        if not isinstance(items, list):
            raise fail(loc.table(kind), f"{kind} must be an array of tables: write [[{kind}]] for each entry")
        for index, item in enumerate(items):
            line = loc.table(kind, index)
            for key in item:
                if key not in _KEYS[kind]:
                    raise fail(loc.key(key, kind, index), f"unknown key {key!r} in [[{kind}]] (known: {', '.join(sorted(_KEYS[kind]))})")
            trigger = _trigger(item, kind, index, loc, fail)
            if kind in ("ramp", "set", "noise"):
                signal = item.get("signal")
                if not isinstance(signal, str) or not signal:
                    raise fail(line, f"[[{kind}]] needs signal = \"Message.Signal\"")
                def num(key: str, default: float | None = None, item=item, kind=kind, index=index) -> float | None:
                    return _number(item[key], key, loc.key(key, kind, index), fail) if key in item else default

                if kind == "ramp":
                    if "to" not in item:
                        raise fail(line, "[[ramp]] needs to = <value>")
                    over = num("over_s", 30.0)
                    if over <= 0:
                        raise fail(loc.key("over_s", kind, index), f"over_s must be more than 0, got {over:g}")
                    effect = Effect("ramp", signal, trigger, line, to=num("to"), start=num("from"), over_s=over)
                elif kind == "set":
                    if "value" not in item:
                        raise fail(line, "[[set]] needs value = <number>")
                    effect = Effect("set", signal, trigger, line, value=num("value"))
                else:
                    if "amplitude" not in item:
                        raise fail(line, "[[noise]] needs amplitude = <number>")
                    shape = item.get("shape", "random")
                    if shape not in ("random", "sine"):
                        raise fail(loc.key("shape", kind, index), f"shape {shape!r} is not 'random' or 'sine'")
                    period = num("period_s", 1.0)
                    if period <= 0:
                        raise fail(loc.key("period_s", kind, index), f"period_s must be more than 0, got {period:g}")
                    effect = Effect("noise", signal, trigger, line, amplitude=abs(num("amplitude")), shape=shape, period_s=period)
                scenario.effects.append(effect)
            elif kind == "dtc":
                code = str(item.get("code", "")).strip().upper()
                if not is_dtc(code):
                    raise fail(loc.key("code", kind, index) if "code" in item else line,
                               f"code {item.get('code')!r} is not a DTC like P0217 (letter P/C/B/U, digit 0-3, three hex digits)")
                status = item.get("status", "confirmed")
                if status not in ("pending", "confirmed"):
                    raise fail(loc.key("status", kind, index), f"status {status!r} is not 'pending' or 'confirmed'")
                mil = item.get("mil", False)
                if not isinstance(mil, bool):
                    raise fail(loc.key("mil", kind, index), f"mil must be true or false, got {mil!r}")
                occurrences = item.get("occurrences", 1)
                if not isinstance(occurrences, int) or occurrences < 0:
                    raise fail(loc.key("occurrences", kind, index), f"occurrences must be a whole number, got {occurrences!r}")
                scenario.dtcs.append(DtcEvent(code, status, mil, str(item.get("ecu", "ECM")), occurrences, trigger, line))
            else:
                key = item.get("key")
                if not isinstance(key, str) or not key:
                    raise fail(line, "[[lamp]] needs key = \"<lamp key of facts.toml>\"")
                state = item.get("state", "on")
                if state not in ("on", "flashing", "off"):
                    raise fail(loc.key("state", kind, index), f"state {state!r} is not 'on', 'flashing' or 'off'")
                scenario.lamps.append(LampEvent(key, state, trigger, line))

    obd = data.get("obd", {})
    if not isinstance(obd, dict):
        raise fail(loc.key("obd"), "obd must be a table: [obd]")
    for key in obd:
        if key != "refuse":
            raise fail(loc.key(key, "obd"), f"unknown key {key!r} in [obd] (known: refuse)")
    for service, nrc in (obd.get("refuse") or {}).items():
        line = loc.key("refuse", "obd")
        try:
            service_id = int(str(service), 16)
        except ValueError:
            raise fail(line, f"service {service!r} is not a hex service number like \"0A\"") from None
        scenario.refuse[service_id] = _nrc(nrc, line, fail)
    return scenario


def _text(data, key, default, fail, loc) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise fail(loc.key(key), f"{key} must be a string in quotes, got {value!r}")
    return value


def _number(value: Any, key: str, line: int, fail) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(line, f"{key} must be a number, got {value!r}")
    return float(value)


def _trigger(item: dict[str, Any], kind: str, index: int, loc: _Locator, fail) -> Trigger:
    at_s = 0.0
    if "at_s" in item:
        at_s = _number(item["at_s"], "at_s", loc.key("at_s", kind, index), fail)
        if at_s < 0:
            raise fail(loc.key("at_s", kind, index), f"at_s must be 0 or more, got {at_s:g}")
    condition = None
    if "when" in item:
        text = item["when"]
        match = _CONDITION.match(text) if isinstance(text, str) else None
        if not match:
            raise fail(loc.key("when", kind, index),
                       f"when = {text!r} is not a condition like \"ECM_EngineTemps.CoolantTemp > 115\" (signal, one of > >= < <= == !=, number)")
        condition = Condition(match.group(1), match.group(2), float(match.group(3)), text)
    hold_s = 0.0
    if "hold_s" in item:
        hold_s = _number(item["hold_s"], "hold_s", loc.key("hold_s", kind, index), fail)
        if hold_s < 0 or condition is None:
            raise fail(loc.key("hold_s", kind, index), "hold_s needs a when = condition and must be 0 or more")
    return Trigger(at_s, condition, hold_s)


def _nrc(value: Any, line: int, fail) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 0x100:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _NRC_BY_NAME:
            return _NRC_BY_NAME[text.lower()]
        try:
            code = int(text, 16)
            if 0 < code < 0x100:
                return code
        except ValueError:
            pass
    raise fail(line, f"NRC {value!r} is neither a negative response code (0x22) nor one of its names "
                     f"({', '.join(sorted(NRC_NAMES.values())[:6])}, ...)")
