// The Tryst web client: the shell, the state every view reads, and the router.
import { api, ApiError, Connection } from "./net.js";
import { h } from "./markup.js";
import { views } from "./views.js";
import { sceneViews } from "./scenes.js";
import { safetyNotice } from "./safety.js";

export const state = {
  account: null,
  personas: [],
  persona: null, // the persona this page acts as
  tags: [], // [{name, tags: [{id, name, description}]}]
  rooms: new Map(), // room id -> room (joined)
  lines: new Map(), // stream -> [event]
  requests: [],
  conversations: new Map(),
  scenes: new Map(),
  who: new Map(), // room id -> members
  signals: new Map(), // stream -> {typing, receipts}: the lines under a conversation
  roomUnread: new Map(), // room stream -> lines that came while the room was not open
  removed: new Set(), // room ids this persona was removed from (kicked) on this page
  status: null, // this persona's own {status, status_message}
  conn: null,
  route: "",
};

const LINES_KEPT = 500;

// ------------------------------------------------------------------ helpers

export function announce(text) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 30);
}

export function problem(err) {
  if (err instanceof ApiError || err.code) return err.message;
  return String(err);
}

export function showError(where, err) {
  const box = where.querySelector(".error") || where.appendChild(h("p", { class: "error", role: "alert" }));
  box.textContent = problem(err);
}

// Presence: what each status means, said in words (never by colour alone).
export const STATUSES = [
  ["online", "Online"], ["looking", "Looking to play"], ["busy", "Busy"],
  ["dnd", "Do not disturb"], ["away", "Away"],
];
const STATUS_LABEL = Object.fromEntries([...STATUSES, ["offline", "Offline"]]);

export function statusText(presence) {
  if (!presence) return "";
  const status = presence.online === false ? "offline" : presence.status;
  const label = STATUS_LABEL[status] || status;
  return presence.status_message ? `${label}: ${presence.status_message}` : label;
}

export function isStaff() {
  return ["moderator", "operator"].includes(state.account?.role);
}

export function go(route) {
  if (location.hash !== `#${route}`) location.hash = route;
  else render();
}

export function tagName(id) {
  for (const cat of state.tags) for (const t of cat.tags) if (t.id === id) return t.name;
  return id;
}

export function streamLines(stream) {
  if (!state.lines.has(stream)) state.lines.set(stream, []);
  return state.lines.get(stream);
}

// ------------------------------------------------------------------ live events

function onEvent(frame) {
  if (frame.type === "event") {
    const lines = streamLines(frame.stream);
    if (frame.kind === "redaction") {
      // A deleted persona's lines go from the screen too.
      const gone = new Set(frame.data?.seqs || []);
      state.lines.set(frame.stream, lines.filter((e) => !gone.has(e.seq)));
      if (currentStream() === frame.stream) softRender();
      return;
    }
    lines.push(frame);
    if (lines.length > LINES_KEPT) lines.splice(0, lines.length - LINES_KEPT);
    const shown = state.signals.get(frame.stream);
    if (shown && frame.text && shown.typing.startsWith(`${frame.persona?.name} `)) {
      shown.typing = "";
      const el = document.getElementById("typing");
      if (el && currentStream() === frame.stream) el.textContent = "";
    }
    if (frame.stream.startsWith("room:")) roomEvent(frame);
    if (frame.stream.startsWith("scene:")) refreshScenes();
    const open = currentStream() === frame.stream;
    if (open) appendLine(frame); // the log is a live region: screen readers read it there
    if (frame.stream.startsWith("conv:")) conversationEvent(frame, open);
    else if (!open && frame.stream.startsWith("room:") && SPOKEN.has(frame.kind)
             && frame.persona?.id !== state.persona?.id) {
      state.roomUnread.set(frame.stream, (state.roomUnread.get(frame.stream) || 0) + 1);
      updateCounts();
    }
    if (frame.kind === "red") announce("Red was called: the scene is paused for everyone.");
    return;
  }
  if (frame.type === "presence") {
    updatePresence(frame.persona.id, { online: frame.online, status: frame.status,
                                       status_message: frame.status_message });
    return;
  }
  if (frame.type === "typing" || frame.type === "read") {
    // Shared only when both sides turned them on (the server decides). Kept in state so
    // a re-render shows them too.
    const shown = state.signals.get(frame.stream) || { typing: "", receipts: "" };
    if (frame.type === "typing") shown.typing = frame.typing ? `${frame.persona.name} is typing…` : "";
    else shown.receipts = `${frame.persona.name} has read up to here`;
    state.signals.set(frame.stream, shown);
    if (currentStream() === frame.stream) {
      document.getElementById("typing").textContent = shown.typing;
      document.getElementById("receipts").textContent = shown.receipts;
    }
    return;
  }
  if (frame.type === "safety_notice") {
    safetyNotice(frame);
  } else if (frame.type === "request") {
    announce(`New message request from ${frame.persona.name}`);
    refreshRequests();
  } else if (frame.type === "scene_invite") {
    announce(`${frame.persona.name} invites you to a scene: ${frame.title}`);
    refreshScenes();
  } else if (frame.type === "whisper") {
    const lines = streamLines(frame.stream);
    lines.push({ ...frame, kind: "whisper", persona: frame.from });
    if (currentStream() === frame.stream) appendLine(lines[lines.length - 1]);
    else if (frame.from.id !== state.persona?.id) announce(`${frame.from.name} whispers: ${frame.text}`);
  }
}

const SPOKEN = new Set(["say", "pose", "ooc"]);

// What a room's own events change: its topic and settings, who holds which role, and
// whether this persona is still in it.
function roomEvent(frame) {
  const roomId = frame.stream.slice(5);
  const room = state.rooms.get(roomId);
  const mine = frame.persona?.id === state.persona?.id;
  if (frame.kind === "leave" && mine) {
    state.rooms.delete(roomId); // left, or removed by a moderator
    state.who.delete(roomId);
    if (frame.data?.reason === "kicked") {
      state.removed.add(roomId);
      announce(`You were removed from ${room?.name || "a room"} by its owner or a moderator.`);
      if (currentStream() === frame.stream) render();
    }
    return;
  }
  if (frame.kind === "join" && mine) state.removed.delete(roomId);
  if (frame.kind === "topic" && room) {
    room.topic = frame.text;
    const el = document.getElementById("room-topic");
    if (el && currentStream() === frame.stream) el.textContent = frame.text;
  }
  if (frame.kind === "system" && room && frame.data && !frame.data.role) {
    // Room settings changed (the values come as text).
    for (const key of ["name", "description", "visibility", "rating"]) {
      if (typeof frame.data[key] === "string") room[key] = frame.data[key];
    }
    if (typeof frame.data.images === "string") {
      room.images = frame.data.images === "true";
      if (currentStream() === frame.stream) softRender(); // show or hide sharing
    }
  }
  if (frame.kind === "join" || frame.kind === "leave" || (frame.kind === "system" && frame.data?.role)) {
    loadWho(roomId);
  }
}

// A conversation line: counted as unread unless it is on screen (and the page is seen).
function conversationEvent(frame, open) {
  const id = frame.stream.slice(5);
  const c = state.conversations.get(id);
  if (!c) { refreshConversationsSoon(); return; }
  if (frame.seq) c.last_seq = Math.max(c.last_seq || 0, frame.seq);
  // Joins, leaves and changed settings (retention, timers) change the conversation.
  if (["join", "leave", "system"].includes(frame.kind)) refreshConversationsSoon();
  if (!SPOKEN.has(frame.kind) || frame.persona?.id === state.persona?.id) return;
  if (open && document.visibilityState !== "hidden") markRead(id);
  else {
    c.unread = (c.unread || 0) + 1;
    updateCounts();
  }
}

// Tell the server this conversation was read up to its newest line, and clear its count.
export function markRead(id) {
  const c = state.conversations.get(id);
  const last = streamLines(`conv:${id}`).at(-1);
  const seq = Math.max(c?.last_seq || 0, last?.seq || 0);
  const before = c?.me?.last_read_seq || 0;
  if (c) {
    c.unread = 0;
    if (c.me) c.me.last_read_seq = Math.max(before, seq);
  }
  updateCounts();
  if (seq > before && state.conn) state.conn.send("read", { conversation: id, seq }).catch(() => {});
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  const stream = currentStream();
  if (stream.startsWith("conv:") && state.conversations.get(stream.slice(5))?.unread) {
    markRead(stream.slice(5));
  }
});

// The counts in the navigation, the lists and the page title, from state.
export function updateCounts() {
  let total = 0;
  for (const c of state.conversations.values()) total += c.unread || 0;
  const count = document.getElementById("unread-count");
  count.textContent = total ? String(total) : "";
  const link = count.closest("a");
  if (total) link.setAttribute("aria-label", `Conversations, ${total} unread`);
  else link.removeAttribute("aria-label");
  const requests = state.requests.length;
  document.getElementById("request-count").textContent = requests ? String(requests) : "";
  const ask = document.getElementById("request-count").closest("a");
  if (requests) ask.setAttribute("aria-label", `Requests, ${requests} waiting`);
  else ask.removeAttribute("aria-label");
  document.title = total ? `(${total}) Tryst` : "Tryst";
  for (const badge of document.querySelectorAll("[data-unread-conv]")) {
    const n = state.conversations.get(badge.dataset.unreadConv)?.unread || 0;
    badge.textContent = n ? `${n} unread` : "";
  }
  for (const badge of document.querySelectorAll("[data-unread]")) {
    const n = state.roomUnread.get(badge.dataset.unread) || 0;
    badge.textContent = n ? `${n} new` : "";
  }
}

// Someone's presence changed: remember it wherever they are listed, and update what shows.
function updatePresence(personaId, presence) {
  for (const c of state.conversations.values()) {
    for (const m of c.members) if (m.persona.id === personaId) m.presence = presence;
  }
  for (const members of state.who.values()) {
    for (const m of members) {
      if (m.persona.id === personaId) { m.presence = presence; m.online = presence.online; }
    }
  }
  for (const el of document.querySelectorAll(`[data-presence="${CSS.escape(personaId)}"]`)) {
    el.textContent = statusText(presence);
  }
}

export function currentStream() {
  const main = document.getElementById("view");
  return main.dataset.stream || "";
}

export function appendLine(event) {
  const log = document.querySelector("#view .log");
  if (!log) return;
  const line = views.line(event);
  if (!line) return;
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(line);
  if (stick) log.scrollTop = log.scrollHeight;
}

// ------------------------------------------------------------------ loading

export async function loadWho(roomId) {
  if (!state.conn || !state.rooms.has(roomId)) return;
  try {
    const result = await state.conn.send("who", { room: roomId });
    state.who.set(roomId, result.members);
    const list = document.querySelector(`[data-who="${CSS.escape(roomId)}"]`);
    if (list) list.replaceWith(views.whoList(roomId));
    views.updateRoomTools(roomId);
  } catch { /* shown the next time the room opens */ }
}

export async function refreshRequests() {
  if (!state.conn) return;
  try {
    state.requests = (await state.conn.send("requests")).requests;
  } catch { return; }
  updateCounts();
  if (state.route.startsWith("requests")) softRender();
}

export async function refreshConversations() {
  if (!state.conn) return;
  const result = await state.conn.send("conversations");
  state.conversations = new Map(result.conversations.map((c) => [c.id, c]));
  // What is on screen now counts as read, whatever the server had counted before.
  const open = currentStream();
  if (open.startsWith("conv:") && state.conversations.get(open.slice(5))?.unread
      && document.visibilityState !== "hidden") markRead(open.slice(5));
  updateCounts();
}

// Many conversation changes can arrive at once: refresh once for all of them, then
// update what shows the list (members, their states, the counts).
let conversationTimer = null;
function refreshConversationsSoon() {
  if (conversationTimer) return;
  conversationTimer = setTimeout(async () => {
    conversationTimer = null;
    try { await refreshConversations(); } catch { return; }
    views.conversationsChanged();
  }, 100);
}

let sceneTimer = null;
export function refreshScenes() {
  // Many scene events can arrive at once (a resume): refresh once for all of them.
  if (sceneTimer) return;
  sceneTimer = setTimeout(async () => {
    sceneTimer = null;
    if (!state.conn) return;
    try {
      const result = await state.conn.send("scenes");
      state.scenes = new Map(result.scenes.map((s) => [s.id, s]));
    } catch { return; }
    updateStopBar();
    if (state.route.startsWith("scene")) sceneViews.refresh();
  }, 50);
}

// STOP is there whenever someone is signed in with a persona: it pauses every running
// scene of the account, including those of its other personas, which this page does not
// list.
export function updateStopBar() {
  document.getElementById("stop-bar").hidden = !(state.account && state.persona);
}

async function onHello(result) {
  state.account = result.account;
  if (result.persona) state.persona = result.persona;
  const joined = Object.keys(result.streams || {}).filter((s) => s.startsWith("room:"));
  const unnamed = [];
  for (const stream of joined) {
    const id = stream.slice(5);
    if (!state.rooms.has(id)) {
      state.rooms.set(id, { id, name: "…" });
      unnamed.push(id);
    }
  }
  // After a reload the page knows its rooms only by id: fetch their names.
  await Promise.all(unnamed.map(async (id) => {
    try {
      const room = await api("GET", `/rooms/${encodeURIComponent(id)}?persona_id=${encodeURIComponent(state.persona.id)}`);
      state.rooms.set(id, room);
    } catch { /* left meanwhile */ }
  }));
  await Promise.all([refreshRequests(), refreshConversations().catch(() => {}),
                     refreshScenes(), loadStatus()]);
  header();
  softRender();
}

async function loadStatus() {
  if (!state.persona) return;
  try {
    const b = (await state.conn.send("boundaries")).boundaries;
    state.status = { status: b.status, status_message: b.status_message };
  } catch { /* the header shows no status until the next hello */ }
}

export async function setStatus(fields) {
  const b = (await state.conn.send("set_boundaries", fields)).boundaries;
  state.status = { status: b.status, status_message: b.status_message };
  updatePresence(state.persona.id, { online: true, ...state.status }); // shown beside one's own name too
  const select = document.getElementById("my-status");
  if (select) select.value = b.status;
  return b;
}

// Re-render after background news, unless the person is in the middle of typing: a form
// must never be wiped under their fingers.
export function softRender() {
  const main = document.getElementById("view");
  const active = document.activeElement;
  const typing = active && main.contains(active) && active.matches("input, textarea, select");
  const dirty = [...main.querySelectorAll("input, textarea, select")].some(changed);
  if (!typing && !dirty) render();
}

// Whether a field holds something other than what the page put there: text typed, a box
// ticked, another option chosen.
function changed(el) {
  if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
  if (el.tagName === "SELECT") {
    const options = [...el.options];
    const initial = Math.max(0, options.findIndex((o) => o.defaultSelected));
    return options.length > 0 && el.selectedIndex !== initial;
  }
  return Boolean(el.value) && el.value !== el.defaultValue;
}

// What a form shows now becomes what it started with (after loading or saving it), so it
// does not count as changed.
export function settle(form) {
  for (const el of form.elements) {
    if (el.type === "checkbox" || el.type === "radio") el.defaultChecked = el.checked;
    else if (el.tagName === "SELECT") for (const o of el.options) o.defaultSelected = o.selected;
    else if ("defaultValue" in el && el.type !== "submit" && el.type !== "button") el.defaultValue = el.value;
  }
}

function onStatus({ online, pending }) {
  // Only the change between online and offline is announced; the count is just shown.
  const el = document.getElementById("status");
  const text = online ? "Online" : "Offline · reconnecting";
  if (el.textContent !== text) el.textContent = text;
  el.className = online ? "status online" : "status offline";
  document.getElementById("pending").textContent = pending
    ? (online ? `sending ${pending}` : `${pending} waiting to send`) : "";
}

async function onEnded(reason) {
  if (reason === "signed_out") {
    clearSession();
    announce("You were signed out.");
    go("");
    render();
    return;
  }
  // The persona was deleted (perhaps in another tab): carry on as another one.
  state.personas = (await api("GET", "/personas")).personas;
  state.persona = state.personas[0] || null;
  connect();
  go(state.persona ? "rooms" : "personas");
}

// ------------------------------------------------------------------ session

export async function start() {
  try {
    state.account = await api("GET", "/accounts/me");
  } catch {
    state.account = null;
  }
  state.tags = (await api("GET", "/tags")).categories;
  if (state.account) await signedIn();
  else document.getElementById("status").textContent = "Not signed in";
  window.addEventListener("hashchange", render);
  render();
}

export async function signedIn() {
  state.personas = (await api("GET", "/personas")).personas;
  const remembered = sessionStorage.getItem("tryst.persona");
  state.persona = state.personas.find((p) => p.id === remembered) || state.personas[0] || null;
  connect();
}

export function connect() {
  if (state.conn) state.conn.close();
  state.lines.clear();
  state.signals.clear();
  state.rooms.clear();
  state.who.clear();
  state.roomUnread.clear();
  state.removed.clear();
  state.conversations.clear();
  state.status = null;
  state.conn = new Connection({ onEvent, onStatus, onHello, onEnded });
  state.conn.open(state.persona ? state.persona.id : null);
}

export async function usePersona(persona, { stay = false } = {}) {
  state.persona = persona;
  sessionStorage.setItem("tryst.persona", persona.id);
  connect();
  if (stay) render();
  else go("rooms");
}

function clearSession() {
  if (state.conn) state.conn.close();
  state.conn = null;
  state.account = null;
  state.persona = null;
  state.personas = [];
  state.requests = [];
  state.rooms.clear();
  state.lines.clear();
  state.signals.clear();
  state.scenes.clear();
  state.conversations.clear();
  state.who.clear();
  state.roomUnread.clear();
  state.removed.clear();
  state.status = null;
  sessionStorage.removeItem("tryst.persona");
  updateCounts();
  document.getElementById("pending").textContent = "";
  document.getElementById("status").textContent = "Not signed in";
}

export async function logout() {
  if (state.conn) state.conn.close(); // before the server closes it, so no reconnect
  try { await api("DELETE", "/sessions/current"); } catch { /* gone already */ }
  clearSession();
  go("");
  render();
}

// ------------------------------------------------------------------ shell and router

function header() {
  const bar = document.getElementById("account-bar");
  bar.replaceChildren();
  if (!state.account) return;
  const select = h("select", { id: "persona-switch", "aria-label": "Acting as persona",
    onchange: (e) => {
      const p = state.personas.find((x) => x.id === e.target.value);
      if (p) usePersona(p);
    } }, state.personas.map((p) => h("option", { value: p.id, selected: p.id === state.persona?.id }, p.name)));
  // One's own status, next to the persona it belongs to: others see it beside the name.
  const status = state.persona && state.status ? h("select", { id: "my-status",
    "aria-label": `Status of ${state.persona.name}`,
    onchange: async (e) => {
      const chosen = e.target.value;
      try {
        await setStatus({ status: chosen });
        announce(`Status: ${STATUS_LABEL[chosen]}.`);
      } catch (err) {
        e.target.value = state.status.status;
        announce(problem(err));
      }
    } }, STATUSES.map(([value, label]) => h("option", { value, selected: state.status.status === value }, label)))
    : null;
  const statusPick = status ? h("span", { class: "status-pick" },
    h("label", { for: "my-status", "aria-hidden": "true" }, "Status"), status) : null;
  bar.append(
    state.personas.length ? select : h("span", {}, "No persona yet"),
    statusPick,
    h("button", { type: "button", id: "logout", onclick: logout }, "Log out"));
}

export function render() {
  const previous = state.route;
  state.route = location.hash.slice(1);
  // Whatever is being typed survives a re-render of the same screen.
  const draft = previous === state.route
    ? document.querySelector("#view .composer textarea")?.value : "";
  // So do the sections someone opened.
  const opened = previous === state.route
    ? [...document.querySelectorAll("#view details[id][open]")].map((d) => d.id) : [];
  header();
  const nav = document.getElementById("nav");
  nav.hidden = !state.account;
  const main = document.getElementById("view");
  delete main.dataset.stream;
  let view;
  if (!state.account) view = views.welcome();
  else if (!state.persona) view = views.personas();
  else {
    const [name, id] = state.route.split("/");
    view = (sceneViews.route(name, id) || views.route(name, id));
  }
  main.replaceChildren(view);
  for (const id of opened) {
    const details = document.getElementById(id);
    if (details) details.open = true;
  }
  if (previous !== state.route) {
    // A new screen: start reading at its heading.
    const heading = main.querySelector("h2");
    if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
  }
  for (const link of nav.querySelectorAll("a")) {
    const current = state.route.split("/")[0] === link.getAttribute("href").slice(1);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const log = main.querySelector(".log");
  if (log) log.scrollTop = log.scrollHeight;
  const box = main.querySelector(".composer textarea");
  if (box && draft) box.value = draft;
  updateStopBar();
  updateCounts();
}

// Choosing the page one is on shows it afresh (a hash link to the same place does not
// fire hashchange).
document.getElementById("nav").addEventListener("click", (e) => {
  const link = e.target.closest("a");
  if (link && link.getAttribute("href") === location.hash) render();
});

document.getElementById("stop").addEventListener("click", async () => {
  // One action stops every running scene of this account. Offline, it waits in the
  // queue and goes first thing on reconnecting; if the connection drops with it in
  // flight, it is sent again (calling red twice is harmless).
  for (let attempt = 0; attempt < 10 && state.conn; attempt++) {
    try {
      const result = await state.conn.send("red");
      announce(result.paused.length ? "Red called: every scene you are in is paused."
                                    : "You are in no running scene.");
      return;
    } catch (err) {
      if (err.code !== "connection_lost") { announce(problem(err)); return; }
    }
  }
});

document.querySelector(".skip").addEventListener("click", (e) => {
  e.preventDefault(); // the router owns the hash
  document.getElementById("view").focus();
});

start();
