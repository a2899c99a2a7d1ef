"""HTTP API for message requests, conversations, blocks, mutes and boundaries. Every
route runs the same command a WebSocket client would send, and answers with the same
JSON as the WebSocket ack (docs/protocol.md)."""


from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from tryst.conversation_presenters import render_private
from tryst.domain import commands as c
from tryst.services.actor import Actor
from tryst.sessions.private import PrivateCommands
from tryst.web import schemas as s

ActAs = Callable[[Any, str], Awaitable[Actor]]


def _given(body: Any) -> dict[str, Any]:
    return {k: v for k, v in body.model_dump(exclude_unset=True).items()
            if k != "persona_id" and v is not None}


def build_private_api(private: PrivateCommands, auth: Any, act_as: ActAs) -> APIRouter:
    """``auth`` is the dependency giving the caller (with ``.account``); ``act_as``
    checks that a persona is the caller's."""
    api = APIRouter(prefix="/api/v1")

    async def run(actor: Actor, command: c.PrivateCommand) -> dict[str, Any]:
        return render_private(command, await private.run(actor.account, actor.persona,
                                                         command))

    async def account_run(who: Any, command: c.PrivateCommand) -> dict[str, Any]:
        """Account-wide commands: blocks, mutes and presence need no persona."""
        return render_private(command, await private.run(who.account, None, command))

    # ------------------------------------------------------------ requests

    @api.post("/requests", tags=["conversations"], status_code=201,
              summary="Send a message request (the first message to a persona)")
    async def send_request(body: s.RequestIn, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, body.persona_id),
                         c.SendRequest(body.to, body.text, body.style))

    @api.get("/requests", tags=["conversations"], summary="Requests waiting for my answer")
    async def list_requests(persona_id: str, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, persona_id), c.ListRequests())

    @api.get("/requests/{conversation_id}/opening", tags=["conversations"],
             summary="Open a request's first message")
    async def open_request(conversation_id: str, persona_id: str, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, persona_id), c.OpenRequest(conversation_id))

    @api.post("/requests/{conversation_id}/accept", tags=["conversations"])
    async def accept(conversation_id: str, body: s.ActAs, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, body.persona_id), c.AcceptRequest(conversation_id))

    @api.post("/requests/{conversation_id}/decline", tags=["conversations"], status_code=204,
              summary="Decline (optionally also block); the sender is not told")
    async def decline(conversation_id: str, body: s.DeclineIn, who: auth) -> Response:
        await run(await act_as(who, body.persona_id),
                  c.DeclineRequest(conversation_id, body.block))
        return Response(status_code=204)

    # ------------------------------------------------------------ conversations

    @api.post("/conversations", tags=["conversations"], status_code=201,
              summary="Create a group conversation by inviting up to 7 personas")
    async def create_group(body: s.GroupIn, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, body.persona_id),
                         c.CreateGroup(tuple(body.personas), body.title, body.text))

    @api.get("/conversations", tags=["conversations"], summary="My conversations")
    async def list_conversations(persona_id: str, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, persona_id), c.ListConversations())

    @api.get("/conversations/{conversation_id}/events", tags=["conversations"],
             summary="History: a page of what I may still see, oldest first")
    async def history(conversation_id: str, persona_id: str, who: auth,
                      before: Annotated[int | None, Query(ge=1, le=2**53)] = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
        return await run(await act_as(who, persona_id),
                         c.ConversationHistory(conversation_id, before, limit))

    @api.post("/conversations/{conversation_id}/messages", tags=["conversations"],
              status_code=201)
    async def send(conversation_id: str, body: s.MessageIn, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, body.persona_id),
                         c.SendMessage(conversation_id, body.text, body.style))

    @api.post("/conversations/{conversation_id}/read", tags=["conversations"])
    async def read(conversation_id: str, body: s.ReadIn, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, body.persona_id), c.MarkRead(conversation_id,
                                                                        body.seq))

    @api.patch("/conversations/{conversation_id}/settings", tags=["conversations"],
               summary="Retention, typing indicators, read receipts, disappearing timer")
    async def configure(conversation_id: str, body: s.ConversationSettingsIn,
                        who: auth) -> dict[str, Any]:
        return await run(await act_as(who, body.persona_id),
                         c.ConfigureConversation(conversation_id, _given(body)))

    @api.post("/conversations/{conversation_id}/clear", tags=["conversations"],
              summary="Delete my copy of the history so far")
    async def clear(conversation_id: str, body: s.ActAs, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, body.persona_id), c.ClearConversation(
            conversation_id))

    @api.post("/conversations/{conversation_id}/leave", tags=["conversations"],
              status_code=204)
    async def leave(conversation_id: str, body: s.ActAs, who: auth) -> Response:
        await run(await act_as(who, body.persona_id), c.LeaveConversation(conversation_id))
        return Response(status_code=204)

    @api.post("/conversations/{conversation_id}/invites", tags=["conversations"],
              status_code=201, summary="Invite one more persona into a group")
    async def invite(conversation_id: str, body: s.InviteIn, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, body.persona_id),
                         c.InviteToConversation(conversation_id, body.target_persona_id))

    # ------------------------------------------------------------ blocks and mutes

    @api.get("/blocks", tags=["boundaries"], summary="Personas I blocked")
    async def list_blocks(who: auth) -> dict[str, Any]:
        return await account_run(who, c.ListBlocks())

    @api.post("/blocks", tags=["boundaries"], status_code=201,
              summary="Block a persona and, silently, its whole account")
    async def block(body: s.BlockIn, who: auth) -> dict[str, Any]:
        return await account_run(who, c.BlockPersona(body.persona_id))

    @api.delete("/blocks/{persona_id}", tags=["boundaries"], status_code=204)
    async def unblock(persona_id: str, who: auth) -> Response:
        await account_run(who, c.UnblockPersona(persona_id))
        return Response(status_code=204)

    @api.get("/mutes", tags=["boundaries"])
    async def list_mutes(who: auth) -> dict[str, Any]:
        return await account_run(who, c.ListMutes())

    @api.post("/mutes", tags=["boundaries"], status_code=201,
              summary="Hide a persona's room messages for a while")
    async def mute(body: s.MuteIn, who: auth) -> dict[str, Any]:
        return await account_run(who, c.MutePersona(body.persona_id,
                                                                 body.minutes))

    @api.delete("/mutes/{persona_id}", tags=["boundaries"], status_code=204)
    async def unmute(persona_id: str, who: auth) -> Response:
        await account_run(who, c.UnmutePersona(persona_id))
        return Response(status_code=204)

    # ------------------------------------------------------------ boundaries, presence

    @api.get("/personas/{persona_id}/boundaries", tags=["boundaries"],
             summary="Who may reach this persona, its filters and status (owner only)")
    async def get_boundaries(persona_id: str, who: auth) -> dict[str, Any]:
        return await run(await act_as(who, persona_id), c.GetBoundaries())

    @api.patch("/personas/{persona_id}/boundaries", tags=["boundaries"])
    async def set_boundaries(persona_id: str, body: s.BoundariesPatch,
                             who: auth) -> dict[str, Any]:
        return await run(await act_as(who, persona_id), c.SetBoundaries(_given(body)))

    @api.get("/presence", tags=["boundaries"], summary="Online state and status of personas")
    async def presence(who: auth, persona_id: Annotated[list[str], Query(
            min_length=1, max_length=200)]) -> dict[str, Any]:
        return await account_run(who, c.QueryPresence(tuple(persona_id)))

    return api
