"""lakemesh: data products and ODCS contracts as files, turned into governed, versioned tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["LakemeshError", "Mesh", "__version__"]

from lakemesh.errors import LakemeshError

if TYPE_CHECKING:
    from lakemesh.mesh import Mesh


def __getattr__(name: str) -> Any:
    # the facade pulls in SQLAlchemy and DuckDB: import it only when asked for
    if name == "Mesh":
        from lakemesh.mesh import Mesh

        return Mesh
    raise AttributeError(name)
