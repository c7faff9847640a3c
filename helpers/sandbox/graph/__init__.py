"""Microsoft Graph (graph.microsoft.com): the read-only principal lookups the az CLI makes."""

__all__: list[str] = []
