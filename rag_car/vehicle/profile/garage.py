"""The bundled profile + the user's profile files -> Garage; a VIN, a pick and the DBCs in use -> the profile in force."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from rag_car.errors import ProfileError
from rag_car.vehicle.profile.load import check_name, load_profile
from rag_car.vehicle.profile.model import VehicleProfile
from rag_car.vehicle.profile.patterns import VIN_LENGTH, overlap

BUNDLED_NAME = "aldmoor-corrin"


@dataclass(frozen=True)
class Resolution:
    """The profile in force (None: no vehicle facts apply) and why.

    ``how``: "vin" (the bus's VIN matches its pattern), "picked" (the user's choice: settings vehicle.profile,
    ``--profile``, the UI), "dbc" (nothing picked; the DBC files in use are exactly this profile's), or "none".
    ``notes``: what the user should know, e.g. a picked profile set aside because the bus's VIN is another car's.
    """

    profile: VehicleProfile | None
    how: str = "none"
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.profile.name if self.profile else ""


@dataclass(frozen=True)
class ProfileProblem:
    """A profile file that could not be loaded, or two profiles that claim one VIN."""

    source: str
    message: str


@dataclass(frozen=True)
class Garage:
    """Every known vehicle profile, by name, with the problems found while loading them."""

    profiles: tuple[VehicleProfile, ...] = ()
    problems: tuple[ProfileProblem, ...] = ()
    folder: Path | None = None  # where user profiles are written

    def names(self) -> list[str]:
        return [p.name for p in self.profiles]

    def get(self, name: str) -> VehicleProfile:
        """The profile called ``name``; ProfileError listing the known ones (or the file's problem) otherwise."""
        for profile in self.profiles:
            if profile.name == name:
                return profile
        for problem in self.problems:
            if Path(problem.source).stem == name:
                raise ProfileError(f"vehicle profile {name} cannot be used: {problem.message}",
                                   f"fix {problem.source} or remove it")
        raise ProfileError(f"no vehicle profile named {name!r}",
                           f"known: {', '.join(self.names()) or 'none'}; add one with `rag-car vehicle add {name} --dbc FILE`")

    def for_vin(self, vin: str) -> list[VehicleProfile]:
        """The profiles whose VIN pattern (or WMI) accepts ``vin``."""
        return [p for p in self.profiles if p.matches_vin(vin)]

    def for_dbc(self, files: Iterable[str | Path]) -> VehicleProfile | None:
        """The one profile whose DBC files are exactly ``files`` (None when none or several are)."""
        wanted = {_real(f) for f in files}
        if not wanted:
            return None
        hits = [p for p in self.profiles if p.dbc and {_real(f) for f in p.dbc} == wanted]
        return hits[0] if len(hits) == 1 else None

    def resolve(self, vin: str | None = None, picked: str | None = None,
                dbc: Iterable[str | Path] = ()) -> Resolution:
        """The profile in force: the one whose VIN pattern matches ``vin``; else the ``picked`` one; else the one
        whose DBC files are exactly ``dbc``; else none. Never raises.

        A VIN that contradicts the pick (another maker's WMI, outside the picked profile's pattern) means the
        bus is another car's: then no profile applies, and a note says so -- nothing of one vehicle is applied
        to another. A VIN two profiles claim selects neither.
        """
        vin = (vin or "").strip().upper()
        dbc = [str(f) for f in dbc if Path(f).is_file()]  # in-memory databases say nothing about the files
        notes: list[str] = []
        chosen: VehicleProfile | None = None
        if picked:
            try:
                chosen = self.get(picked)
            except ProfileError as exc:
                notes.append(str(exc))
        if chosen is not None and dbc and chosen.dbc and not _shares_dbc(chosen.dbc, dbc):
            notes.append(f"the picked profile {chosen.name} decodes with {', '.join(p.name for p in chosen.dbc)}, "
                         f"but the bus is decoded with {', '.join(Path(f).name for f in dbc)}: its facts are not applied "
                         "(pick the profile of this DBC, or decode with the profile's own DBC files)")
            chosen = None
        if vin:
            matches = self.for_vin(vin) if len(vin) == VIN_LENGTH else []
            if len(matches) > 1:
                names = ", ".join(p.name for p in matches)
                return Resolution(None, "none", (*notes, f"VIN {vin} matches the VIN patterns of several profiles "
                                                 f"({names}), so none is applied: make their vin_pattern disjoint"))
            if matches:
                found = matches[0]
                if chosen is not None and chosen.name != found.name:
                    notes.append(f"the bus's VIN {vin} fits profile {found.name} ({found.label()}), not the picked "
                                 f"profile {chosen.name}: using {found.name}")
                return Resolution(found, "vin", tuple(notes))
            fallback = chosen or self.for_dbc(dbc)
            if fallback is not None and _contradicts(fallback, vin):
                notes.append(f"the bus's VIN {vin} does not fit profile {fallback.name} ({fallback.label()}), so none "
                             "of that profile's facts are applied: this log or bus is another car's; pick its own "
                             "profile or add one with `rag-car vehicle add`")
                return Resolution(None, "none", tuple(notes))
            if fallback is not None:
                return Resolution(fallback, "picked" if fallback is chosen else "dbc", tuple(notes))
            return Resolution(None, "none", tuple(notes))
        if chosen is not None:
            return Resolution(chosen, "picked", tuple(notes))
        by_dbc = self.for_dbc(dbc)
        if by_dbc is not None:
            return Resolution(by_dbc, "dbc", tuple(notes))
        return Resolution(None, "none", tuple(notes))


def _contradicts(profile: VehicleProfile, vin: str) -> bool:
    """True when ``vin`` can be told not to be this profile's vehicle."""
    if profile.identity.claims_vins():
        return len(vin) == VIN_LENGTH and not profile.matches_vin(vin)
    if profile.make and len(vin) >= 3:
        from rag_car.vehicle.diagnostics.vin import maker_of

        maker = maker_of(vin)
        return bool(maker) and not _same_maker(maker, profile.make)
    return False


def _shares_dbc(mine: Iterable[Path], used: Iterable[str]) -> bool:
    """True when one of the profile's DBC files is among those in use (same path, or the same content)."""
    used_paths = [Path(f) for f in used]
    for own in mine:
        for other in used_paths:
            if _real(own) == _real(other):
                return True
            try:
                if own.stat().st_size == other.stat().st_size and own.read_bytes() == other.read_bytes():
                    return True
            except OSError:
                continue
    return False


def _same_maker(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a in b or b in a


def _real(path: str | Path) -> str:
    try:
        return str(Path(path).expanduser().resolve())
    except OSError:
        return str(path)


def profiles_dir(settings) -> Path:
    """Where user profiles live: ``<data_dir>/vehicles`` (one TOML file per profile)."""
    return Path(settings.profiles_dir)


def load_garage(folder: Path | None = None, *, bundled: Path | None = None) -> Garage:
    """The bundled profile (knowledge/facts.toml) and every ``*.toml`` in ``folder``.

    A file that does not load is a problem of the garage, not an error: the others stay usable and
    `rag-car vehicle list` shows it. Two profiles whose VIN patterns can match one VIN are a problem too
    (and :meth:`Garage.resolve` then applies neither to such a VIN).
    """
    from rag_car.settings import BUNDLED_KNOWLEDGE

    profiles: list[VehicleProfile] = []
    problems: list[ProfileProblem] = []
    bundled = bundled if bundled is not None else BUNDLED_KNOWLEDGE / "facts.toml"
    if bundled.is_file():
        try:
            profiles.append(load_profile(bundled, name=BUNDLED_NAME, bundled=True))
        except ProfileError as exc:
            problems.append(ProfileProblem(str(bundled), str(exc)))
    if folder is not None and folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                profile = load_profile(path, name=check_name(path.stem))
            except ProfileError as exc:
                problems.append(ProfileProblem(str(path), exc.message))
                continue
            if profile.name in {p.name for p in profiles}:
                problems.append(ProfileProblem(str(path), f"the name {profile.name} is taken by the bundled profile"))
                continue
            profiles.append(profile)
    for i, a in enumerate(profiles):
        for b in profiles[i + 1:]:
            clash = vin_overlap(a, b)
            if clash:
                problems.append(ProfileProblem(str(b.path or b.name), f"profiles {a.name} and {b.name} both claim VIN "
                                               f"{clash}: make their vin_pattern (or wmi) disjoint"))
    return Garage(tuple(profiles), tuple(problems), folder)


def vin_overlap(a: VehicleProfile, b: VehicleProfile) -> str | None:
    """A VIN (or WMI) both profiles claim, None when they cannot share one."""
    pa, pb = a.identity.vin_pattern, b.identity.vin_pattern
    if pa is not None and pb is not None:
        return overlap(pa, pb, a.identity.example_vins + b.identity.example_vins)
    if pa is None and pb is None:
        common = sorted(set(a.identity.wmi) & set(b.identity.wmi))
        return f"{common[0]}..." if common else None
    with_pattern, wmi_only = (a, b) if pa is not None else (b, a)
    pattern = with_pattern.identity.vin_pattern
    assert pattern is not None
    for wmi in wmi_only.identity.wmi:
        if pattern.positions is not None:
            if all(ch in chars for ch, chars in zip(wmi, pattern.positions)):
                return f"{wmi}..."
        elif any(v.startswith(wmi) and pattern.matches(v) for v in with_pattern.identity.example_vins):
            return f"{wmi}..."
    return None


def garage_for(settings) -> Garage:
    """The garage of these settings (bundled + ``<data_dir>/vehicles``)."""
    return load_garage(profiles_dir(settings))


def resolve_for(settings, vin: str | None = None, garage: Garage | None = None) -> Resolution:
    """The profile in force for ``settings`` (vehicle.profile is the pick; can.dbc the DBCs in use) and ``vin``."""
    garage = garage if garage is not None else garage_for(settings)
    picked = getattr(getattr(settings, "vehicle", None), "profile", "") or None
    return garage.resolve(vin=vin, picked=picked, dbc=settings.dbc_files())
