"""The bottom layer, imported by every other package and importing none of them:
facts (constants finding texts need), paths, bounded file reads and safe YAML/JSON (textio),
the one scrubber and fingerprints (redact),
environment scoping (envscope), leak scans (leaks) and the one log quieter (logs)."""

__all__: list[str] = []
