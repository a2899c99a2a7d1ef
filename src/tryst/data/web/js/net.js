// Talking to the server: JSON over HTTP, and one WebSocket that reconnects on its own and
// resumes every stream from the last sequence number this page holds (docs/protocol.md,
// section 6), so nothing is lost and nothing is shown twice.

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `request failed (${status})`);
    this.status = status;
    this.code = err.code || "http_error";
    this.details = err.details || {};
  }
}

export async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export class SocketError extends Error {
  constructor(frame) {
    super(frame.message || frame.code);
    this.code = frame.code;
    this.details = frame.details || {};
  }
}

const BACKOFF = [500, 1000, 2000, 4000, 8000, 15000];
const PING_EVERY = 20000; // a half-open socket is noticed within PING_EVERY + PING_WAIT
const PING_WAIT = 10000;

export class Connection {
  constructor({ onEvent, onStatus, onHello, onEnded }) {
    this.onEvent = onEvent; // (frame) for every event, signal and notice, once each
    this.onStatus = onStatus; // ({online, pending})
    this.onHello = onHello; // (result) after each successful hello
    // (reason) when the server will not take this connection back: "signed_out" (the
    // login session ended) or "persona_gone" (the persona was deleted).
    this.onEnded = onEnded;
    this.timer = null;
    this.pinger = null;
    this.persona = null;
    this.cursors = new Map(); // stream -> last seq shown
    this.waiting = new Map(); // id -> {resolve, reject}
    this.queue = []; // commands typed while offline, sent after the next hello
    this.nextId = 1;
    this.attempt = 0;
    this.ws = null;
    this.ready = false;
    this.closed = false;
  }

  get pending() {
    return this.queue.length + this.waiting.size;
  }

  status() {
    this.onStatus({ online: this.ready, pending: this.pending });
  }

  open(persona) {
    this.persona = persona;
    this.closed = false;
    this.connect();
  }

  // Stop for good (persona switch, log out): no reconnect, and nothing left hanging.
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      ws.close(1000, "bye");
    }
    this.ready = false;
    const lost = new SocketError({ code: "connection_closed", message: "not sent: you switched persona or logged out" });
    for (const waiter of this.waiting.values()) waiter.reject(lost);
    for (const item of this.queue.splice(0)) item.reject(lost);
    this.waiting.clear();
  }

  connect() {
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => this.hello();
    ws.onmessage = (m) => this.receive(JSON.parse(m.data));
    ws.onclose = (e) => this.dropped(ws, e.code);
  }

  // The server answers pings; a connection that stopped answering is dead even if the
  // browser has not noticed yet.
  keepAlive() {
    clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      if (!this.ready) return;
      const ws = this.ws;
      const timeout = setTimeout(() => { if (ws === this.ws && ws) ws.close(4000, "no answer"); }, PING_WAIT);
      this.send("ping").then(() => clearTimeout(timeout), () => clearTimeout(timeout));
    }, PING_EVERY);
  }

  hello() {
    const resume = Object.fromEntries(this.cursors);
    const id = `h${this.nextId++}`;
    const frame = { type: "hello", id, version: 1 };
    if (this.persona) {
      frame.persona = this.persona;
      frame.resume = resume;
    }
    this.waiting.set(id, {
      resolve: (result) => {
        this.ready = true;
        this.attempt = 0;
        // Every stream now starts from where the server attached it: what the page
        // missed was delivered before this ack; a stream the page had no position in
        // starts from now. Streams no longer followed are forgotten.
        const streams = result.streams || {};
        for (const [stream, info] of Object.entries(streams)) {
          this.cursors.set(stream, Math.max(this.cursors.get(stream) || 0, info.last_seq));
        }
        if (this.persona) {
          for (const stream of [...this.cursors.keys()]) if (!(stream in streams)) this.cursors.delete(stream);
        }
        this.onHello(result);
        const queued = this.queue.splice(0);
        for (const item of queued) this.transmit(item);
        this.keepAlive();
        this.status();
      },
      reject: (err) => {
        if (err.code === "not_authenticated") {
          this.ended("signed_out");
        } else if (err.code === "not_found" && this.persona) {
          this.ended("persona_gone");
        } else if (err.code !== "connection_lost") {
          this.ws?.close(4000, "hello refused"); // try again after the usual wait
        }
      },
    });
    this.ws.send(JSON.stringify(frame));
  }

  ended(reason) {
    this.close();
    this.status();
    this.onEnded(reason);
  }

  dropped(ws, code) {
    if (ws !== this.ws) return;
    this.ready = false;
    clearInterval(this.pinger);
    // What was in flight may or may not have been done: say so rather than guess.
    for (const [id, waiter] of this.waiting) {
      waiter.reject(new SocketError({ code: "connection_lost",
        message: "the connection dropped before the server answered; check and try again" }));
      this.waiting.delete(id);
    }
    // 4001 (session ended) is not trusted on its own: the next hello finds out, and a
    // refused hello ends this connection for good.
    if (code === 4002) { this.ended("persona_gone"); return; }
    this.status();
    if (this.closed) return;
    const delay = BACKOFF[Math.min(this.attempt++, BACKOFF.length - 1)];
    this.timer = setTimeout(() => this.connect(), delay);
  }

  // A stream's history was read separately: nothing at or below its newest seq is new.
  advance(stream, seq) {
    if (seq > (this.cursors.get(stream) || 0)) this.cursors.set(stream, seq);
  }

  receive(frame) {
    if ((frame.type === "ack" || frame.type === "error") && frame.id && this.waiting.has(frame.id)) {
      const waiter = this.waiting.get(frame.id);
      this.waiting.delete(frame.id);
      if (frame.type === "ack") waiter.resolve(frame.result);
      else waiter.reject(new SocketError(frame));
      this.status();
      return;
    }
    if (frame.type === "event" && typeof frame.seq === "number") {
      const last = this.cursors.get(frame.stream) || 0;
      if (frame.seq <= last) return; // already shown (a resume overlaps what arrived live)
      this.cursors.set(frame.stream, frame.seq);
    }
    this.onEvent(frame);
  }

  forget(stream) {
    this.cursors.delete(stream);
  }

  transmit(item) {
    this.waiting.set(item.frame.id, item);
    this.ws.send(JSON.stringify(item.frame));
  }

  get online() {
    return this.ready;
  }

  // Send a command; resolves with the ack's result, rejects with a SocketError.
  send(type, fields = {}) {
    const frame = { type, id: `c${this.nextId++}`, ...fields };
    return new Promise((resolve, reject) => {
      if (this.closed) { reject(new SocketError({ code: "connection_closed", message: "not connected" })); return; }
      const item = { frame, resolve, reject };
      if (this.ready) this.transmit(item);
      else this.queue.push(item);
      this.status();
    });
  }
}
