"""JSON answers encoded by orjson: the same compact UTF-8 text as the framework's own
`JSONResponse`, for a fraction of the time."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse as FrameworkJSONResponse


class JSONResponse(FrameworkJSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
