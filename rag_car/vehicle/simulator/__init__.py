"""Scenario file + the vehicle's DBC -> a believable simulated vehicle on a CAN bus.

- ``scenario``: the TOML scenario format, bundled scenarios (``scenarios/*.toml``), loading and checking.
- ``profiles``: the city, highway and idle drives (target speed over time).
- ``physics``: speed, gear, engine speed, temperatures, wheel speeds, fuel, 12 V.
- ``simulated``: physics + scenario effects + the vehicle's reactions -> signal values -> frames.
- ``runtime``: the running simulator on a bus (frames at cycle times, OBD-II ECUs, second-sender check).
- ``serve``: a python-can-remote server so that other processes share the bus.
"""
