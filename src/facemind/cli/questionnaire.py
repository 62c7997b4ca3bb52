"""Questionnaire commands: instruments, score, sdi."""

from __future__ import annotations
