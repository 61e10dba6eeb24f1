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
JSON scalars, or objects of exactly `_type_` and `_data_` with a scalar
`_data_`, decoded by the registered transcoding of that name) is read without
the standard `json` module calling back into Python for every object. Anything
else (nested values, a name no transcoding has, what orjson will not parse, a
state that is itself a transcoded object) is read by the library, as before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder

# The value types whose JSON orjson writes exactly as `json.dumps(..., separators=(",",
# ":"), ensure_ascii=False)` does; datetimes are handed back to the registered transcoding.
FLAT_TYPES = frozenset({str, int, bool, type(None), datetime})
OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
           | orjson.OPT_PASSTHROUGH_DATACLASS)


class FlatStateTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        if type(obj) is dict and all(type(k) is str and type(v) in FLAT_TYPES
                                     for k, v in obj.items()):
            try:
                return orjson.dumps(obj, default=self._encode_obj, option=OPTIONS)
            except orjson.JSONEncodeError:
                pass  # e.g. an integer beyond 64 bits: the library writes it
        return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        try:
            state = orjson.loads(data)
        except orjson.JSONDecodeError:
            return super().decode(data)  # e.g. NaN, or a number beyond 64 bits
        if type(state) is not dict or _is_transcoded(state):
            return super().decode(data)
        for name, value in state.items():
            kind = type(value)
            if kind is dict:
                type_name = value["_type_"] if _is_transcoded(value) else None
                transcoding = self.names.get(type_name) if type(type_name) is str else None
                if transcoding is None or type(value["_data_"]) in (dict, list):
                    return super().decode(data)
                state[name] = transcoding.decode(value["_data_"])
            elif kind is list:
                return super().decode(data)
        return state


def _is_transcoded(value: dict[str, Any]) -> bool:
    """Whether a JSON object is one the library's decoder hands to a transcoding."""
    return len(value) == 2 and "_type_" in value and "_data_" in value
