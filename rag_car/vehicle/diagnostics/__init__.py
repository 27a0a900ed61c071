"""Bus frames -> DTCs, lamps and the VIN, read the way a scan tool reads them.

- ``dtc``: SAE J2012 two-byte DTC encoding (P0217 <-> 0x0217).
- ``isotp_link``: ISO 15765-2 channels over a python-can bus (the can-isotp library), fed frame by frame.
- ``obd``: OBD-II services 01, 03, 07, 0A, 09 (SAE J1979): requests, decoding, the scan-tool client.
- ``readings``: service 01 values -> first-class snapshot readings ("OBD.EngineSpeed", source obd-01).
- ``ecu``: the engine-ECU side that answers those services (used by the simulator).
- ``j1939``: J1939 DM1 (active DTCs, lamps) and its transport protocol (BAM, RTS/CTS).
- ``broadcast``: the vehicle's own DTC broadcast message and lamp signals (from the vehicle profile in force).
- ``vin``: VIN maker (WMI), check digit where mandatory, model year, mapping to a vehicle profile.
- ``session``: wires all of the above onto one bus and into a LiveState.
"""
