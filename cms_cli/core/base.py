"""The base of every model that travels (what commands, services, the API and its
client exchange): plain pydantic, its schema built on first use rather than at import,
so that a command pays only for the models it uses (a client's start-up imports every
declaration of a capability, and uses two of them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
