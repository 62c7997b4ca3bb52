"""facemind: facial videos and questionnaires into validated mental-health models, with the SDI."""

__version__ = "0.1.0"
