"""`rag-car clear-codes`: an ELM327 adapter -> OBD-II service 04 (clear DTCs), after showing the codes and asking."""

from __future__ import annotations

from typing import Optional

import typer

from rag_car.cli.state import state


def register(app: typer.Typer) -> None:
    @app.command("clear-codes")
    def clear_codes(
        ctx: typer.Context,
        bus: Optional[str] = typer.Option(None, "--bus", help="The adapter: elm327:/dev/ttyUSB0, elm327:/dev/rfcomm0 or "
                                          "elm327:socket://HOST:PORT. Default: can.bus."),
        yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation (scripts)."),
    ) -> None:
        """Clear the stored trouble codes through an OBD-II adapter (service 04), after listing them and asking.

        Clearing also erases the freeze frame and resets the readiness monitors (an inspection then fails until
        they complete again), and turns the check-engine lamp off; a fault that is still there sets its code again.
        Most ECUs refuse while the engine runs: engine off, ignition on.

        Examples:
          rag-car clear-codes --bus elm327:/dev/ttyUSB0
          rag-car clear-codes --bus elm327:socket://127.0.0.1:35000 --yes
        """
        from rag_car.errors import BusError
        from rag_car.vehicle.diagnostics.obd import NegativeResponseError, NoResponseError, STORED_DTCS
        from rag_car.vehicle.elm327.adapter import open_adapter
        from rag_car.vehicle.spec import parse_bus_spec

        settings = state(ctx).settings({"can": {"bus": bus}})
        spec = parse_bus_spec(settings.can.bus)
        if spec.kind != "elm327":
            raise BusError(f"clear-codes talks to an OBD-II adapter, not to {spec}",
                           "give the adapter: --bus elm327:/dev/ttyUSB0 or --bus elm327:socket://HOST:PORT")
        adapter = open_adapter(spec)
        try:
            try:
                stored = adapter.read_dtcs(STORED_DTCS)
            except NoResponseError:
                stored = []
            codes = sorted({d.code for d in stored})
            typer.echo(f"stored codes on {spec}: {', '.join(codes) if codes else 'none'}", err=True)
            if not yes:
                typer.confirm("Clear them, with the freeze frame and the readiness monitors? The check-engine lamp goes "
                              "off; a fault that is still there comes back", abort=True, err=True)
            try:
                ecus = adapter.clear_dtcs()
            except NegativeResponseError as exc:
                hint = ("switch the engine off, leave the ignition on, and run clear-codes again" if exc.nrc == 0x22
                        else "the ECU does not allow clearing now")
                raise BusError(f"the ECU refused to clear its codes ({exc.message})", hint) from exc
            try:
                left = sorted({d.code for d in adapter.read_dtcs(STORED_DTCS)})
            except NoResponseError:
                left = []
            names = ", ".join(f"0x{e:03X}" for e in ecus)
            typer.echo(f"cleared by {names}; stored codes now: {', '.join(left) if left else 'none'}")
        finally:
            adapter.close()
