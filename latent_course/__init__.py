"""Helpers for the latent-course notebooks: data, provided steps, plotting, self-checks and course tooling."""

__version__ = "0.1.0"
