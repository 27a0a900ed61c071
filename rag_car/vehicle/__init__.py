"""CAN frames -> decoded signals -> live snapshot."""

from rag_car.vehicle.pycan import import_can as _import_can

# python-can without its one-second asammdf import (see rag_car/vehicle/pycan.py)
_import_can()
