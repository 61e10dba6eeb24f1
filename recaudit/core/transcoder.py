"""The library's JSON transcoder, writing the same bytes at a third of the cost.

Every command stores one or two events, and mapping each event's state to JSON
with the library's `JSONTranscoder` (the standard `json` module, calling back
into Python for every datetime) was one of the larger costs on the writer
thread. An event's state is nearly always a flat mapping of names to strings,
whole numbers, booleans, None and datetimes; such a state is written by orjson,
its datetimes through the transcodings registered with the library (so a
datetime is still `{"_type_":"datetime_iso","_data_":...}`). Anything else, and
any state orjson will not write (a number beyond 64 bits), is written by the
library as before.

Reading mirrors it: a state that orjson parses into a flat mapping (its values
strings, integers, booleans and nulls, or objects of exactly `_type_` and
`_data_` with such a `_data_`, decoded by the registered transcoding of that
name) is read without the standard `json` module calling back into Python for
every object. Anything else (nested values, numbers with a fraction, a name no
transcoding has, what orjson will not parse, a state that is itself a
transcoded object) is read by the library, as before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder

# The value types whose JSON orjson writes exactly as `json.dumps(..., separators=(",",
# ":"), ensure_ascii=False)` does; datetimes go through the registered transcoding.
FLAT_TYPES = frozenset({str, int, bool, type(None), datetime})
# Values read back by the library: nested ones, and every number with a fraction or an
# exponent (orjson also reads an integer beyond 64 bits as one, where `json` keeps it whole).
NOT_FLAT = (dict, list, float)
OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
           | orjson.OPT_PASSTHROUGH_DATACLASS)


class FlatStateTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        flat = self._flat(obj)
        if flat is not None:
            try:
                return orjson.dumps(flat, default=self._encode_obj, option=OPTIONS)
            except orjson.JSONEncodeError:
                pass  # e.g. an integer beyond 64 bits: the library writes it
        return super().encode(obj)

    def _flat(self, obj: Any) -> dict[str, Any] | None:
        """`obj` ready for orjson if it is a flat state, else None. With the library's
        ISO transcoding of datetimes registered, each datetime is put in its transcoded
        form here (the same object `_encode_obj` makes), rather than by a call back from
        orjson for each one."""
        if type(obj) is not dict:
            return None
        dates = self.types.get(datetime)
        iso = dates.name if type(dates) is DatetimeAsISO else None
        flat: dict[str, Any] = {}
        for key, value in obj.items():
            kind = type(value)
            if type(key) is not str or kind not in FLAT_TYPES:
                return None
            flat[key] = {"_type_": iso, "_data_": value.isoformat()} \
                if kind is datetime and iso is not None else value
        return flat

    def decode(self, data: bytes) -> Any:
        try:
            state = orjson.loads(data)
        except orjson.JSONDecodeError:
            return super().decode(data)  # e.g. NaN
        if type(state) is not dict or _is_transcoded(state):
            return super().decode(data)
        for name, value in state.items():
            kind = type(value)
            if kind is dict:
                type_name = value["_type_"] if _is_transcoded(value) else None
                transcoding = self.names.get(type_name) if type(type_name) is str else None
                if transcoding is None or type(value["_data_"]) in NOT_FLAT:
                    return super().decode(data)
                state[name] = transcoding.decode(value["_data_"])
            elif kind in NOT_FLAT:
                return super().decode(data)
        return state


def _is_transcoded(value: dict[str, Any]) -> bool:
    """Whether a JSON object is one the library's decoder hands to a transcoding."""
    return len(value) == 2 and "_type_" in value and "_data_" in value
