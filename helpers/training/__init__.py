"""Training mode: a class of trainees, their exercises and the facilitator's dashboard."""

__all__: list[str] = []
