"""The facade: `Mesh.open(path)` gives the CLI, notebooks, the API server and tests one API.

`Mesh` holds the workspace, the catalog, the lakehouse and the guard; each family of actions is a
namespace on it (`mesh.tables`, `mesh.quality`, `mesh.governance`, `mesh.streams`) whose methods go
through the guard (`mesh.guard`: lock, authorize, act, audit) and leave the work to the domain packages.
"""

from lakemesh.mesh.core import Mesh
from lakemesh.mesh.validation import ValidationReport

__all__ = ["Mesh", "ValidationReport"]
