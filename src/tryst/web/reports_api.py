"""HTTP for reports: POST /api/v1/reports (docs/protocol.md §15)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from tryst.domain.reports import Evidence
from tryst.services.actor import Actor
from tryst.services.reports import ReportService

ObjectId = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sender: ObjectId
    stream: Annotated[StrictStr, Field(max_length=80)]
    seq: Annotated[StrictInt, Field(ge=0, le=2**53)]
    at: Annotated[StrictStr, Field(max_length=40)]
    text: Annotated[StrictStr, Field(max_length=100_000)]
    tag: Annotated[StrictStr, Field(max_length=120)] | None = None


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    persona_id: ObjectId
    category: Literal["minor", "non_consent", "coercion", "harassment", "intimate_image",
                      "solicitation", "other"]
    target: Literal["message", "persona", "room", "scene"]
    target_id: ObjectId
    note: Annotated[StrictStr, Field(max_length=20_000)] | None = None
    evidence: Annotated[list[EvidenceIn], Field(max_length=50)] = Field(default_factory=list)


def build_reports_api(reports: ReportService, auth: Any,
                      act_as: Callable[[Any, str], Awaitable[Actor]]) -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    @api.post("/reports", tags=["safety"], status_code=201,
              summary="Report a message, persona, room or scene to the moderators")
    async def report(body: ReportIn, who: auth) -> dict[str, Any]:
        actor = await act_as(who, body.persona_id)
        filed = await reports.report(
            actor, category=body.category, target=body.target, target_id=body.target_id,
            note=body.note, evidence=[Evidence(e.sender, e.stream, e.seq, e.at, e.text, e.tag)
                                      for e in body.evidence])
        return {"case": filed.case_id, "verified": filed.verified,
                "unverified": filed.unverified}

    return api
