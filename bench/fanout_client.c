/*
 * fanout_client: the load generator of bench/fanout.py.
 *
 * One single-threaded epoll loop owns every WebSocket connection, so the sender and
 * every receiver share one CLOCK_MONOTONIC and latency is simply
 * receive time - the send time embedded in the message text.
 *
 * Modes:
 *   relay  the reference relay: upgrade, then wait for its {"id":"bench-ready"} frame.
 *   tryst  Tryst's wsjson protocol: upgrade with a bearer token, "hello" with a persona,
 *          "join" the room, each answered by an ack before the next is sent.
 *
 * Workload: once every client is ready and the server has been quiet for --settle-ms
 * (Tryst fans the 1000 "join" events out first), S senders send M "say" frames in all.
 * The text of message i is "@@<i>:<send ns>@@" padded with 'x' to --message-bytes.
 * Every receiver (senders included: both servers echo to the sender) must get each
 * message exactly once; a bitmap of N*M bits counts losses and duplicates exactly.
 * A say the server answers with an error frame is counted as rejected (and lost).
 *
 * Pacing, identical for both servers:
 *   window mode (default)  each sender keeps at most --window messages that have not
 *                          yet reached all N clients (closed loop: measures the sustained
 *                          rate without letting a queue build up behind the server).
 *   rate mode (--rate R)   R messages/s in total, open loop, from a 1 ms timer.
 * Sending stops after M messages or --send-limit-s seconds, whichever comes first; the
 * run ends when every message sent has reached every client (or nothing arrives for
 * --idle-timeout-s, or --timeout-s passes: the outcome field says which).
 *
 * Throughput counts deliveries of messages after the first --warmup ones, from the
 * first such send to the last such delivery. Latencies go into a 1 us histogram.
 * Results: one JSON object on stdout. Diagnostics: stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define HIST_BUCKETS (1u << 22) /* 1 us buckets: exact up to ~4.2 s, clamped above */
#define MAX_PRINTED_ERRORS 5
#define TIMER_TAG ((uint64_t)-1)

enum state { ST_CONNECTING, ST_HANDSHAKE, ST_HELLO, ST_JOIN, ST_WAIT_READY, ST_READY, ST_CLOSED };
enum phase { PH_SETUP, PH_SETTLE, PH_MEASURE, PH_DONE };

typedef struct {
    int fd;
    int idx;
    enum state state;
    unsigned char *rbuf;
    size_t rlen, rcap;
    unsigned char *wbuf; /* bytes the kernel did not take yet */
    size_t wlen, woff, wcap;
    unsigned char *frag; /* a fragmented message being reassembled */
    size_t flen, fcap;
    int frag_op;
    int polling_out;
} conn_t;

/* ---- options ---- */
static const char *opt_host = "127.0.0.1";
static int opt_port = 0;
static const char *opt_path = "/ws";
static int opt_tryst = 0;
static int opt_clients = 1000;
static int opt_senders = 4;
static int opt_messages = 4000;
static int opt_message_bytes = 100;
static int opt_window = 1;
static double opt_rate = 0.0;
static int opt_warmup = 100;
static const char *opt_credentials = NULL;
static const char *opt_room = "bench";
static int opt_connect_concurrency = 64;
static double opt_settle_ms = 500.0;
static double opt_idle_timeout_s = 10.0;
static double opt_timeout_s = 150.0;
static double opt_send_limit_s = 60.0;

/* ---- state ---- */
static int epfd;
static conn_t *conns;
static char **tokens, **personas;
static int next_to_start, in_setup, ready_count, closed_count;
static enum phase phase = PH_SETUP;
static uint32_t rng = 2463534242u;

static uint32_t *delivered;   /* per message: receivers that got it */
static uint8_t *rejected;     /* per message: the server answered its say with an error */
static int64_t *sent_ns;      /* per message: 0 = not sent yet */
static uint8_t *seen;         /* N*M bits: (client, message) delivered */
static int *inflight;         /* per sender, window mode */
static int *next_k;           /* per sender: index of its next message */
static int sent_total, completed, send_capped;
static uint64_t deliveries, measured_deliveries, duplicates, bogus, errors, frames_rx;
static uint64_t unexpected_closes, reads_measured, rejected_total;
static uint32_t *hist;
static int64_t lat_max_ns;
static int64_t t_start, t_ready, t_measure, t_first_measured_send, t_last_measured_rx;
static int64_t t_last_rx, t_last_progress;
static int printed_errors;
static struct rusage ru_measure;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fanout_client: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) die("out of memory (%zu bytes)", n);
    return q;
}

static uint32_t xorshift(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void set_events(conn_t *c, int want_out) {
    if (c->polling_out == want_out) return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET | (want_out ? EPOLLOUT : 0),
                             .data.u64 = (uint64_t)c->idx};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    c->polling_out = want_out;
}

static void conn_close(conn_t *c, const char *why) {
    if (c->state == ST_CLOSED) return;
    if (phase != PH_DONE) {
        unexpected_closes++;
        if (unexpected_closes <= MAX_PRINTED_ERRORS)
            fprintf(stderr, "fanout_client: connection %d closed: %s\n", c->idx, why);
    }
    if (c->state != ST_READY && c->state != ST_CLOSED) in_setup--;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = ST_CLOSED;
    closed_count++;
}

/* Write what the kernel takes now; keep the rest until EPOLLOUT. */
static void conn_write(conn_t *c, const void *data, size_t len) {
    if (c->state == ST_CLOSED) return;
    if (c->wlen == c->woff) {
        c->wlen = c->woff = 0;
        while (len > 0) {
            ssize_t n = write(c->fd, data, len);
            if (n > 0) {
                data = (const char *)data + n;
                len -= (size_t)n;
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            } else {
                conn_close(c, strerror(errno));
                return;
            }
        }
        if (len == 0) return;
    }
    if (c->wlen + len > c->wcap) {
        c->wcap = (c->wlen + len) * 2;
        c->wbuf = xrealloc(c->wbuf, c->wcap);
    }
    memcpy(c->wbuf + c->wlen, data, len);
    c->wlen += len;
    set_events(c, 1);
}

static void conn_flush(conn_t *c) {
    while (c->woff < c->wlen) {
        ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
        if (n > 0) {
            c->woff += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            conn_close(c, strerror(errno));
            return;
        }
    }
    c->wlen = c->woff = 0;
    set_events(c, 0);
}

/* A client frame: FIN, masked (RFC 6455 requires it from clients). */
static void ws_send(conn_t *c, int opcode, const char *payload, size_t len) {
    unsigned char stackbuf[1024];
    size_t need = len + 14;
    unsigned char *f = need <= sizeof stackbuf ? stackbuf : xrealloc(NULL, need);
    size_t h = 0;
    f[h++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        f[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        f[h++] = 0x80 | 126;
        f[h++] = (unsigned char)(len >> 8);
        f[h++] = (unsigned char)len;
    } else {
        f[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) f[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    uint32_t key = xorshift();
    unsigned char *m = f + h;
    memcpy(m, &key, 4);
    h += 4;
    for (size_t i = 0; i < len; i++) f[h + i] = (unsigned char)payload[i] ^ m[i & 3];
    conn_write(c, f, h + len);
    if (f != stackbuf) free(f);
}

static void ws_send_text(conn_t *c, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) die("frame too long");
    ws_send(c, 0x1, buf, (size_t)n);
}

static const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Find "key" : <value prefix> in a JSON text (whitespace tolerant) and return where the
 * value starts, or NULL. Our texts never contain quotes, so a textual scan cannot be
 * fooled by message content. */
static const unsigned char *find_pair(const unsigned char *p, const unsigned char *end,
                                      const char *key, const char *value) {
    size_t kl = strlen(key), vl = strlen(value);
    while (p < end) {
        const unsigned char *k = memmem(p, (size_t)(end - p), key, kl);
        if (!k) return NULL;
        const unsigned char *q = skip_ws(k + kl, end);
        p = k + kl;
        if (q >= end || *q != ':') continue;
        q = skip_ws(q + 1, end);
        if ((size_t)(end - q) >= vl && memcmp(q, value, vl) == 0) return q;
    }
    return NULL;
}

static int count_pair(const unsigned char *p, size_t len, const char *key, const char *value) {
    const unsigned char *end = p + len;
    int n = 0;
    while ((p = find_pair(p, end, key, value)) != NULL) {
        n++;
        p += strlen(value);
    }
    return n;
}

static void print_frame(const char *what, conn_t *c, const unsigned char *p, size_t len) {
    fprintf(stderr, "fanout_client: %s on connection %d: %.*s%s\n", what, c->idx,
            (int)(len > 400 ? 400 : len), (const char *)p, len > 400 ? "..." : "");
}

static void send_say(int msgid) {
    int sender = msgid % opt_senders;
    conn_t *c = &conns[sender];
    char text[8192];
    int64_t t = now_ns();
    int n = snprintf(text, sizeof text, "@@%d:%" PRId64 "@@", msgid, t);
    while (n < opt_message_bytes && n < (int)sizeof text - 1) text[n++] = 'x';
    text[n] = 0;
    sent_ns[msgid] = t;
    if (msgid >= opt_warmup && t_first_measured_send == 0) t_first_measured_send = t;
    ws_send_text(c, "{\"type\":\"say\",\"id\":\"s%d\",\"room\":\"%s\",\"text\":\"%s\"}", msgid,
                 opt_room, text);
    sent_total++;
}

static void record_delivery(conn_t *c, int msgid, int64_t t_sent, int64_t now) {
    if (msgid < 0 || msgid >= opt_messages || sent_ns[msgid] == 0) {
        bogus++;
        return;
    }
    uint64_t bit = (uint64_t)c->idx * (uint64_t)opt_messages + (uint64_t)msgid;
    if (seen[bit >> 3] & (1u << (bit & 7))) {
        duplicates++;
        return;
    }
    seen[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    deliveries++;
    t_last_progress = now;
    if (msgid >= opt_warmup) {
        int64_t lat = now - t_sent;
        if (lat < 0) lat = 0;
        uint64_t us = (uint64_t)lat / 1000;
        hist[us < HIST_BUCKETS ? us : HIST_BUCKETS - 1]++;
        if (lat > lat_max_ns) lat_max_ns = lat;
        measured_deliveries++;
        t_last_measured_rx = now;
    }
    if (++delivered[msgid] == (uint32_t)opt_clients && !rejected[msgid]) {
        completed++;
        if (opt_rate <= 0) inflight[msgid % opt_senders]--;
    }
}

/* A say answered with an error will never be delivered: count it, and free its sender's
 * window slot so one refused message does not stall the run. */
static void reject(int msgid) {
    if (msgid < 0 || msgid >= opt_messages || sent_ns[msgid] == 0 || rejected[msgid]) return;
    rejected[msgid] = 1;
    rejected_total++;
    if (delivered[msgid] == (uint32_t)opt_clients) return; /* already complete */
    completed++;
    if (opt_rate <= 0) inflight[msgid % opt_senders]--;
}

/* Error objects put "id" right after "type" (Tryst: {"type":"error","id":...}); take the
 * first "id" before the next "type", and if it names one of our says, reject it. */
static void reject_errored_says(const unsigned char *p, size_t len) {
    const unsigned char *end = p + len;
    while ((p = find_pair(p, end, "\"type\"", "\"error\"")) != NULL) {
        p += 7;
        const unsigned char *next = find_pair(p, end, "\"type\"", "\"");
        const unsigned char *id = find_pair(p, next ? next : end, "\"id\"", "\"s");
        if (!id) continue;
        int msgid = 0, digits = 0;
        for (id += 2; id < end && *id >= '0' && *id <= '9'; id++, digits++)
            msgid = msgid * 10 + (*id - '0');
        if (digits && id < end && *id == '"') reject(msgid);
    }
}

/* Every "@@<id>:<ns>@@" in the payload is one delivered say event; a frame may be one
 * event object or an array of them (Tryst coalesces), so scan rather than count frames. */
static void scan_markers(conn_t *c, const unsigned char *p, size_t len, int64_t now) {
    const unsigned char *end = p + len;
    while (p < end) {
        const unsigned char *m = memmem(p, (size_t)(end - p), "@@", 2);
        if (!m) break;
        const unsigned char *q = m + 2;
        int64_t id = 0, ts = 0;
        int digits = 0;
        while (q < end && *q >= '0' && *q <= '9') id = id * 10 + (*q++ - '0'), digits++;
        if (q < end && *q == ':' && digits) {
            q++;
            digits = 0;
            while (q < end && *q >= '0' && *q <= '9') ts = ts * 10 + (*q++ - '0'), digits++;
            if (digits && end - q >= 2 && q[0] == '@' && q[1] == '@') {
                record_delivery(c, (int)id, ts, now);
                p = q + 2;
                continue;
            }
        }
        p = m + 2;
    }
}

static void start_next_connections(void);

static void became_ready(conn_t *c) {
    c->state = ST_READY;
    in_setup--;
    ready_count++;
    if (ready_count == opt_clients) {
        t_ready = now_ns();
        phase = PH_SETTLE;
        fprintf(stderr, "fanout_client: %d clients ready in %.2f s\n", ready_count,
                (double)(t_ready - t_start) / 1e9);
    }
    start_next_connections();
}

static void on_text(conn_t *c, const unsigned char *p, size_t len, int64_t now) {
    if (phase == PH_MEASURE) frames_rx++;
    t_last_rx = now;
    /* memmem first: the exact check is rarely needed and this runs per frame. */
    int errs = memmem(p, len, "error", 5) ? count_pair(p, len, "\"type\"", "\"error\"") : 0;
    if (errs) {
        errors += (uint64_t)errs;
        if (printed_errors++ < MAX_PRINTED_ERRORS) print_frame("error frame", c, p, len);
        if (c->state != ST_READY) die("setup failed (see the error frame above)");
        reject_errored_says(p, len);
    }
    switch (c->state) {
    case ST_HELLO:
        if (count_pair(p, len, "\"id\"", "\"bench-hello\"")) {
            c->state = ST_JOIN;
            ws_send_text(c, "{\"type\":\"join\",\"id\":\"bench-join\",\"room\":\"%s\"}", opt_room);
        }
        break;
    case ST_JOIN:
        if (count_pair(p, len, "\"id\"", "\"bench-join\"")) became_ready(c);
        break;
    case ST_WAIT_READY:
        if (count_pair(p, len, "\"id\"", "\"bench-ready\"")) became_ready(c);
        break;
    case ST_READY:
        if (phase == PH_MEASURE || phase == PH_DONE) scan_markers(c, p, len, now);
        break;
    default:
        break;
    }
}

static void on_frame(conn_t *c, int fin, int opcode, const unsigned char *p, size_t len,
                     int64_t now) {
    if (opcode >= 0x8) { /* control frames are never fragmented */
        if (opcode == 0x9) {
            ws_send(c, 0xA, (const char *)p, len);
        } else if (opcode == 0x8) {
            unsigned code = len >= 2 ? (unsigned)(p[0] << 8 | p[1]) : 0;
            char why[200];
            snprintf(why, sizeof why, "server sent close %u %.*s", code,
                     (int)(len > 2 ? (len - 2 > 120 ? 120 : len - 2) : 0),
                     (const char *)p + 2);
            conn_close(c, why);
        }
        return;
    }
    if (opcode != 0x0 && fin) {
        if (opcode == 0x1) on_text(c, p, len, now);
        return;
    }
    if (opcode != 0x0) {
        c->frag_op = opcode;
        c->flen = 0;
    }
    if (c->flen + len > c->fcap) {
        c->fcap = (c->flen + len) * 2;
        c->frag = xrealloc(c->frag, c->fcap);
    }
    memcpy(c->frag + c->flen, p, len);
    c->flen += len;
    if (fin) {
        if (c->frag_op == 0x1) on_text(c, c->frag, c->flen, now);
        c->flen = 0;
    }
}

static void on_handshake(conn_t *c) {
    unsigned char *e = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    if (!e) return;
    if (c->rlen < 12 || memcmp(c->rbuf + 9, "101", 3) != 0) {
        print_frame("upgrade refused", c, c->rbuf, (size_t)(e - c->rbuf));
        die("the server refused the WebSocket upgrade");
    }
    size_t used = (size_t)(e + 4 - c->rbuf);
    memmove(c->rbuf, c->rbuf + used, c->rlen - used);
    c->rlen -= used;
    if (opt_tryst) {
        c->state = ST_HELLO;
        ws_send_text(c,
                     "{\"type\":\"hello\",\"id\":\"bench-hello\",\"version\":1,"
                     "\"persona\":\"%s\"}",
                     personas[c->idx]);
    } else {
        c->state = ST_WAIT_READY;
    }
}

static void parse_frames(conn_t *c, int64_t now) {
    size_t off = 0;
    while (c->state != ST_CLOSED) {
        unsigned char *b = c->rbuf + off;
        size_t avail = c->rlen - off;
        if (avail < 2) break;
        int fin = b[0] >> 7, opcode = b[0] & 0x0f, masked = b[1] >> 7;
        uint64_t plen = b[1] & 0x7f;
        size_t h = 2;
        if (plen == 126) {
            if (avail < 4) break;
            plen = (uint64_t)b[2] << 8 | b[3];
            h = 4;
        } else if (plen == 127) {
            if (avail < 10) break;
            plen = 0;
            for (int i = 0; i < 8; i++) plen = plen << 8 | b[2 + i];
            h = 10;
        }
        if (masked) h += 4;
        if (avail < h + plen) {
            if (h + plen > c->rcap) { /* make room for one large frame */
                c->rcap = (h + plen) * 2;
                c->rbuf = xrealloc(c->rbuf, c->rcap);
            }
            break;
        }
        unsigned char *payload = b + h;
        if (masked)
            for (uint64_t i = 0; i < plen; i++) payload[i] ^= b[h - 4 + (i & 3)];
        on_frame(c, fin, opcode, payload, (size_t)plen, now);
        off += h + plen;
    }
    if (c->state == ST_CLOSED) return;
    if (off) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
}

/* Edge-triggered: a read that does not fill the buffer has drained the socket (new data
 * raises a new edge), so the usual extra read that returns EAGAIN is saved, and so is
 * the re-poll of every ready socket a level-triggered epoll does. */
static void on_readable(conn_t *c) {
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            c->rcap *= 2;
            c->rbuf = xrealloc(c->rbuf, c->rcap);
        }
        size_t room = c->rcap - c->rlen;
        ssize_t n = read(c->fd, c->rbuf + c->rlen, room);
        if (n == 0) {
            conn_close(c, "server closed the TCP connection");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) conn_close(c, strerror(errno));
            return;
        }
        /* One clock read per read(): every frame in this chunk arrived together. */
        int64_t now = now_ns();
        c->rlen += (size_t)n;
        if (phase == PH_MEASURE) reads_measured++;
        if (c->state == ST_HANDSHAKE) on_handshake(c);
        if (c->state != ST_HANDSHAKE && c->state != ST_CLOSED) parse_frames(c, now);
        if (c->state == ST_CLOSED || (size_t)n < room) return;
    }
}

static void on_connected(conn_t *c) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) die("connect to %s:%d failed: %s", opt_host, opt_port, strerror(err));
    char req[2048];
    char auth[1024] = "";
    if (opt_tryst) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", tokens[c->idx]);
    /* No Sec-WebSocket-Extensions: frames stay uncompressed on both servers. */
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     opt_path, opt_host, opt_port, auth);
    c->state = ST_HANDSHAKE;
    set_events(c, 0);
    conn_write(c, req, (size_t)n);
}

static void start_next_connections(void) {
    while (next_to_start < opt_clients && in_setup < opt_connect_concurrency) {
        conn_t *c = &conns[next_to_start];
        c->idx = next_to_start++;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c->fd < 0) die("socket: %s (raise the open-files limit?)", strerror(errno));
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
        if (inet_pton(AF_INET, opt_host, &sa.sin_addr) != 1) die("bad host %s", opt_host);
        c->rcap = 16384;
        c->rbuf = xrealloc(NULL, c->rcap);
        c->state = ST_CONNECTING;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
                                 .data.u64 = (uint64_t)c->idx};
        c->polling_out = 1;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
        in_setup++;
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
            die("connect: %s", strerror(errno));
    }
}

static void pump_senders(int64_t now) {
    if (phase != PH_MEASURE || send_capped) return;
    if (now - t_measure > (int64_t)(opt_send_limit_s * 1e9)) {
        /* Bounded in time as well as count: a slow server gets fewer messages, and
         * the figures are rates, so they stay comparable. */
        send_capped = 1;
        fprintf(stderr, "fanout_client: send time limit of %.0f s reached after %d messages\n",
                opt_send_limit_s, sent_total);
        return;
    }
    if (opt_rate > 0) {
        double due = opt_rate * (double)(now - t_measure) / 1e9 + 1.0;
        while (sent_total < opt_messages && sent_total < due) send_say(sent_total);
        return;
    }
    for (int s = 0; s < opt_senders; s++) {
        while (inflight[s] < opt_window) {
            int msgid = next_k[s] * opt_senders + s;
            if (msgid >= opt_messages) break;
            next_k[s]++;
            inflight[s]++;
            send_say(msgid);
        }
    }
}

static void load_credentials(void) {
    tokens = calloc((size_t)opt_clients, sizeof *tokens);
    personas = calloc((size_t)opt_clients, sizeof *personas);
    if (!opt_tryst) return;
    if (!opt_credentials) die("--credentials is required in tryst mode");
    FILE *f = fopen(opt_credentials, "r");
    if (!f) die("cannot open %s: %s", opt_credentials, strerror(errno));
    char line[2048];
    int i = 0;
    while (i < opt_clients && fgets(line, sizeof line, f)) {
        char tok[1024], per[256];
        if (sscanf(line, "%1023s %255s", tok, per) != 2) continue;
        tokens[i] = strdup(tok);
        personas[i] = strdup(per);
        i++;
    }
    fclose(f);
    if (i < opt_clients) die("%s has %d credentials, need %d", opt_credentials, i, opt_clients);
}

static double pct_ms(double q) {
    if (measured_deliveries == 0) return -1;
    uint64_t rank = (uint64_t)(q * (double)measured_deliveries);
    if (rank >= measured_deliveries) rank = measured_deliveries - 1;
    uint64_t cum = 0;
    for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
        cum += hist[i];
        if (cum > rank) return (i + 0.5) / 1000.0; /* bucket middle, in ms */
    }
    return (double)lat_max_ns / 1e6;
}

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static void report(const char *outcome) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int64_t t_end = now_ns();
    double span = t_last_measured_rx > t_first_measured_send
                      ? (double)(t_last_measured_rx - t_first_measured_send) / 1e9
                      : 0.0;
    double measure_wall = t_measure ? (double)(t_end - t_measure) / 1e9 : 0.0;
    double cpu = tv_s(ru.ru_utime) + tv_s(ru.ru_stime) - tv_s(ru_measure.ru_utime) -
                 tv_s(ru_measure.ru_stime);
    uint64_t expected = (uint64_t)opt_clients * (uint64_t)sent_total;
    printf("{\"outcome\":\"%s\",\"clients\":%d,\"ready\":%d,\"messages\":%d,\"sent\":%d,"
           "\"send_capped\":%s,"
           "\"expected_deliveries\":%" PRIu64 ",\"deliveries\":%" PRIu64 ","
           "\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"bogus\":%" PRIu64 ","
           "\"errors\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"unexpected_closes\":%" PRIu64 ","
           "\"frames\":%" PRIu64 ",\"reads\":%" PRIu64 ","
           "\"measured_deliveries\":%" PRIu64 ",\"measured_s\":%.4f,"
           "\"deliveries_per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"setup_s\":%.3f,\"settle_s\":%.3f,"
           "\"measure_wall_s\":%.3f,\"client_cpu_util\":%.3f}\n",
           outcome, opt_clients, ready_count, opt_messages, sent_total,
           send_capped ? "true" : "false", expected, deliveries,
           expected - deliveries, duplicates, bogus, errors, rejected_total, unexpected_closes,
           frames_rx,
           reads_measured,
           measured_deliveries, span, span > 0 ? (double)measured_deliveries / span : 0.0,
           pct_ms(0.50), pct_ms(0.90), pct_ms(0.99), pct_ms(0.999), (double)lat_max_ns / 1e6,
           t_ready ? (double)(t_ready - t_start) / 1e9 : -1.0,
           t_measure ? (double)(t_measure - t_ready) / 1e9 : -1.0, measure_wall,
           measure_wall > 0 ? cpu / measure_wall : 0.0);
    fflush(stdout);
}

static void usage(void) {
    fprintf(stderr,
            "usage: fanout_client --port P [--mode relay|tryst] [--clients N] [--senders S]\n"
            "  [--messages M] [--message-bytes B] [--window W | --rate R] [--warmup K]\n"
            "  [--credentials FILE] [--room ROOM] [--path /ws] [--connect-concurrency C]\n"
            "  [--settle-ms MS] [--idle-timeout-s S] [--timeout-s S] [--send-limit-s S]\n");
    exit(2);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) opt_host = v;
        else if (!strcmp(a, "--port")) opt_port = atoi(v);
        else if (!strcmp(a, "--path")) opt_path = v;
        else if (!strcmp(a, "--mode")) opt_tryst = !strcmp(v, "tryst");
        else if (!strcmp(a, "--clients")) opt_clients = atoi(v);
        else if (!strcmp(a, "--senders")) opt_senders = atoi(v);
        else if (!strcmp(a, "--messages")) opt_messages = atoi(v);
        else if (!strcmp(a, "--message-bytes")) opt_message_bytes = atoi(v);
        else if (!strcmp(a, "--window")) opt_window = atoi(v);
        else if (!strcmp(a, "--rate")) opt_rate = atof(v);
        else if (!strcmp(a, "--warmup")) opt_warmup = atoi(v);
        else if (!strcmp(a, "--credentials")) opt_credentials = v;
        else if (!strcmp(a, "--room")) opt_room = v;
        else if (!strcmp(a, "--connect-concurrency")) opt_connect_concurrency = atoi(v);
        else if (!strcmp(a, "--settle-ms")) opt_settle_ms = atof(v);
        else if (!strcmp(a, "--idle-timeout-s")) opt_idle_timeout_s = atof(v);
        else if (!strcmp(a, "--timeout-s")) opt_timeout_s = atof(v);
        else if (!strcmp(a, "--send-limit-s")) opt_send_limit_s = atof(v);
        else usage();
    }
    if (opt_port <= 0 || opt_clients < 1 || opt_senders < 1 || opt_senders > opt_clients ||
        opt_messages < 1 || opt_window < 1 || opt_message_bytes < 40 ||
        opt_message_bytes > 4000 || opt_connect_concurrency < 1)
        usage();
    if (opt_warmup >= opt_messages) opt_warmup = 0;
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    /* One descriptor per client: take the whole hard limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)opt_clients + 16)
        die("open-files limit %llu is too low for %d clients", (unsigned long long)rl.rlim_cur,
            opt_clients);
    load_credentials();
    rng ^= (uint32_t)getpid();

    conns = calloc((size_t)opt_clients, sizeof *conns);
    delivered = calloc((size_t)opt_messages, sizeof *delivered);
    sent_ns = calloc((size_t)opt_messages, sizeof *sent_ns);
    rejected = calloc((size_t)opt_messages, 1);
    seen = calloc(((size_t)opt_clients * (size_t)opt_messages + 7) / 8, 1);
    inflight = calloc((size_t)opt_senders, sizeof *inflight);
    next_k = calloc((size_t)opt_senders, sizeof *next_k);
    hist = calloc(HIST_BUCKETS, sizeof *hist);
    if (!conns || !delivered || !sent_ns || !rejected || !seen || !inflight || !next_k || !hist)
        die("out of memory");

    epfd = epoll_create1(0);
    int tfd = -1;
    if (opt_rate > 0) {
        tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
        struct itimerspec its = {.it_interval = {0, 1000000}, .it_value = {0, 1000000}};
        timerfd_settime(tfd, 0, &its, NULL);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TIMER_TAG};
        epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
    }

    t_start = now_ns();
    t_last_rx = t_start;
    start_next_connections();

    struct epoll_event evs[512];
    const char *outcome = "ok";
    while (phase != PH_DONE) {
        int n = epoll_wait(epfd, evs, 512, 20);
        if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == TIMER_TAG) {
                uint64_t ticks;
                while (read(tfd, &ticks, sizeof ticks) > 0) {
                }
                continue;
            }
            conn_t *c = &conns[evs[i].data.u64];
            if (c->state == ST_CLOSED) continue;
            if (evs[i].events & (EPOLLERR | EPOLLHUP) && c->state == ST_CONNECTING)
                die("connect to %s:%d failed", opt_host, opt_port);
            if (evs[i].events & EPOLLOUT) {
                if (c->state == ST_CONNECTING) on_connected(c);
                else conn_flush(c);
            }
            if (c->state != ST_CLOSED && c->state != ST_CONNECTING && evs[i].events & EPOLLIN)
                on_readable(c);
        }
        int64_t now = now_ns();
        if (phase == PH_SETTLE && now - t_last_rx > (int64_t)(opt_settle_ms * 1e6)) {
            /* Quiet: setup traffic (Tryst's join events) is drained, the room is idle. */
            phase = PH_MEASURE;
            t_measure = now;
            t_last_progress = now;
            getrusage(RUSAGE_SELF, &ru_measure);
            fprintf(stderr, "fanout_client: measuring (quiet after %.2f s)\n",
                    (double)(now - t_ready) / 1e9);
        }
        pump_senders(now);
        if (phase == PH_MEASURE &&
            (completed == opt_messages || (send_capped && completed == sent_total))) {
            outcome = "ok";
            break;
        }
        if (closed_count > 0 && phase != PH_MEASURE) {
            outcome = "closed during setup";
            break;
        }
        if (ready_count + closed_count == opt_clients && ready_count < opt_clients &&
            phase == PH_SETUP) {
            outcome = "closed during setup";
            break;
        }
        if (phase == PH_MEASURE && now - t_last_progress > (int64_t)(opt_idle_timeout_s * 1e9)) {
            fprintf(stderr, "fanout_client: no delivery for %.1f s, giving up\n",
                    opt_idle_timeout_s);
            outcome = "stalled";
            break;
        }
        if (now - t_start > (int64_t)(opt_timeout_s * 1e9)) {
            fprintf(stderr, "fanout_client: time limit of %.0f s reached\n", opt_timeout_s);
            outcome = "timeout";
            break;
        }
    }
    phase = PH_DONE;
    report(outcome);
    return 0;
}
