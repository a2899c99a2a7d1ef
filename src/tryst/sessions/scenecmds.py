"""Commands about scenes, agreed logs and franked messages, for any door's session."""

from __future__ import annotations

from dataclasses import dataclass

from tryst.domain import scene_commands as s
from tryst.domain.accounts import Account
from tryst.domain.errors import InvalidInput, NoPersona
from tryst.domain.personas import Persona
from tryst.domain.rooms import spoken_style
from tryst.services.actor import Actor
from tryst.services.franking import FrankedMessage, Franker
from tryst.services.scenelogs import SceneLogService
from tryst.services.scenes import SceneService


@dataclass(frozen=True)
class SceneCommands:
    scenes: SceneService
    logs: SceneLogService
    franker: Franker

    async def run(self, account: Account, persona: Persona | None,
                  command: s.SceneCommand) -> object:
        match command:
            case s.CallRed(scene_id=sid):
                return await self.scenes.red(account.id, sid)
            case s.ListLogs():
                return await self.logs.list_for(account)
            case s.ExportLog(log_id=lid, format=fmt):
                return await self.logs.export(account, lid, fmt)
            case s.WithdrawLog(log_id=lid):
                await self.logs.check_member(account, lid)
                await self.scenes.shredding(lid, lambda: self.logs.shred(lid))
                return None
            case s.VerifyMessages(messages=messages):
                return [self.franker.verify(FrankedMessage(m.sender, m.stream, m.seq, m.at,
                                                           m.text, m.tag))
                        for m in messages]
        if persona is None:
            raise NoPersona("choose a persona first (hello with a persona, or switch_persona)")
        actor = Actor(account, persona)
        sc = self.scenes
        match command:
            case s.ProposeScene():
                return await sc.propose(actor, list(command.persona_ids), command.title,
                                        list(command.tags), list(command.channels),
                                        command.choices, command.minutes)
            case s.AcceptScene(scene_id=sid, choices=choices, minutes=minutes, version=v):
                return await sc.accept(actor, sid, choices, minutes, v)
            case s.DeclineScene(scene_id=sid):
                await sc.decline(actor, sid)
                return None
            case s.CounterScene():
                return await sc.counter(actor, command.scene_id, command.title,
                                        list(command.tags), list(command.channels),
                                        command.choices, command.minutes)
            case s.StartScene(scene_id=sid):
                return await sc.start(actor, sid)
            case s.SceneSend(scene_id=sid, text=text, style=style):
                return await sc.send(actor, sid, spoken_style(style), text)
            case s.CallYellow(scene_id=sid):
                await sc.yellow(actor, sid)
                return None
            case s.ConfirmResume(scene_id=sid):
                return await sc.confirm_resume(actor, sid)
            case s.LeaveScene(scene_id=sid):
                await sc.leave(actor, sid)
                return None
            case s.EndScene(scene_id=sid):
                await sc.end(actor, sid)
                return None
            case s.GrantChannel(scene_id=sid, channel=channel, minutes=minutes):
                return await sc.grant(actor, sid, channel, minutes)
            case s.RevokeChannel(scene_id=sid, channel=channel):
                return await sc.revoke(actor, sid, channel)
            case s.ListScenes():
                return await sc.list_for(actor)
        raise InvalidInput(f"unsupported command {type(command).__name__}")
