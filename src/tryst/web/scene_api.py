"""HTTP API for agreed scene logs and franked-message verification (scenes themselves
are live and WebSocket-only). Answers match the WebSocket acks (docs/protocol.md)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from tryst.domain import scene_commands as sc
from tryst.scene_presenters import render_scene
from tryst.services.scenelogs import Export
from tryst.sessions.private import PrivateCommands


class FrankedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sender: Annotated[str, Field(min_length=1, max_length=64)]
    stream: Annotated[str, Field(max_length=80)]
    seq: Annotated[int, Field(ge=0, le=2**53)]
    at: Annotated[str, Field(max_length=40)]
    text: Annotated[str, Field(max_length=100_000)]
    tag: Annotated[str, Field(max_length=120)]


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: Annotated[list[FrankedIn], Field(min_length=1, max_length=100)]


def build_scene_api(private: PrivateCommands, auth: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    async def run(who: Any, command: sc.SceneCommand) -> Any:
        return await private.run(who.account, None, command)

    @api.get("/scene-logs", tags=["scenes"], summary="Agreed scene logs I took part in")
    async def list_logs(who: auth) -> dict[str, Any]:
        command = sc.ListLogs()
        return render_scene(command, await run(who, command))

    @api.get("/scene-logs/{log_id}/export", tags=["scenes"],
             summary="Download a fingerprinted copy of a log (text or HTML)")
    async def export_log(log_id: str, who: auth,
                         format: Annotated[Literal["text", "html"], Query()] = "text"
                         ) -> Response:
        result = await run(who, sc.ExportLog(log_id, format))
        assert isinstance(result, Export)
        media = "text/html" if format == "html" else "text/plain"
        return Response(result.content, media_type=f"{media}; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="{result.filename}"',
            "x-tryst-export": result.id, "cache-control": "no-store"})

    @api.delete("/scene-logs/{log_id}", tags=["scenes"], status_code=204,
                summary="Withdraw consent: the log is shredded for everyone")
    async def withdraw_log(log_id: str, who: auth) -> Response:
        await run(who, sc.WithdrawLog(log_id))
        return Response(status_code=204)

    @api.post("/franking/verify", tags=["scenes"],
              summary="Check that messages are exactly as the server delivered them")
    async def verify(body: VerifyIn, who: auth) -> dict[str, Any]:
        command = sc.VerifyMessages(tuple(sc.FrankedLine(
            m.sender, m.stream, m.seq, m.at, m.text, m.tag) for m in body.messages))
        return render_scene(command, await run(who, command))

    return api
