"""`rag-car vehicle list`: the known vehicle profiles (bundled and the user's), the picked one, and any that do not load."""

from __future__ import annotations

import json

import typer

from rag_car.cli.state import state
from rag_car.cli.groups import command_group


def register(app: typer.Typer) -> None:
    @command_group(app, "vehicle").command("list")
    def list_profiles(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """List the vehicle profiles: name, vehicle, DBC files, the VINs each claims; `*` marks the picked one.

        Example: rag-car vehicle list
        """
        from rag_car.vehicle.profile import garage_for

        settings = state(ctx).settings()
        garage = garage_for(settings)
        picked = settings.vehicle.profile
        if as_json:
            typer.echo(json.dumps({"picked": picked, "folder": str(settings.profiles_dir),
                                   "profiles": [p.summary() for p in garage.profiles],
                                   "problems": [{"file": p.source, "problem": p.message} for p in garage.problems]},
                                  indent=2))
            return
        for profile in garage.profiles:
            ident = profile.identity
            vins = ident.vin_pattern.text if ident.vin_pattern else (", ".join(ident.wmi) + "..." if ident.wmi else "no VIN pattern")
            mark = "*" if profile.name == picked else " "
            origin = "bundled" if profile.bundled else str(profile.path)
            typer.echo(f"{mark} {profile.name:<20} {profile.label():<32} {len(profile.dbc)} DBC  {vins}  ({origin})")
        if not garage.profiles:
            typer.echo("no vehicle profiles")
        for problem in garage.problems:
            typer.echo(f"problem: {problem.source}: {problem.message}", err=True)
        if picked and picked not in garage.names():
            typer.echo(f"problem: vehicle.profile is {picked!r}, which is not a profile", err=True)
        typer.echo(f"user profiles: {settings.profiles_dir} (rag-car vehicle add NAME --dbc FILE)", err=True)
