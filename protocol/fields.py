"""Field types several messages share: free-form objects, counts and list pages.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec

JsonObject = dict[str, Any]


MAX_PAGE_SIZE: Final = 1000
"""The most entries one page of a list answer carries (each ``limit``'s maximum and default)."""


PageLimit = Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE)]


PageOffset = Annotated[int, msgspec.Meta(ge=0)]


NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
