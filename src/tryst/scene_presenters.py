"""Scenes, scene events and logs as JSON-ready data (WebSocket and HTTP alike)."""

from __future__ import annotations

from typing import Any

from tryst.domain import scene_commands as s
from tryst.domain.events import SceneEvent
from tryst.domain.scenes import ParticipantState, Scene
from tryst.ids import scene_stream
from tryst.services.scenelogs import Export, LogSummary
from tryst.services.scenes import SceneView

# How each participant's state reads to the others: a blocked or out-of-reach invitee
# looks exactly like one who has not answered.
_SHOWN = {ParticipantState.SUPPRESSED: "invited"}


def scene_event(e: SceneEvent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "event", "stream": e.stream, "seq": e.seq, "at": e.at.isoformat(),
        "kind": e.kind,
        "persona": {"id": e.persona_id, "name": e.persona_name} if e.persona_id else None,
        "text": e.text}
    if e.channel is not None:
        out["channel"] = e.channel
    if e.tag is not None:
        out["tag"] = e.tag
    if e.data:
        out["data"] = e.data
    return out


def card(scene: Scene) -> dict[str, Any]:
    return {"title": scene.card.title, "tags": list(scene.card.tags),
            "channels": sorted(c.value for c in scene.card.channels),
            "version": scene.card.version}


def scene(v: SceneView) -> dict[str, Any]:
    sc = v.scene
    return {
        "id": sc.id, "stream": scene_stream(sc.id), "status": sc.status.value,
        "proposer": sc.proposer, "card": card(sc), "created_at": sc.created_at.isoformat(),
        "started_at": sc.started_at.isoformat() if sc.started_at else None,
        "last_seq": v.last_seq, "logging": v.logging,
        "paused_by": sc.paused_by,
        "waiting_for": sorted(sc.present - sc.confirmed) if sc.paused_by else [],
        "conflicts": v.conflicts,
        "me": {"persona_id": v.me.persona_id, "state": v.me.state.value,
               "grants": {ch.value: {"granted_at": g.granted_at.isoformat(),
                                     "until": g.until.isoformat()}
                          for ch, g in sorted(v.me.grants.items()) if g.revoked_at is None}},
        "participants": [
            {"persona": {"id": p.persona_id, "name": p.name},
             "state": _SHOWN.get(p.state, p.state.value),
             "channels": sorted(ch.value for ch, g in p.grants.items()
                                if g.revoked_at is None)}
            for p in sc.participants if p.state is not ParticipantState.WITHDRAWN],
    }


def log_summary(x: LogSummary) -> dict[str, Any]:
    return {"id": x.log.id, "title": x.title, "created_at": x.log.created_at.isoformat(),
            "expires_at": x.log.expires_at.isoformat(),
            "shredded_at": x.log.shredded_at.isoformat() if x.log.shredded_at else None,
            "participants": [{"id": m.persona_id, "name": m.persona_name}
                             for m in x.members]}


def export(x: Export) -> dict[str, Any]:
    return {"export": x.id, "format": x.format, "filename": x.filename, "content": x.content}


def render_scene(command: s.SceneCommand, result: Any) -> dict[str, Any]:
    """The ack's ``result`` for scene, log and verification commands."""
    match command:
        case s.ProposeScene() | s.AcceptScene() | s.CounterScene() | s.StartScene() \
                | s.ConfirmResume() | s.GrantChannel() | s.RevokeChannel():
            return {"scene": scene(result)}
        case s.SceneSend():
            return {"stream": result.stream, "seq": result.seq, "at": result.at.isoformat(),
                    "tag": result.tag}
        case s.CallRed():
            return {"paused": result}
        case s.ListScenes():
            return {"scenes": [scene(v) for v in result]}
        case s.ListLogs():
            return {"logs": [log_summary(x) for x in result]}
        case s.ExportLog():
            return export(result)
        case s.VerifyMessages():
            return {"results": [{"valid": ok} for ok in result]}
    return {}
