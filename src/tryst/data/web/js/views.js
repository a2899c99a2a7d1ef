// Screens: welcome (sign up, log in), personas, rooms, a room, requests, conversations,
// settings. Every view is built from state with h(), never from HTML strings.
import { api } from "./net.js";
import { formatted, h } from "./markup.js";
import { imageLine, protectView, shareButton } from "./images.js";
import { reportView } from "./safety.js";
import {
  announce, go, isStaff, loadWho, logout, markRead, problem, refreshConversations, refreshRequests,
  render, setStatus, settle, showError, signedIn, softRender, state, STATUSES, statusText, streamLines,
  usePersona,
} from "./app.js";

const LEVELS = ["fave", "yes", "maybe", "no"];

function field(label, input, hint) {
  const id = input.id || `f${Math.random().toString(36).slice(2, 8)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
           hint ? h("small", {}, hint) : null);
}

function form(onsubmit, ...children) {
  const el = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    const button = el.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      await onsubmit(new FormData(el), el);
    } catch (err) {
      showError(el, err);
    } finally {
      if (button) button.disabled = false;
    }
  } }, ...children);
  return el;
}

// A click handler that reports failures instead of dropping them.
export function safely(fn) {
  return async (...args) => {
    try { await fn(...args); } catch (err) { announce(problem(err)); }
  };
}

// ------------------------------------------------------------------ lines

// A name someone can act on. In a room, its menu also holds what the room's owners and
// moderators may do to that persona.
function personaButton(persona, roomId) {
  if (!persona || !persona.id) return h("span", {}, persona ? persona.name : "");
  if (persona.id === state.persona?.id) return h("strong", {}, persona.name);
  return h("button", { type: "button", class: "who-button", "aria-expanded": "false",
    onclick: (e) => personaMenu(e.currentTarget, persona, roomId) }, persona.name);
}

// ------------------------------------------------------------------ room roles

// The role a persona holds in a room, as the room's who list last said.
export function roleIn(roomId, personaId) {
  return (state.who.get(roomId) || []).find((m) => m.persona.id === personaId)?.role || null;
}

// What the server allows (docs/protocol.md 9.1): the client only hides what would be
// refused; the server decides, and a refusal is shown.
const canModerate = (role) => isStaff() || role === "owner" || role === "moderator";
const canSetRoles = (role) => isStaff() || role === "owner";
const canRemove = (mine, theirs) => isStaff() || mine === "owner"
  || (mine === "moderator" && theirs === "member");
const ROLE_NAMES = { owner: "an owner", moderator: "a moderator", member: "a member" };

function roomPath(roomId, tail = "") {
  return `/rooms/${encodeURIComponent(roomId)}${tail}`;
}

// A refused action in a room is shown in the room, where it was tried; elsewhere it is
// announced.
function actionFailed(err) {
  const box = document.getElementById("action-error");
  if (box) box.textContent = problem(err);
  else announce(problem(err));
}

function actionDone(text) {
  const box = document.getElementById("action-error");
  if (box) box.textContent = "";
  announce(text);
}

function moderationButtons(roomId, persona, act) {
  if (!roomId || !state.rooms.has(roomId)) return [];
  const mine = roleIn(roomId, state.persona.id);
  const theirs = roleIn(roomId, persona.id);
  if (!theirs) return []; // not (or no longer) in the room
  const buttons = [];
  if (canSetRoles(mine)) {
    for (const role of ["owner", "moderator", "member"]) {
      if (role === theirs) continue;
      buttons.push(h("button", { type: "button", onclick: act(async () => {
        await api("POST", roomPath(roomId, "/roles"), { persona_id: state.persona.id,
          target_persona_id: persona.id, role });
        actionDone(`${persona.name} is now ${ROLE_NAMES[role]} here.`);
        loadWho(roomId);
      }) }, `Make ${persona.name} ${ROLE_NAMES[role]}`));
    }
  }
  if (canRemove(mine, theirs)) {
    buttons.push(h("button", { type: "button", class: "danger", onclick: act(async () => {
      await api("POST", roomPath(roomId, "/kick"), { persona_id: state.persona.id,
        target_persona_id: persona.id });
      actionDone(`${persona.name} was removed from the room.`);
    }) }, `Remove ${persona.name} from the room`));
  }
  return buttons;
}

// Actions on a persona: a small disclosure of plain buttons, placed over the page (not
// inside the message log, whose live region would read it out), closed by Escape or by
// moving focus away, and handing focus back to the name it came from.
function personaMenu(anchor, persona, roomId) {
  document.querySelectorAll(".menu").forEach((m) => m.remove());
  let open = true;
  // Once only: removing the focused menu fires focusout, which must not remove it again.
  const dismiss = (refocus) => {
    if (!open) return;
    open = false;
    anchor.setAttribute("aria-expanded", "false");
    menu.remove();
    if (refocus && document.body.contains(anchor)) anchor.focus();
  };
  const close = () => dismiss(true);
  const act = (fn) => async () => {
    try { await fn(); } catch (err) { actionFailed(err); }
    close();
  };
  const box = anchor.getBoundingClientRect();
  const menu = h("div", { class: "menu", role: "group", "aria-label": `Actions for ${persona.name}` },
    h("button", { type: "button", onclick: act(async () => {
      await state.conn.send("block", { persona: persona.id });
      announce(`Blocked ${persona.name}. They will not see that you did.`);
      for (const roomId of state.rooms.keys()) loadWho(roomId);
      softRender();
    }) }, `Block ${persona.name}`),
    h("button", { type: "button", onclick: act(async () => {
      await state.conn.send("mute", { persona: persona.id, minutes: 60 });
      announce(`Muted ${persona.name} for an hour.`);
    }) }, "Mute for an hour"),
    h("button", { type: "button", onclick: act(async () => {
      go(`new-request/${encodeURIComponent(persona.name)}`);
    }) }, "Send a message request"),
    h("button", { type: "button", onclick: act(async () => {
      go(`report/${encodeURIComponent(persona.id)}`);
    }) }, `Report ${persona.name}`),
    moderationButtons(roomId, persona, act),
    h("button", { type: "button", onclick: close }, "Close"));
  menu.addEventListener("keydown", (e) => { if (e.key === "Escape") close(); });
  menu.addEventListener("focusout", (e) => {
    if (!menu.contains(e.relatedTarget)) setTimeout(() => dismiss(false));
  });
  // Position with the CSSOM (not a style attribute, which the CSP forbids).
  menu.style.top = `${window.scrollY + box.bottom}px`;
  menu.style.left = `${window.scrollX + box.left}px`;
  document.body.append(menu);
  // Kept on the screen, however narrow.
  const width = menu.getBoundingClientRect().width;
  const room = document.documentElement.clientWidth - width - 8;
  menu.style.left = `${window.scrollX + Math.max(4, Math.min(box.left, room))}px`;
  anchor.setAttribute("aria-expanded", "true");
  menu.querySelector("button").focus();
}

function line(event) {
  const time = new Date(event.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const who = event.persona;
  const stamp = h("time", { datetime: event.at }, time);
  const text = event.text ? formatted(event.text) : "";
  const roomId = event.stream?.startsWith("room:") ? event.stream.slice(5) : null;
  const name = personaButton(who, roomId);
  switch (event.kind) {
    case "say":
      return h("p", { class: "line say" }, stamp, " ", name, ": ", text);
    case "pose":
      return h("p", { class: "line pose" }, stamp, " ", name, " ", text);
    case "ooc":
      return h("p", { class: "line ooc" }, stamp, " ((", name, ": ", text, "))");
    case "whisper":
      return h("p", { class: "line whisper" }, stamp, " ", who.name, " whispers to ",
               event.to.name, ": ", text);
    case "join":
      return who ? h("p", { class: "line meta" }, stamp, ` ${who.name} joined`) : null;
    case "leave":
      if (!who) return null;
      return h("p", { class: "line meta" }, stamp, event.data?.reason === "kicked"
        ? ` ${who.name} was removed from the room` : ` ${who.name} left`);
    case "topic":
      return h("p", { class: "line meta" }, stamp, event.text
        ? ` ${who?.name || "Someone"} set the topic: ${event.text}`
        : ` ${who?.name || "Someone"} cleared the topic`);
    case "system":
      // A notice from the room's owners or moderators (the server's own carry data).
      if (roomId && who?.name && !event.data) {
        return h("p", { class: "line notice" }, stamp, " ", h("strong", {}, `Notice from ${who.name}:`), " ", text);
      }
      return h("p", { class: "line meta" }, stamp, " ", event.text);
    case "notice":
      return h("p", { class: "line meta" }, stamp, " ", event.text);
    case "image":
      return imageLine(event, state.conn, stamp, name);
    default: {
      const notice = sceneNotice(event);
      return notice ? h("p", { class: "line meta" }, stamp, " ", notice) : null;
    }
  }
}

// A time something ends, as a person reads it: the time today, or the day and time.
export function when(iso) {
  const at = new Date(iso);
  const sameDay = at.toDateString() === new Date().toDateString();
  return at.toLocaleString([], sameDay ? { hour: "2-digit", minute: "2-digit" }
    : { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

// How a scene's own notices read in its log.
function sceneNotice(event) {
  const who = event.persona?.name || "";
  const d = event.data || {};
  switch (event.kind) {
    case "proposed": return `${who} proposed the scene`;
    case "countered": return `${who} proposed a changed card (version ${d.card?.version})`;
    case "accepted": return `${who} accepted: ${(d.channels || []).join(", ")}`;
    case "declined": return `${who} declined`;
    case "started": return "The scene started";
    case "red": return `${who} called RED: the scene is paused for everyone`;
    case "yellow": return `${who} called yellow: slow down`;
    case "resume_confirmed": return `${who} is ready to resume`;
    case "resumed": return "Everyone confirmed: the scene resumed";
    case "consent": return d.granted
      ? `${who} shares ${d.channel}${d.until ? ` until ${when(d.until)}` : ""}`
      : `${who} stopped sharing ${d.channel}`;
    case "logging": return d.shredded ? "The log was shredded: nothing more is kept" : null;
    case "left": return `${who} left`;
    case "ended": return "The scene ended";
    default: return null;
  }
}

function log(stream) {
  const el = h("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0",
                        "aria-label": "Messages" });
  for (const event of streamLines(stream)) {
    const item = line(event);
    if (item) el.append(item);
  }
  return el;
}

// What the composer's text means: /me and /pose pose, /ooc speaks out of character,
// /whisper NAME text (or /w) whispers; anything else is said.
export function parseComposer(text) {
  const m = text.match(/^\/(\w+)\s*([\s\S]*)$/);
  if (!m) return { style: "say", text };
  const [, command, rest] = m;
  if (command === "me" || command === "pose") return { style: "pose", text: rest };
  if (command === "ooc") return { style: "ooc", text: rest };
  if (command === "say") return { style: "say", text: rest };
  if (command === "w" || command === "whisper") {
    // The name may have spaces: the room decides where it ends, from who is there.
    if (rest) return { style: "whisper", rest };
  }
  return { error: `unknown command /${command}: try /me, /ooc or /whisper NAME text` };
}

function composer(send, { whisper = false, label = "Message" } = {}) {
  const input = h("textarea", { rows: 2, name: "text", "aria-label": label,
    placeholder: whisper ? "Say something. /me poses, /ooc out of character, /w NAME whispers."
                         : "Say something. /me poses, /ooc out of character.",
    onkeydown: (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit("auto"); }
    } });
  const box = h("div", { class: "composer" });
  async function submit(style) {
    const raw = input.value.trim();
    if (!raw) return;
    let parsed = parseComposer(raw);
    if (style !== "auto" && !raw.startsWith("/")) parsed = { style, text: raw };
    if (parsed.error) { showError(box, new Error(parsed.error)); return; }
    if (parsed.style === "whisper" && !whisper) {
      showError(box, new Error("whispers are for rooms")); return;
    }
    input.value = "";
    box.querySelector(".error")?.remove();
    try {
      await send(parsed);
    } catch (err) {
      if (!input.value) input.value = raw; // nothing lost: put it back to try again
      showError(box, err);
    }
  }
  box.append(input, h("div", { class: "buttons" },
    h("button", { type: "button", onclick: () => submit("say") }, "Say"),
    h("button", { type: "button", onclick: () => submit("pose") }, "Pose"),
    h("button", { type: "button", onclick: () => submit("ooc") }, "OOC")));
  return box;
}

// ------------------------------------------------------------------ welcome

function welcome() {
  const register = form(async (data) => {
    if (!data.get("adult")) throw new Error("You must confirm you are 18 or older.");
    await api("POST", "/accounts", { username: data.get("username"), password: data.get("password"),
      confirm_adult: true, session: "cookie" });
    state.account = await api("GET", "/accounts/me");
    await signedIn();
    go("personas");
  },
  h("h2", {}, "Create an account"),
  field("Username", h("input", { name: "username", autocomplete: "username", required: true })),
  field("Password", h("input", { name: "password", type: "password", autocomplete: "new-password",
    required: true, minlength: 10 }), "At least 10 characters."),
  h("div", { class: "check" }, h("input", { type: "checkbox", name: "adult", id: "adult", required: true }),
    h("label", { for: "adult" }, "I confirm I am 18 or older. Tryst is for adults only.")),
  h("button", { type: "submit" }, "Create account"));
  const login = form(async (data) => {
    await api("POST", "/sessions", { username: data.get("username"), password: data.get("password"),
      session: "cookie" });
    state.account = await api("GET", "/accounts/me");
    await signedIn();
    go("rooms");
  },
  h("h2", {}, "Log in"),
  field("Username", h("input", { name: "username", autocomplete: "username", required: true })),
  field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password",
    required: true })),
  h("button", { type: "submit" }, "Log in"));
  return h("section", { class: "welcome" },
    h("p", { class: "lead" }, "A place for adults to be close at a distance: rooms, private conversations and scenes where consent is something the server enforces."),
    h("div", { class: "two" }, register, login));
}

// ------------------------------------------------------------------ personas

function interestsEditor(current = {}) {
  return h("fieldset", { class: "interests" }, h("legend", {}, "Interests and limits"),
    h("p", { class: "hint" }, "Fave, yes, maybe or no for each tag. Leave blank for no opinion."),
    state.tags.map((cat) => h("div", { class: "category" }, h("h4", {}, cat.name),
      cat.tags.map((t) => {
        const select = h("select", { name: `tag:${t.id}`, "aria-label": `${t.name}` },
          h("option", { value: "" }, "—"),
          LEVELS.map((l) => h("option", { value: l, selected: current[t.id] === l }, l)));
        return h("label", { class: "tag", title: t.description }, h("span", {}, t.name), select);
      }))));
}

function personaFields(data) {
  const interests = {};
  for (const [key, value] of data.entries()) {
    if (key.startsWith("tag:") && value) interests[key.slice(4)] = value;
  }
  return {
    name: data.get("name"), age: Number(data.get("age")), pronouns: data.get("pronouns") || "",
    short_description: data.get("short_description") || "", interests,
    hard_limits: (data.get("hard_limits") || "").split("\n").map((s) => s.trim()).filter(Boolean),
    adult_content: Boolean(data.get("adult_content")),
  };
}

function personaForm(existing) {
  const p = existing || {};
  return form(async (data) => {
    const body = personaFields(data);
    if (existing) {
      const updated = await api("PATCH", `/personas/${existing.id}`, body);
      state.personas = state.personas.map((x) => (x.id === updated.id ? updated : x));
      announce("Persona saved.");
      // The connection acts with the persona as it was: reconnect to use the new one.
      if (state.persona?.id === updated.id) await usePersona(updated, { stay: true });
      else render();
    } else {
      const created = await api("POST", "/personas", body);
      state.personas.push(created);
      await usePersona(created);
    }
  },
  h("h3", {}, existing ? `Edit ${p.name}` : "New persona"),
  field("Name", h("input", { name: "name", required: true, maxlength: 32, value: p.name || "" })),
  field("Age", h("input", { name: "age", type: "number", min: 18, required: true, value: p.age || "" }),
        "Personas are adults: 18 or older."),
  field("Pronouns", h("input", { name: "pronouns", value: p.pronouns || "" })),
  field("Short description", h("input", { name: "short_description", value: p.short_description || "" })),
  interestsEditor(p.interests),
  field("Hard limits", h("textarea", { name: "hard_limits", rows: 3 }, (p.hard_limits || []).join("\n")),
        "One per line: never, whatever the scene."),
  h("div", { class: "check" }, h("input", { type: "checkbox", name: "adult_content", id: `adult-${p.id || "new"}`,
    checked: Boolean(p.adult_content) }), h("label", { for: `adult-${p.id || "new"}` }, "Show me adult rooms and content")),
  h("button", { type: "submit" }, existing ? "Save" : "Create persona"));
}

function personas() {
  return h("section", {}, h("h2", {}, "Your personas"),
    state.personas.length ? h("ul", { class: "cards" }, state.personas.map((p) => h("li", {},
      h("strong", {}, p.name), ` · ${p.age}${p.pronouns ? ` · ${p.pronouns}` : ""}`,
      p.id === state.persona?.id ? h("span", { class: "badge" }, "in use")
        : h("button", { type: "button", onclick: () => usePersona(p) }, `Use ${p.name}`),
      h("details", {}, h("summary", {}, "Edit"), personaForm(p))))) :
      h("p", {}, "Create a persona to start: it is who others see."),
    personaForm(null));
}

// ------------------------------------------------------------------ rooms

function rooms() {
  const results = h("ul", { class: "cards", "aria-label": "Rooms found" });
  async function search(q) {
    const found = await state.conn.send("list_rooms", q ? { query: q } : {});
    results.replaceChildren(...found.rooms.map((r) => h("li", {},
      h("strong", {}, r.name), ` · ${r.member_count} here · ${r.rating}`,
      r.topic ? h("p", {}, r.topic) : null,
      h("button", { type: "button", onclick: safely(async () => {
        await state.conn.send("join", { room: r.id });
        state.rooms.set(r.id, r);
        go(`room/${r.id}`);
      }) }, state.rooms.has(r.id) ? "Open" : `Join ${r.name}`))));
    if (!found.rooms.length) results.append(h("li", {}, "No rooms found."));
  }
  const searchForm = form(async (data) => search(data.get("q")),
    field("Search rooms", h("input", { name: "q", type: "search" })),
    h("button", { type: "submit" }, "Search"));
  const create = form(async (data) => {
    const room = await api("POST", "/rooms", { persona_id: state.persona.id,
      name: data.get("name"), topic: data.get("topic") || "",
      visibility: data.get("visibility"), rating: data.get("rating"),
      images: Boolean(data.get("images")) });
    state.rooms.set(room.id, room);
    go(`room/${room.id}`);
  },
  h("h3", {}, "Create a room"),
  field("Name", h("input", { name: "name", required: true })),
  field("Topic", h("input", { name: "topic" })),
  field("Who can find it", visibilitySelect("public"), VISIBILITY_HINT),
  field("Rating", ratingSelect("general")),
  h("div", { class: "check" }, h("input", { type: "checkbox", name: "images", id: "new-room-images" }),
    h("label", { for: "new-room-images" }, "Members may share images")),
  h("button", { type: "submit" }, "Create room"));
  // An invitation is not delivered: the invitee opens the link they were given.
  const byLink = form(async (data) => {
    const id = (data.get("link").match(/r_[0-9a-f]+/) || [])[0];
    if (!id) throw new Error("That is not a room's link or id (they look like r_1a2b…).");
    go(`room/${id}`);
  },
  h("h3", {}, "Open a room from a link"),
  field("Room link or id", h("input", { name: "link", required: true }),
        "For invite-only and unlisted rooms: ask someone in the room for its link."),
  h("button", { type: "submit" }, "Open"));
  search("").catch(() => {});
  const mine = [...state.rooms.values()];
  return h("section", {}, h("h2", {}, "Rooms"),
    mine.length ? h("div", {}, h("h3", {}, "Your rooms"), h("ul", { class: "cards" }, mine.map((r) =>
      h("li", {}, h("a", { href: `#room/${r.id}` }, r.name || "a room"), " ",
        h("span", { class: "badge", "data-unread": `room:${r.id}` }))))) : null,
    searchForm, results, create, byLink);
}

const VISIBILITY = [["public", "Public (listed)"], ["unlisted", "Unlisted (link only)"],
  ["invite_only", "Invite-only"]];
const VISIBILITY_HINT = "Anyone can find a public room; anyone with its link can join an unlisted one; only invited personas can see or join an invite-only one.";
const RATINGS = [["general", "General"], ["mature", "Mature"], ["adult", "Adult (opted-in personas only)"]];

function visibilitySelect(current) {
  return h("select", { name: "visibility" },
    VISIBILITY.map(([v, label]) => h("option", { value: v, selected: v === current }, label)));
}

function ratingSelect(current) {
  return h("select", { name: "rating" },
    RATINGS.map(([v, label]) => h("option", { value: v, selected: v === current }, label)));
}

// A persona's presence in words, updated in place when it changes.
export function presenceLabel(personaId, presence) {
  return h("small", { class: "presence", "data-presence": personaId }, statusText(presence));
}

function whoList(roomId) {
  const members = state.who.get(roomId) || [];
  return h("ul", { class: "who", "data-who": roomId, "aria-label": "Who is here" },
    members.map((m) => h("li", {}, personaButton(m.persona, roomId),
      m.persona.id === state.persona?.id ? " (you)" : "",
      m.role !== "member" ? h("span", { class: "role" }, ` · ${m.role}`) : null,
      presenceLabel(m.persona.id, m.presence || { online: m.online, status: m.online ? "online" : "offline" }))));
}

// Fill in what was said before this page followed the stream (it only receives what
// happens from then on), merged by sequence number so nothing shows twice.
function backfill(stream, type, fields) {
  state.conn.send(type, { ...fields, limit: 50 }).then((result) => {
    const lines = streamLines(stream);
    const known = new Set(lines.map((e) => e.seq));
    const older = result.events.filter((e) => !known.has(e.seq));
    for (const e of result.events) state.conn.advance(stream, e.seq);
    if (!older.length) return;
    lines.unshift(...older);
    // By time, then seq: whispers have no seq but do have a time.
    lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : (a.seq || 0) - (b.seq || 0)));
    if (document.getElementById("view").dataset.stream === stream) softRender();
  }).catch(() => {});
}

// A room this persona is not in: what the server lets it see, and a way in.
function outsideRoom(id) {
  const removed = state.removed.has(id);
  const about = h("div", { class: "about-room" }, h("p", {}, "Looking the room up…"));
  const box = h("section", {}, h("h2", {}, removed ? "You were removed from this room" : "Not in this room"),
    removed ? h("p", {}, "Its owner or a moderator removed you. You can join again only if the room lets you.") : null,
    about, h("p", {}, h("a", { href: "#rooms" }, "All rooms")));
  api("GET", `${roomPath(id)}?persona_id=${encodeURIComponent(state.persona.id)}`).then((r) => {
    const join = h("button", { type: "button", onclick: async () => {
      try {
        const result = await state.conn.send("join", { room: id });
        state.rooms.set(id, result.room);
        state.removed.delete(id);
        render();
      } catch (err) { showError(about, err); }
    } }, `Join ${r.name}`);
    about.replaceChildren(h("h3", {}, r.name), r.topic ? h("p", {}, r.topic) : null,
      h("p", { class: "hint" }, `${r.visibility.replace("_", "-")} · ${r.rating}`), join);
  }).catch(() => {
    about.replaceChildren(h("p", {}, "There is no such room, or it is invite-only and you are not invited."));
  });
  return box;
}

// Tools for the room's owners and moderators (and staff): only what their role allows.
function roomTools(id) {
  const role = roleIn(id, state.persona.id);
  const box = h("div", { id: "room-tools", "data-room": id, "data-role": role || "" });
  if (!canModerate(role)) return box;
  const info = state.rooms.get(id);
  const owner = canSetRoles(role);
  const topicInput = h("input", { name: "topic", maxlength: 300, value: info.topic || "" });
  const topic = form(async () => {
    const result = await state.conn.send("set_topic", { room: id, topic: topicInput.value });
    Object.assign(info, result.room);
    topicInput.value = result.room.topic;
    topicInput.defaultValue = result.room.topic;
    actionDone(result.room.topic ? "Topic set." : "Topic cleared.");
  }, field("Topic", topicInput, "Leave empty to clear it."), h("button", { type: "submit" }, "Set topic"));
  const notice = form(async (data, el) => {
    await state.conn.send("notice", { room: id, text: data.get("notice") });
    el.reset();
    actionDone("Notice posted.");
  }, field("Notice to everyone here", h("textarea", { name: "notice", rows: 1, required: true })),
  h("button", { type: "submit" }, "Post notice"));
  const invited = h("p", { class: "hint", role: "status" });
  const invite = form(async (data, el) => {
    const target = await api("GET", `/personas/by-name/${encodeURIComponent(data.get("name"))}`);
    await api("POST", roomPath(id, "/invites"), { persona_id: state.persona.id, target_persona_id: target.id });
    el.reset();
    invited.textContent = `Invited ${target.name}. Tryst does not tell them: send them this room's link, ${location.origin}/#room/${id}`;
  }, field("Invite (persona name)", h("input", { name: "name", required: true }),
    "Invitations matter for invite-only rooms: only those invited can see or join them."),
  h("button", { type: "submit" }, "Invite"), invited);
  const parts = [topic, notice, invite];
  if (owner) {
    const settings = form(async (data, el) => {
      const updated = await api("PATCH", roomPath(id), { persona_id: state.persona.id,
        visibility: data.get("visibility"), rating: data.get("rating"), description: data.get("description"),
        images: Boolean(data.get("images")) });
      Object.assign(info, updated);
      settle(el);
      actionDone("Room settings saved.");
      render(); // the share button follows the setting
    },
    h("h3", {}, "Room settings"),
    field("Who can find it", visibilitySelect(info.visibility), VISIBILITY_HINT),
    field("Rating", ratingSelect(info.rating)),
    field("Description", h("textarea", { name: "description", rows: 2 }, info.description || "")),
    h("div", { class: "check" }, h("input", { type: "checkbox", name: "images", id: `images-${id}`, checked: Boolean(info.images) }),
      h("label", { for: `images-${id}` }, "Members may share images")),
    h("button", { type: "submit" }, "Save room settings"));
    const stepDown = form(async (data) => {
      await api("POST", roomPath(id, "/roles"), { persona_id: state.persona.id,
        target_persona_id: state.persona.id, role: data.get("role") });
      actionDone("You stepped down.");
      await loadWho(id);
    },
    h("h3", {}, "Step down"),
    field("Your role from now on", h("select", { name: "role" },
      h("option", { value: "moderator" }, "Moderator"), h("option", { value: "member" }, "Member")),
      "A room always keeps an owner: make someone else owner first."),
    h("button", { type: "submit" }, "Step down"));
    parts.push(settings, stepDown);
  }
  box.append(h("details", { class: "room-tools", id: `tools-${id}` },
    h("summary", {}, owner ? "Manage this room" : "Moderate this room"),
    h("p", { class: "hint" }, role ? `You are ${ROLE_NAMES[role]} here.` : "You act here as staff.",
      " To change someone's role or remove them, choose their name in the list of who is here."),
    h("div", { class: "tools-grid" }, parts)));
  return box;
}

// The who list of a room changed: its tools follow this persona's role.
function updateRoomTools(roomId) {
  const box = document.getElementById("room-tools");
  if (!box || box.dataset.room !== roomId) return;
  if (box.dataset.role === (roleIn(roomId, state.persona.id) || "")) return;
  const open = box.querySelector("details")?.open;
  const fresh = roomTools(roomId);
  box.replaceWith(fresh);
  const details = fresh.querySelector("details");
  if (details && open) details.open = true;
}

function room(id) {
  const stream = `room:${id}`;
  const info = state.rooms.get(id);
  if (!info) return outsideRoom(id);
  document.getElementById("view").dataset.stream = stream;
  state.roomUnread.delete(stream); // seen now
  loadWho(id);
  backfill(stream, "history", { room: id });
  const send = async ({ style, text, rest }) => {
    if (style === "whisper") {
      const lower = rest.toLowerCase();
      const target = (state.who.get(id) || [])
        .filter((m) => lower.startsWith(`${m.persona.name.toLowerCase()} `))
        .sort((a, b) => b.persona.name.length - a.persona.name.length)[0];
      if (!target) throw new Error("whisper to whom? /w NAME text, with the name of someone here");
      await state.conn.send("whisper", { room: id, to: target.persona.id,
        text: rest.slice(target.persona.name.length + 1) });
    } else {
      await state.conn.send(style, { room: id, text });
    }
  };
  return h("section", { class: "chat" },
    h("div", { class: "chat-head" }, h("h2", {}, info.name),
      h("p", { class: "topic", id: "room-topic" }, info.topic || ""),
      h("button", { type: "button", onclick: safely(async () => {
        await state.conn.send("leave", { room: id });
        state.rooms.delete(id);
        go("rooms");
      }) }, "Leave room")),
    h("p", { class: "error", id: "action-error", role: "alert" }),
    roomTools(id),
    h("div", { class: "chat-body" }, log(stream),
      h("aside", {}, h("h3", {}, "Here"), whoList(id))),
    composer(send, { whisper: true }),
    info.images ? shareButton(state.persona.id,
      (media) => state.conn.send("post_image", { media, room: id }), { viewOnce: false }) : null);
}

// ------------------------------------------------------------------ requests and conversations

function requests() {
  return h("section", {}, h("h2", {}, "Message requests"),
    h("p", { class: "hint" }, "Someone you do not talk with yet asked to. Read their card first; open the message only if you want to. Declining tells them nothing."),
    state.requests.length ? h("ul", { class: "cards" }, state.requests.map((r) => {
      const opened = h("div", { class: "opening" });
      return h("li", {},
        h("strong", {}, r.from.name), ` · ${r.from.age}${r.from.pronouns ? ` · ${r.from.pronouns}` : ""}`,
        r.from.short_description ? h("p", {}, r.from.short_description) : null,
        opened,
        h("div", { class: "buttons" },
          h("button", { type: "button", onclick: safely(async () => {
            const result = await state.conn.send("open_request", { conversation: r.conversation.id });
            opened.replaceChildren(result.event ? h("blockquote", {}, formatted(result.event.text)) : "");
          }) }, "Open message"),
          h("button", { type: "button", onclick: safely(async () => {
            await state.conn.send("accept", { conversation: r.conversation.id });
            await refreshConversations();
            await refreshRequests();
            go(`conversation/${r.conversation.id}`);
          }) }, `Accept ${r.from.name}`),
          h("button", { type: "button", onclick: safely(async () => {
            await state.conn.send("decline", { conversation: r.conversation.id });
            await refreshRequests();
            render();
          }) }, "Decline"),
          h("button", { type: "button", class: "danger", onclick: safely(async () => {
            await state.conn.send("decline", { conversation: r.conversation.id, block: true });
            await refreshRequests();
            render();
          }) }, "Decline and block")));
    })) : h("p", {}, "No requests waiting."),
    newRequest(""));
}

function newRequest(name) {
  return form(async (data) => {
    const target = await api("GET", `/personas/by-name/${encodeURIComponent(data.get("to"))}`);
    const result = await sendConfirming((confirm) => state.conn.send("request",
      { to: target.id, text: data.get("text"), ...(confirm ? { confirm } : {}) }));
    await refreshConversations();
    announce(`Request sent to ${target.name}. It shows as pending until they accept.`);
    go(`conversation/${result.conversation.id}`);
  },
  h("h3", {}, "Send a message request"),
  field("To (persona name)", h("input", { name: "to", required: true, value: name })),
  field("First message", h("textarea", { name: "text", rows: 3, required: true })),
  h("button", { type: "submit" }, "Send request"));
}

function conversations() {
  refreshConversations().then(() => {
    const list = document.getElementById("conversation-list");
    if (list) list.replaceWith(conversationList());
  }).catch(() => {});
  const group = form(async (data) => {
    const names = data.get("who").split(",").map((x) => x.trim()).filter(Boolean);
    const ids = [];
    for (const name of names) ids.push((await api("GET", `/personas/by-name/${encodeURIComponent(name)}`)).id);
    const result = await state.conn.send("create_group", { personas: ids, title: data.get("title") || "",
      ...(data.get("text") ? { text: data.get("text") } : {}) });
    await refreshConversations();
    announce("Group started: each person you invited is asked first.");
    go(`conversation/${result.conversation.id}`);
  },
  h("h3", {}, "Start a group"),
  field("Invite (persona names, comma-separated)", h("input", { name: "who", required: true })),
  field("Title", h("input", { name: "title", maxlength: 80 })),
  field("First message (optional)", h("textarea", { name: "text", rows: 2 })),
  h("button", { type: "submit" }, "Start group"));
  return h("section", {}, h("h2", {}, "Conversations"), conversationList(), group);
}

function conversationList() {
  const items = [...state.conversations.values()];
  return h("ul", { class: "cards", id: "conversation-list", "aria-label": "Your conversations" }, items.length ? items.map((c) => {
    const others = c.members.filter((m) => m.persona.id !== state.persona.id);
    const title = c.title || others.map((m) => m.persona.name).join(", ") || "Just you";
    const single = others.length === 1 && others[0].state === "active" ? others[0] : null;
    return h("li", {}, h("a", { href: `#conversation/${c.id}` }, title),
      h("span", { class: "badge unread", "data-unread-conv": c.id }, c.unread ? `${c.unread} unread` : ""),
      others.some((m) => m.state === "pending") ? h("span", { class: "hint" }, " · pending") : null,
      single ? h("span", { class: "hint" }, " · ", presenceLabel(single.persona.id, single.presence)) : null);
  }) : h("li", {}, "No conversations yet."));
}

// Who is in a conversation, their state and (for those in it) their presence.
function memberLine(c) {
  const others = c.members.filter((m) => m.persona.id !== state.persona.id);
  return h("p", { class: "hint", id: "conversation-members" }, others.map((m, i) => [
    i ? " · " : "", `${m.persona.name}: ${m.state}`,
    m.state === "active" ? [" (", presenceLabel(m.persona.id, m.presence), ")"] : null]));
}

// The conversations changed (someone accepted, joined or left): update what shows them,
// without taking anything from under the person's hands.
function conversationsChanged() {
  const list = document.getElementById("conversation-list");
  if (list && !list.contains(document.activeElement)) list.replaceWith(conversationList());
  const [name, id] = state.route.split("/");
  const c = state.conversations.get(id);
  const members = document.getElementById("conversation-members");
  if (name === "conversation" && c && members) members.replaceWith(memberLine(c));
  const kept = document.getElementById("retention");
  if (name === "conversation" && c && kept) kept.textContent = retention(c);
}

// Tell the others "typing" while the box is being written in (at most every 3 s), and
// stop when it is sent or emptied. Only sent if this member shares typing at all.
function typingNotice(id, box) {
  const c = state.conversations.get(id);
  if (!c || !c.me.typing) return box;
  let last = 0;
  const input = box.querySelector("textarea");
  const tell = (typing) => state.conn.send("typing", { conversation: id, typing }).catch(() => {});
  input.addEventListener("input", () => {
    const now = Date.now();
    if (!input.value) { last = 0; tell(false); return; }
    if (now - last > 3000) { last = now; tell(true); }
  });
  input.addEventListener("blur", () => { if (last) { last = 0; tell(false); } });
  return box;
}

function conversation(id) {
  const stream = `conv:${id}`;
  const c = state.conversations.get(id);
  document.getElementById("view").dataset.stream = stream;
  if (!c) {
    refreshConversations().then(() => { if (state.conversations.has(id)) render(); }).catch(() => {});
    return h("p", {}, "Loading…");
  }
  backfill(stream, "conversation_history", { conversation: id });
  const others = c.members.filter((m) => m.persona.id !== state.persona.id);
  if (document.visibilityState !== "hidden") markRead(id);
  const disappear = c.disappear_seconds || 0;
  const settings = form(async (data) => {
    const fields = { conversation: id, keep_days: Number(data.get("keep_days")),
      typing: Boolean(data.get("typing")), receipts: Boolean(data.get("receipts")) };
    // The timer is everyone's: only sent when this person changed it.
    const timer = Number(data.get("disappear"));
    if (timer !== disappear) fields.disappear_seconds = timer;
    const result = await state.conn.send("conversation_settings", fields);
    state.conversations.set(id, result.conversation);
    announce("Saved.");
    render(); // typing indicators start or stop at once
  },
  field("Keep history", h("select", { name: "keep_days" },
    [...new Set([0, 1, 7, 30, c.me.keep_days])].sort((a, b) => a - b).map((d) => h("option", { value: d, selected: c.me.keep_days === d },
      d ? `${d} days` : "Not stored (deleted once everyone has read it)"))),
    "Your choice. The conversation keeps history for the shortest time anyone in it chose."),
  field("Disappearing messages", h("select", { name: "disappear" },
    [...new Set([0, 300, 3600, 86400, 604800, disappear])].sort((a, b) => a - b).map((t) => h("option", { value: t, selected: t === disappear },
      duration(t)))), "For everyone here: each line goes this long after it was sent."),
  h("div", { class: "check" }, h("input", { type: "checkbox", name: "typing", id: `typing-${id}`, checked: c.me.typing }),
    h("label", { for: `typing-${id}` }, "Share typing indicators")),
  h("div", { class: "check" }, h("input", { type: "checkbox", name: "receipts", id: `receipts-${id}`, checked: c.me.receipts }),
    h("label", { for: `receipts-${id}` }, "Share read receipts")),
  h("p", { class: "hint", id: "retention" }, retention(c)),
  h("button", { type: "submit" }, "Save"));
  return h("section", { class: "chat" },
    h("div", { class: "chat-head" },
      h("h2", {}, c.title || others.map((m) => m.persona.name).join(", ")),
      memberLine(c),
      others.length === 1 ? h("a", { href: `#propose/${encodeURIComponent(others[0].persona.id)}`,
        class: "button" }, "Propose a scene") : null,
      h("button", { type: "button", onclick: safely(async () => {
        await state.conn.send("leave_conversation", { conversation: id });
        state.conversations.delete(id);
        go("conversations");
      }) }, "Leave")),
    log(stream),
    h("p", { class: "hint signals" },
      h("span", { id: "typing" }, state.signals.get(stream)?.typing || ""), " ",
      h("span", { id: "receipts" }, state.signals.get(stream)?.receipts || "")),
    typingNotice(id, composer(async ({ style, text }) => {
      await sendConfirming((confirm) => state.conn.send("send",
        { conversation: id, text, style, ...(confirm ? { confirm } : {}) }));
    })),
    shareButton(state.persona.id, (media, options) =>
      state.conn.send("post_image", { media, conversation: id, ...options })),
    h("details", { id: `privacy-${id}` }, h("summary", {}, "Privacy for this conversation"), settings));
}

// A message the safety rules want confirmed first (personal data to a new contact):
// the sender reads why, and sends it anyway or not. Nothing was sent until then.
export async function sendConfirming(send) {
  try {
    return await send(null);
  } catch (err) {
    if (err.code !== "safety_warning") throw err;
    if (!window.confirm(`${err.message}\n\nSend it anyway?`)) {
      throw new Error("Not sent.");
    }
    return await send([err.details.signal]);
  }
}

function duration(seconds) {
  if (!seconds) return "Off";
  if (seconds % 86400 === 0) return seconds === 86400 ? "1 day" : `${seconds / 86400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? "1 hour" : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? "1 minute" : `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}

// What the conversation as a whole does now, from everyone's choices.
function retention(c) {
  const kept = c.keep_days ? `History is kept for ${c.keep_days} day${c.keep_days === 1 ? "" : "s"}`
    : "History is not stored: each line is deleted once everyone has read it";
  const timer = c.disappear_seconds ? `; lines disappear after ${duration(c.disappear_seconds).toLowerCase()}` : "";
  return `${kept}${timer}.`;
}

// ------------------------------------------------------------------ settings

function settings() {
  const boundaries = form(async (data) => {
    await state.conn.send("set_boundaries", { reach: data.get("reach"),
      refuse_limit_conflicts: Boolean(data.get("refuse")), auto_reply: data.get("auto_reply") || "" });
    settle(boundaries);
    announce("Saved.");
  },
  h("h3", {}, `Who may reach ${state.persona.name}`),
  field("Message requests from", h("select", { name: "reach", id: "reach" },
    h("option", { value: "anyone" }, "Anyone"),
    h("option", { value: "shared_room" }, "Only personas I share a room with"),
    h("option", { value: "nobody" }, "Nobody"))),
  h("div", { class: "check" }, h("input", { type: "checkbox", name: "refuse", id: "refuse" }),
    h("label", { for: "refuse" }, "Refuse requests whose interests clash with my limits")),
  field("Auto-reply to refused requests", h("input", { name: "auto_reply" })),
  h("button", { type: "submit" }, "Save"));
  const status = form(async (data) => {
    await setStatus({ status: data.get("status"), status_message: data.get("status_message") || "" });
    settle(status);
    announce("Status saved.");
  },
  h("h3", {}, `Status of ${state.persona.name}`),
  h("p", { class: "hint" }, "Shown beside your name to those who share a room or a conversation with you, while you are online."),
  field("Status", h("select", { name: "status" },
    STATUSES.map(([value, label]) => h("option", { value }, label)))),
  field("Status message", h("input", { name: "status_message", maxlength: 120 }),
        "Optional, one line: for example what kind of scene you are looking for."),
  h("button", { type: "submit" }, "Save status"));
  // Saving before the current choices are shown would overwrite them with defaults, and
  // a choice made before they arrive would be overwritten by them: nothing can be
  // changed until they are shown.
  const loading = [...boundaries.elements, ...status.elements];
  for (const el of loading) el.disabled = true;
  state.conn.send("boundaries").then((r) => {
    const b = r.boundaries;
    boundaries.reach.value = b.reach;
    boundaries.refuse.checked = b.refuse_limit_conflicts;
    boundaries.auto_reply.value = b.auto_reply;
    status.status.value = b.status;
    status.status_message.value = b.status_message;
    settle(boundaries);
    settle(status);
    for (const el of loading) el.disabled = false;
  }).catch((err) => showError(boundaries, err));
  const blocks = h("ul", { class: "cards" });
  state.conn.send("blocks").then((r) => {
    blocks.replaceChildren(...(r.blocks.length ? r.blocks.map((b) => h("li", {}, b.persona.name, " ",
      h("button", { type: "button", onclick: safely(async () => {
        await state.conn.send("unblock", { persona: b.persona.id });
        render();
      }) }, `Unblock ${b.persona.name}`))) : [h("li", {}, "Nobody blocked.")]));
  }).catch(() => {});
  const erase = form(async (data) => {
    await api("DELETE", "/accounts/me", { password: data.get("password"), confirm: "delete my account" });
    await logout();
  },
  h("h3", {}, "Delete your account"),
  h("p", { class: "hint" }, "Your personas and profiles go at once, and what you wrote in invite-only rooms is deleted. This cannot be undone."),
  field("Password", h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" })),
  h("button", { type: "submit", class: "danger" }, "Delete my account"));
  const mutes = h("ul", { class: "cards", "aria-label": "Muted" });
  state.conn.send("mutes").then((r) => {
    mutes.replaceChildren(...(r.mutes.length ? r.mutes.map((m) => h("li", {}, m.persona.name,
      ` · until ${new Date(m.until).toLocaleString()}`, " ",
      h("button", { type: "button", onclick: safely(async () => {
        await state.conn.send("unmute", { persona: m.persona.id });
        render();
      }) }, `Unmute ${m.persona.name}`))) : [h("li", {}, "Nobody muted.")]));
  }).catch(() => {});
  return h("section", {}, h("h2", {}, "Settings and privacy"), boundaries, status,
    h("h3", {}, "Blocked"), blocks, h("h3", {}, "Muted"), mutes,
    h("h3", {}, "Your data"),
    h("p", {}, h("a", { href: "/api/v1/accounts/me/export", download: "" }, "Download everything stored about your account")),
    erase);
}

// ------------------------------------------------------------------ router

// A part of the address as text; a malformed one (a crafted link) is just empty.
export function decode(part) {
  try { return decodeURIComponent(part || ""); } catch { return ""; }
}

function route(name, id) {
  switch (name) {
    case "personas": return personas();
    case "room": return room(id);
    case "requests": return requests();
    case "new-request": return h("section", {}, newRequest(decode(id)));
    case "conversations": return conversations();
    case "conversation": return conversation(id);
    case "settings": return settings();
    case "protect": return protectView();
    case "report": return reportView(decode(id));
    default: return rooms();
  }
}

export const views = {
  route, welcome, personas, line, whoList, log, composer, updateRoomTools, conversationsChanged,
};
