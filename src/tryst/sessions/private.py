"""Commands about private conversations and boundaries, for any door's session."""

from __future__ import annotations

from dataclasses import dataclass

from tryst.domain import commands as c
from tryst.domain import scene_commands as sc
from tryst.domain.accounts import Account
from tryst.domain.errors import InvalidInput, NoPersona, NotFound
from tryst.domain.media import MEDIA_TYPES, MediaCommand, PostImage, ViewMedia
from tryst.domain.personas import Persona
from tryst.domain.rooms import spoken_style
from tryst.ids import PersonaId
from tryst.services.actor import Actor
from tryst.services.boundaries import BoundaryService
from tryst.services.conversations import ConversationService
from tryst.services.media import MediaService
from tryst.services.requests import RequestService
from tryst.sessions.scenecmds import SceneCommands


@dataclass(frozen=True)
class PrivateCommands:
    requests: RequestService
    conversations: ConversationService
    boundaries: BoundaryService
    scenes: SceneCommands
    media: MediaService | None = None

    async def run(self, account: Account, persona: Persona | None,
                  command: c.PrivateCommand | sc.SceneCommand | MediaCommand) -> object:
        """Execute one command; its typed result is rendered by the door. Blocks, mutes
        and presence queries belong to the account; the rest need a persona."""
        if isinstance(command, sc.SCENE_TYPES):
            return await self.scenes.run(account, persona, command)
        conv, req, bnd = self.conversations, self.requests, self.boundaries
        match command:
            case c.BlockPersona(persona_id=pid):
                return await bnd.block(account, pid)
            case c.UnblockPersona(persona_id=pid):
                await bnd.unblock(account, pid)
                return None
            case c.ListBlocks():
                return await bnd.blocks(account)
            case c.MutePersona(persona_id=pid, minutes=minutes):
                return await bnd.mute(account, pid, minutes)
            case c.UnmutePersona(persona_id=pid):
                await bnd.unmute(account, pid)
                return None
            case c.ListMutes():
                return await bnd.mutes(account)
            case c.QueryPresence(persona_ids=ids):
                return await bnd.presence_of(account.id, [PersonaId(p) for p in ids])
        if persona is None:
            raise NoPersona("choose a persona first (hello with a persona, or switch_persona)")
        actor = Actor(account, persona)
        match command:
            case c.SendRequest(to_persona_id=to, text=text, style=s, confirm=confirm):
                return await req.request(actor, to, text, spoken_style(s), confirm)
            case c.CreateGroup(persona_ids=ids, title=title, text=text):
                return await req.create_group(actor, list(ids), title, text)
            case c.InviteToConversation(conversation_id=cid, persona_id=pid):
                return await req.invite(actor, cid, pid)
            case c.ListRequests():
                return await req.incoming(actor)
            case c.OpenRequest(conversation_id=cid):
                return await req.opening(actor, cid)
            case c.AcceptRequest(conversation_id=cid):
                await req.accept(actor, cid)
                return await conv.get(actor, cid)
            case c.DeclineRequest(conversation_id=cid, block=block):
                inviter = await req.decline(actor, cid)
                if block:
                    await bnd.block(account, inviter)
                return None
            case c.SendMessage(conversation_id=cid, text=text, style=s, confirm=confirm):
                return await conv.send(actor, cid, spoken_style(s), text, confirm)
            case c.MarkRead(conversation_id=cid, seq=seq):
                return await conv.mark_read(actor, cid, seq)
            case c.SetTyping(conversation_id=cid, typing=typing):
                await conv.typing(actor, cid, typing)
                return None
            case c.ConfigureConversation(conversation_id=cid, changes=changes):
                return await conv.configure(actor, cid, changes)
            case c.ClearConversation(conversation_id=cid):
                return await conv.clear(actor, cid)
            case c.LeaveConversation(conversation_id=cid):
                await conv.leave(actor, cid)
                return None
            case c.ListConversations():
                return await conv.list_for(actor)
            case c.ConversationHistory(conversation_id=cid, before=before, limit=limit):
                return await conv.history(actor, cid, before, limit)
            case c.SetBoundaries(changes=changes):
                return await bnd.update(actor, changes)
            case c.GetBoundaries():
                return await bnd.get(actor)
        if isinstance(command, MEDIA_TYPES):
            return await self._media(actor, command)
        raise InvalidInput(f"unsupported command {type(command).__name__}")


    async def _media(self, actor: Actor, command: MediaCommand) -> object:
        if self.media is None:
            raise NotFound("images are not enabled on this server")
        match command:
            case PostImage():
                return await self.media.post(
                    actor, command.media_id, room=command.room_id,
                    conversation=command.conversation_id, scene=command.scene_id,
                    caption=command.caption, view_once=command.view_once)
            case ViewMedia(media_id=mid, reveal=reveal):
                return await self.media.view(actor, mid, reveal)


PRIVATE_TYPES = (c.SendRequest, c.CreateGroup, c.InviteToConversation, c.ListRequests,
                 c.OpenRequest, c.AcceptRequest, c.DeclineRequest, c.SendMessage, c.MarkRead,
                 c.SetTyping, c.ConfigureConversation, c.ClearConversation,
                 c.LeaveConversation, c.ListConversations, c.ConversationHistory,
                 c.BlockPersona, c.UnblockPersona, c.ListBlocks, c.MutePersona,
                 c.UnmutePersona, c.ListMutes, c.SetBoundaries, c.GetBoundaries,
                 c.QueryPresence, *sc.SCENE_TYPES, *MEDIA_TYPES)
