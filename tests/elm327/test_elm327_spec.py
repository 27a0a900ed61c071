"""The elm327: kind in the one bus-spec notation: what parses, what is refused and why, what opens it."""

from __future__ import annotations

import pytest

from rag_car.errors import BusError
from rag_car.vehicle.bus import create_bus
from rag_car.vehicle.elm327.feed import Elm327Feed, plan_polling
from rag_car.vehicle.elm327.link import tcp_address
from rag_car.vehicle.feed import Feed, create_feed
from rag_car.vehicle.spec import parse_bus_spec

from elm_helpers import new_state


def test_elm327_specs_parse():
    spec = parse_bus_spec("elm327:/dev/ttyUSB0?baud=115200&protocol=6")
    assert (spec.kind, spec.channel, spec.options) == ("elm327", "/dev/ttyUSB0", {"baud": "115200", "protocol": "6"})
    assert tcp_address(spec) is None
    spec = parse_bus_spec("elm327:socket://192.168.0.10:35000")
    assert tcp_address(spec) == ("192.168.0.10", 35000)
    assert parse_bus_spec("ELM327:/dev/rfcomm0?protocol=auto").channel == "/dev/rfcomm0"


@pytest.mark.parametrize("text,words", [
    ("elm327:", "not valid"),
    ("elm327:http://192.168.0.10:35000", "only socket://"),
    ("elm327:socket://192.168.0.10", "socket://HOST:PORT"),
    ("elm327:/dev/ttyUSB0?baud=0", "not a positive whole number"),
    ("elm327:/dev/ttyUSB0?protocol=Z", "not an ELM327 protocol"),
    ("elm327:/dev/ttyUSB0?speed=2", "unknown option 'speed'"),
    ("elm372:/dev/ttyUSB0", "did you mean elm327"),
])
def test_elm327_bad_specs_say_why(text, words):
    with pytest.raises(BusError) as info:
        parse_bus_spec(text)
    assert words in str(info.value)


def test_elm327_is_polled_not_opened_as_a_can_bus():
    with pytest.raises(BusError) as info:
        create_bus("elm327:/dev/ttyUSB0")
    assert "not a CAN bus" in info.value.message and "monitor" in info.value.fix
    state = new_state()
    assert isinstance(create_feed("elm327:socket://127.0.0.1:35000", state), Elm327Feed)
    assert isinstance(create_feed("virtual:x", state), Feed)
    # without a supported-PID answer the default PIDs are polled; with one, only supported PIDs we decode
    assert plan_polling(None).live[:3] == (0x01, 0x0C, 0x05)
    assert plan_polling({0x01, 0x0C, 0x3C, 0x03}).live == (0x01, 0x0C, 0x3C)
