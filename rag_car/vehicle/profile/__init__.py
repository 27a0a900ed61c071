"""Vehicle profiles: what rag-car knows about one vehicle, resolved per vehicle so nothing of one is applied to another.

A profile (:class:`VehicleProfile`, frozen) holds a vehicle's identity (make, model, years, WMIs, VIN pattern),
its DBC files, its lamps and what each means, its normal ranges keyed by "Message.Signal", its stop-driving
rules, its DTC descriptions and bulletins (and where they come from), and its documents. One TOML file per
profile, in the format of the bundled knowledge/facts.toml (see :mod:`rag_car.vehicle.profile.load`):

* the bundled Aldmoor Corrin is the profile ``aldmoor-corrin`` (knowledge/facts.toml);
* the user's profiles are ``<data_dir>/vehicles/NAME.toml`` (``rag-car vehicle add NAME --dbc FILE``).

The profile in force, for the settings and the VIN heard on the bus (if any)::

    from rag_car.vehicle.profile import resolve_for

    resolution = resolve_for(settings, vin=snapshot.vehicle.get("vin"))
    profile = resolution.profile          # VehicleProfile, or None: no vehicle facts apply
    resolution.how                        # "vin" | "picked" | "dbc" | "none"
    resolution.notes                      # e.g. "the bus's VIN ... is not a Hyundai Kona's ..."

It is the profile whose VIN pattern matches the bus's VIN; else the one the user picked (settings
``vehicle.profile``, ``RAG_CAR_VEHICLE__PROFILE``, ``--profile``, the UI); else the one whose DBC files are
exactly those in use (the bundled DBC -> the Corrin); else none. A VIN that contradicts the pick gives none.
A live snapshot carries the profile its LiveState resolved: ``snapshot.profile``.

A signal's documented normal range, by "Message.Signal" only (a bare signal name finds nothing)::

    rng = profile.range_for("ECM_EngineTemps.CoolantTemp")   # NormalRange | None
    rng.low, rng.high, rng.unit, rng.doc, rng.section        # 85.0, 105.0, "degC", "service/...", "..."
    rng.status(118.0)                                        # "high"

Errors: :class:`rag_car.errors.ProfileError` (a ConfigError) carries its fix; loading the garage never raises
for one bad file (it is listed in ``Garage.problems``), and :meth:`Garage.resolve` never raises.
"""

from rag_car.vehicle.profile.garage import (
    BUNDLED_NAME,
    Garage,
    ProfileProblem,
    Resolution,
    garage_for,
    load_garage,
    profiles_dir,
    resolve_for,
    vin_overlap,
)
from rag_car.vehicle.profile.load import check_name, load_profile, profile_toml
from rag_car.vehicle.profile.model import (
    Bulletin,
    DtcFact,
    Identity,
    Lamp,
    NormalRange,
    ObdAddresses,
    StopRule,
    Variant,
    VehicleProfile,
)
from rag_car.vehicle.profile.patterns import VinPattern, compile_pattern

__all__ = [
    "BUNDLED_NAME", "Bulletin", "DtcFact", "Garage", "Identity", "Lamp", "NormalRange", "ObdAddresses",
    "ProfileProblem", "Resolution", "StopRule", "Variant", "VehicleProfile", "VinPattern", "check_name",
    "compile_pattern", "garage_for", "load_garage", "load_profile", "profile_toml", "profiles_dir", "resolve_for",
    "vin_overlap",
]
