"""`rag-car vehicle add`: NAME + DBC files (+ identity) -> a profile TOML under <data_dir>/vehicles, checked before it is written."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import List, Optional

import typer

from rag_car.cli.groups import command_group
from rag_car.cli.state import state


def register(app: typer.Typer) -> None:
    @command_group(app, "vehicle").command("add")
    def add(
        ctx: typer.Context,
        name: str = typer.Argument(..., help="Profile name: lower-case letters, digits, '-' and '_' (e.g. kona)."),
        dbc: List[Path] = typer.Option(..., "--dbc", help="A DBC file of this vehicle (repeatable)."),
        make: str = typer.Option("", "--make", help="Maker, e.g. Hyundai."),
        model: str = typer.Option("", "--model", help="Model, e.g. Kona."),
        years: str = typer.Option("", "--years", help="Model years: YEAR or FIRST-LAST, e.g. 2018-2023."),
        wmi: Optional[List[str]] = typer.Option(None, "--wmi", help="A WMI (VIN positions 1-3) of its VINs (repeatable)."),
        vin_pattern: str = typer.Option("", "--vin-pattern", help="A regular expression its 17-character VINs follow."),
        documents: Optional[List[Path]] = typer.Option(None, "--documents", help="A file or folder of its documents (repeatable)."),
        force: bool = typer.Option(False, "--force", help="Replace a profile of that name."),
    ) -> None:
        """Add a vehicle profile (one TOML file under <data_dir>/vehicles; edit it to add ranges, lamps, codes).

        Example: rag-car vehicle add kona --dbc hyundai_can.dbc --make Hyundai --model Kona --years 2018-2023 --wmi KM8
        """
        from rag_car.errors import ProfileError
        from rag_car.vehicle.dbc import load_dbc
        from rag_car.vehicle.profile import (
            BUNDLED_NAME, Identity, VehicleProfile, check_name, compile_pattern, garage_for, load_profile, profile_toml,
            vin_overlap,
        )

        settings = state(ctx).settings()
        name = check_name(name.strip().lower())
        if name == BUNDLED_NAME:
            raise ProfileError(f"{name} is the bundled profile", "choose another name")
        target = settings.profiles_dir / f"{name}.toml"
        if target.exists() and not force:
            raise ProfileError(f"vehicle profile {name} already exists ({target})", "pass --force to replace it")
        files = [Path(f).expanduser().resolve() for f in dbc]
        for file in files:
            if not file.is_file():
                raise ProfileError(f"DBC file {file} does not exist", "check the path given to --dbc")
        with warnings.catch_warnings(record=True) as caught:  # what the loader relaxed: one line each
            warnings.simplefilter("always")
            loaded = load_dbc(files)  # a DBC that does not parse is a DbcError naming file and line
        for item in {str(w.message): w for w in caught}:
            typer.echo(f"warning: {item}", err=True)
        signals = sum(len(m.signals) for m in loaded.messages)
        try:
            pattern = compile_pattern(vin_pattern) if vin_pattern else None
        except ValueError as exc:
            raise ProfileError(f"--vin-pattern {vin_pattern!r} is {exc}", "write e.g. '^KM8K[0-9A-Z]{13}$'") from None
        profile = VehicleProfile(
            name=name, identity=Identity(make=make, model=model, years=_years(years),
                                         wmi=tuple(w.strip().upper() for w in wmi or []), vin_pattern=pattern),
            dbc=tuple(files), documents=tuple(Path(d).expanduser().resolve() for d in documents or []))
        garage = garage_for(settings)
        for other in garage.profiles:
            if other.name == name:
                continue
            clash = vin_overlap(profile, other)
            if clash:
                raise ProfileError(f"the VINs of {name} would overlap profile {other.name}'s ({clash})",
                                   "give a narrower --vin-pattern or --wmi, so that one VIN selects one profile")
        settings.profiles_dir.mkdir(parents=True, exist_ok=True)
        temp = target.with_suffix(".toml.tmp")
        temp.write_text(profile_toml(profile), encoding="utf-8")
        load_profile(temp, name=name)  # what was written loads back
        temp.replace(target)
        typer.echo(f"added vehicle profile {name}: {profile.label()}, {len(files)} DBC file(s) with "
                   f"{len(loaded.messages)} messages and {signals} signals -> {target}")
        if not signals:
            typer.echo(f"warning: the DBC files of {name} define no signals: nothing on its bus can be decoded", err=True)
        else:
            from rag_car.vehicle.catalogue import build_catalogue

            note = build_catalogue(loaded).unplaced_note(f"the DBC files of {name}")
            if note:
                typer.echo(f"warning: {note}", err=True)
        if pattern is None and not profile.identity.wmi:
            typer.echo("note: no --vin-pattern or --wmi: this profile applies only when picked "
                       f"(RAG_CAR_VEHICLE__PROFILE={name}, or the web UI)", err=True)


def _years(text: str) -> tuple[int, int] | None:
    from rag_car.errors import ProfileError

    if not text.strip():
        return None
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*", text)
    first, last = (int(match.group(1)), int(match.group(2) or match.group(1))) if match else (0, 0)
    if not match or last < first or not 1886 <= first <= 2100:
        raise ProfileError(f"--years {text!r} is not YEAR or FIRST-LAST", "write e.g. --years 2018-2023")
    return (first, last)
