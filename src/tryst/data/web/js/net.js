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

export class Connection {
  constructor({ onEvent, onStatus, onHello }) {
    this.onEvent = onEvent; // (frame) for every event, signal and notice, once each
    this.onStatus = onStatus; // ({online, pending})
    this.onHello = onHello; // (result) after each successful hello
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

  close() {
    this.closed = true;
    if (this.ws) this.ws.close(1000, "bye");
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => this.hello();
    ws.onmessage = (m) => this.receive(JSON.parse(m.data));
    ws.onclose = () => this.dropped(ws);
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
        this.onHello(result);
        const queued = this.queue.splice(0);
        for (const item of queued) this.transmit(item);
        this.status();
      },
      reject: () => {},
    });
    this.ws.send(JSON.stringify(frame));
  }

  dropped(ws) {
    if (ws !== this.ws) return;
    this.ready = false;
    // What was in flight may or may not have been done: say so rather than guess.
    for (const [id, waiter] of this.waiting) {
      waiter.reject(new SocketError({ code: "connection_lost",
        message: "the connection dropped before the server answered; check and try again" }));
      this.waiting.delete(id);
    }
    this.status();
    if (this.closed) return;
    const delay = BACKOFF[Math.min(this.attempt++, BACKOFF.length - 1)];
    setTimeout(() => this.connect(), delay);
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

  // Send a command; resolves with the ack's result, rejects with a SocketError.
  send(type, fields = {}) {
    const frame = { type, id: `c${this.nextId++}`, ...fields };
    return new Promise((resolve, reject) => {
      const item = { frame, resolve, reject };
      if (this.ready) this.transmit(item);
      else this.queue.push(item);
      this.status();
    });
  }
}
