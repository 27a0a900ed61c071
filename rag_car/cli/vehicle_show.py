"""`rag-car vehicle show`: one vehicle profile in full (identity, DBCs, ranges by Message.Signal, lamps, stop rules, sources)."""

from __future__ import annotations

import json

import typer

from rag_car.cli.state import state
from rag_car.cli.groups import command_group


def register(app: typer.Typer) -> None:
    @command_group(app, "vehicle").command("show")
    def show(
        ctx: typer.Context,
        name: str = typer.Argument(..., help="The profile's name (see `rag-car vehicle list`)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Show one vehicle profile: what it knows and where each part comes from.

        Example: rag-car vehicle show aldmoor-corrin
        """
        from rag_car.vehicle.profile import garage_for

        profile = garage_for(state(ctx).settings()).get(name)  # ProfileError lists the known names
        data = profile.summary()
        data["ranges"] = {key: {"low": r.low, "high": r.high, "unit": r.unit, "doc": r.doc}
                          for key, r in profile.ranges.items()}
        data["lamp_list"] = {key: {"name": lamp.name, "signal": lamp.key_signal, "stop_driving": lamp.stop_driving}
                             for key, lamp in profile.lamps.items()}
        if as_json:
            typer.echo(json.dumps(data, indent=2))
            return
        for key in ("name", "vehicle", "file", "vin_pattern", "wmi", "dbc", "documents", "dtc_source", "bulletin_source"):
            value = data[key]
            if value not in ("", [], None):
                typer.echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
        typer.echo(f"counts: {data['normal_ranges']} normal ranges, {data['lamps']} lamps, {data['dtcs']} trouble codes, "
                   f"{data['bulletins']} bulletins, {data['stop_rules']} stop-driving rules")
        for key, r in profile.ranges.items():
            low = "" if r.low is None else f"{r.low:g}"
            high = "" if r.high is None else f"{r.high:g}"
            typer.echo(f"  range {key}: {low}-{high} {r.unit}".rstrip())
        for lamp in profile.lamps.values():
            typer.echo(f"  lamp {lamp.key}: {lamp.name} ({lamp.key_signal}){' - stop driving' if lamp.stop_driving else ''}")
