/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http.c: coda-server's http mode, a minimal HTTP/1.1 responder (RFC 9112)
 * for load generators and wire tests (curl, wrk).
 *
 * Every request gets 200 with a body of http_body bytes (a repeating
 * 64-byte line) and its Content-Length; HEAD gets the head alone. A
 * request's head (request line and header fields) may take up to
 * http_max_request bytes; one that is malformed or longer gets 400, a
 * request with Transfer-Encoding 501 (no chunked bodies here), a version
 * other than HTTP/1.x 505, and the connection is closed after that answer.
 * A Content-Length body is read and dropped.
 *
 * Persistence (RFC 9112 §9.3): HTTP/1.1 stays open unless the request
 * says "Connection: close"; HTTP/1.0 closes unless it says
 * "Connection: keep-alive"; with http_keepalive off every response closes.
 * Closing, the server sends "Connection: close" and closes first: its FIN
 * follows the response, so coda, not the client, holds the TIME-WAIT.
 * When the client has sent more than was read (an oversize request, a
 * request after the one that closes), a plain close() would send RST and
 * could destroy the response in flight (RFC 9112 §9.6): then the server
 * shuts down its write side only, reads and drops up to LINGER_MAX bytes
 * until the client's FIN, and closes after it.
 *
 * Pipelining: requests are answered in order, one at a time; the next one
 * is parsed only once the previous response is all in the send buffer,
 * and nothing more is read while a response waits for room (WRITABLE), so
 * a client that does not read is held back by TCP's window.
 *
 * Per connection: one buffer of http_max_request bytes for the request
 * head, with the response head after it, allocated at the first event.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_common.h>

#include "server.h"

#define HEAD_MAX 512		  /* room for a response head */
#define LINGER_MAX (1u << 20)	  /* bytes read and dropped after our FIN, before RST */

/* The body: a 64-byte line, repeated; one line more for the phase of a short send. */
#define BODY_PERIOD 64
#define BODY_LINE "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\n"
#define X4(s) s s s s
static const char body[] = X4(X4(X4(BODY_LINE))) BODY_LINE;
#define BODY_CHUNK (sizeof(body) - 1 - BODY_PERIOD) /* 4096 */

static_assert(sizeof(BODY_LINE) - 1 == BODY_PERIOD, "the body line is 64 bytes");

/* What a request asks, as far as the answer depends on it. */
struct req {
	bool v10;	     /* HTTP/1.0 (else 1.1 or a later 1.x) */
	bool head;	     /* HEAD: the response has no body */
	bool close;	     /* "Connection: close" */
	bool keepalive;	     /* "Connection: keep-alive" */
	bool expect100;	     /* "Expect: 100-continue" */
	bool has_length;
	uint64_t length;     /* Content-Length */
	unsigned int hosts;  /* Host fields */
};

/* tchar of RFC 9110 §5.6.2. */
static bool
is_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool
is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* Name @p s (@p n bytes) is @p name, in any case. */
static bool
name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* The list value @p v (@p n bytes, comma separated) holds @p tok, in any case. */
static bool
list_has(const char *v, size_t n, const char *tok)
{
	size_t i = 0;

	while (i < n) {
		size_t a, b;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		a = i;
		while (i < n && v[i] != ',')
			i++;
		b = i;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (name_is(v + a, b - a, tok))
			return true;
	}
	return false;
}

/* Request line, RFC 9112 §3: method SP request-target SP HTTP-version. 0 or -status. */
static int
parse_request_line(const char *l, size_t n, struct req *r)
{
	const char *sp1 = memchr(l, ' ', n), *sp2, *v;

	if (sp1 == NULL || !is_token(l, (size_t)(sp1 - l)))
		return -400;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return -400;
	for (const char *t = sp1 + 1; t < sp2; t++)
		if ((unsigned char)*t <= ' ' || *t == 0x7f)
			return -400;
	v = sp2 + 1;
	if ((size_t)(l + n - v) != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return -400;
	if (v[5] != '1')
		return -505;
	r->v10 = v[7] == '0';
	r->head = (size_t)(sp1 - l) == 4 && memcmp(l, "HEAD", 4) == 0;
	return 0;
}

/* A field line, RFC 9112 §5: field-name ":" OWS field-value OWS. 0 or -status. */
static int
parse_field(const char *l, size_t n, struct req *r)
{
	const char *colon = memchr(l, ':', n), *v, *e;
	size_t name_len, vn;

	/* No whitespace before the colon, no obsolete line folding (§5.1, §5.2). */
	if (colon == NULL || !is_token(l, (size_t)(colon - l)))
		return -400;
	name_len = (size_t)(colon - l);
	v = colon + 1;
	e = l + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	vn = (size_t)(e - v);
	if (name_is(l, name_len, "content-length")) {
		uint64_t x = 0;

		if (vn == 0)
			return -400;
		for (size_t i = 0; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
				return -400;
			x = x * 10 + (uint64_t)(v[i] - '0');
		}
		/* Several fields must agree (RFC 9112 §6.3, 5.). */
		if (r->has_length && r->length != x)
			return -400;
		r->has_length = true;
		r->length = x;
	} else if (name_is(l, name_len, "transfer-encoding")) {
		return -501; /* chunked bodies are not read here */
	} else if (name_is(l, name_len, "connection")) {
		r->close |= list_has(v, vn, "close");
		r->keepalive |= list_has(v, vn, "keep-alive");
	} else if (name_is(l, name_len, "expect")) {
		r->expect100 |= name_is(v, vn, "100-continue");
	} else if (name_is(l, name_len, "host")) {
		r->hosts++;
	}
	return 0;
}

/*
 * The request head at @p p (@p len bytes buffered). @return its length with
 * the empty line that ends it (and empty lines before it, RFC 9112 §2.2), 0
 * while it is incomplete, or -status (400, 501, 505).
 */
static int
parse_request(const char *p, uint32_t len, struct req *r)
{
	uint32_t pos = 0;
	bool first = true;

	memset(r, 0, sizeof(*r));
	for (;;) {
		const char *nl = memchr(p + pos, '\n', len - pos);
		size_t n;

		if (nl == NULL)
			return 0;
		n = (size_t)(nl - (p + pos));
		if (n > 0 && p[pos + n - 1] == '\r')
			n--;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)p[pos + i];

			if ((ch < ' ' && ch != '\t') || ch == 0x7f)
				return -400; /* a bare CR, NUL, another control */
		}
		if (n == 0) {
			pos = (uint32_t)(nl - p) + 1;
			if (first)
				continue; /* an empty line before the request line */
			break;
		}
		if (first) {
			int s = parse_request_line(p + pos, n, r);

			if (s != 0)
				return s;
			first = false;
		} else {
			int s;

			if (p[pos] == ' ' || p[pos] == '\t')
				return -400; /* obs-fold */
			s = parse_field(p + pos, n, r);
			if (s != 0)
				return s;
		}
		pos = (uint32_t)(nl - p) + 1;
	}
	/* RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in 1.0. */
	if (r->hosts > 1 || (!r->v10 && r->hosts == 0))
		return -400;
	return (int)pos;
}

/* ctx->date: the current IMF-fixdate (RFC 9110 §5.6.7), made once a second. */
static const char *
date_now(struct mode_ctx *ctx)
{
	time_t t = time(NULL);
	struct tm tm;

	if (t != ctx->date_at || ctx->date[0] == '\0') {
		ctx->date_at = t;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(ctx->date, sizeof(ctx->date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
			ctx->date[0] = '\0';
	}
	return ctx->date;
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 501:
		return "Not Implemented";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Bad Request";
	}
}

/* Queue the response head (and the body to follow) for @p status. */
static void
respond(struct mode_ctx *ctx, struct mode_conn *c, int status, const struct req *r)
{
	char *h = (char *)c->buf + ctx->conf.http_max_request;
	uint64_t length = status == 200 ? ctx->conf.http_body : 0;
	const char *conn = "", *cont = "";
	int n;

	if (c->closing)
		conn = "Connection: close\r\n";
	else if (r->v10)
		conn = "Connection: keep-alive\r\n";
	/* RFC 9110 §10.1.1: 100 Continue first when the client waits for it to send a body. */
	if (status == 200 && r->expect100 && !r->v10)
		cont = "HTTP/1.1 100 Continue\r\n\r\n";
	n = snprintf(h, HEAD_MAX,
		     "%sHTTP/1.1 %d %s\r\nServer: coda-server\r\nDate: %s\r\n"
		     "Content-Type: text/plain\r\nContent-Length: %" PRIu64 "\r\n%s\r\n",
		     cont, status, status_text(status), date_now(ctx), length, conn);
	c->head_off = 0;
	c->head_len = (uint16_t)RTE_MIN(n, HEAD_MAX - 1);
	c->body_left = r->head ? 0 : length;
	c->body_off = 0;
}

/* Send what waits of the response: 0 all sent, -EAGAIN wait for WRITABLE, or an error. */
static int
flush(struct coda_worker *w, struct mode_ctx *ctx, int sock, struct mode_conn *c)
{
	const char *h = (const char *)c->buf + ctx->conf.http_max_request;
	int32_t n;

	while (c->head_off < c->head_len) {
		n = coda_worker_send(w, sock, h + c->head_off, c->head_len - c->head_off);
		if (n <= 0)
			return n == 0 ? -EAGAIN : n;
		ctx->bytes_out += (uint32_t)n;
		c->head_off += (uint16_t)n;
	}
	while (c->body_left != 0) {
		uint32_t k = (uint32_t)RTE_MIN(c->body_left, (uint64_t)BODY_CHUNK);

		n = coda_worker_send(w, sock, body + c->body_off % BODY_PERIOD, k);
		if (n <= 0)
			return n == 0 ? -EAGAIN : n;
		ctx->bytes_out += (uint32_t)n;
		c->body_off += (uint32_t)n;
		c->body_left -= (uint32_t)n;
	}
	return 0;
}

/* Drop @p n bytes from the front of the request buffer. */
static void
consume(struct mode_conn *c, uint32_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/*
 * The response that closes is all in the send buffer: close, or if the
 * client sent more than was read, shut down writing and linger (above).
 */
static void
finish(struct coda_worker *w, struct mode_ctx *ctx, int sock, struct mode_conn *c)
{
	struct coda_tcp_info info;

	c->closing = false;
	if (c->skip == 0 && coda_tcp_info(coda_worker_tcp(w), sock, &info) == 0 &&
	    info.readable == 0) {
		mode_conn_close(w, ctx, sock);
		return;
	}
	c->lingering = true;
	c->len = 0;
	c->done = 0;
	if (coda_worker_shutdown(w, sock, CODA_TCP_SHUT_WR) != 0)
		mode_conn_close(w, ctx, sock);
}

void
http_run(struct coda_worker *w, struct mode_ctx *ctx, int sock, struct mode_conn *c)
{
	const uint32_t cap = ctx->conf.http_max_request;

	if (c->buf == NULL) {
		c->buf = malloc(cap + HEAD_MAX);
		if (c->buf == NULL) {
			mode_conn_close(w, ctx, sock);
			return;
		}
	}
	for (;;) {
		struct req r;
		int32_t n;
		int s;

		s = flush(w, ctx, sock, c);
		if (s == -EAGAIN)
			return;
		if (s < 0) {
			mode_conn_close(w, ctx, sock); /* reset, or shut down under us */
			return;
		}
		/* A request body: dropped. */
		if (c->skip != 0 && c->len != 0) {
			uint32_t k = (uint32_t)RTE_MIN(c->skip, (uint64_t)c->len);

			consume(c, k);
			c->skip -= k;
		}
		if (c->closing) {
			finish(w, ctx, sock, c);
			if (!c->lingering)
				return;
		}
		if (c->lingering) {
			n = coda_worker_recv(w, sock, c->buf, cap);
			if (n == -EAGAIN)
				return;
			if (n > 0 && (c->done += (uint32_t)n) <= LINGER_MAX)
				continue;
			/* The client's FIN (or an error, or too much): close now. */
			mode_conn_close(w, ctx, sock);
			return;
		}
		if (c->skip == 0 && c->len != 0) {
			s = parse_request((const char *)c->buf, c->len, &r);
			if (s == 0 && c->len == cap)
				s = -400; /* no end of the head in http_max_request bytes */
			if (s > 0) {
				consume(c, (uint32_t)s);
				c->skip = r.length;
				c->closing = !ctx->conf.http_keepalive || r.close ||
					     (r.v10 && !r.keepalive);
				ctx->http_requests++;
				respond(ctx, c, 200, &r);
				continue;
			}
			if (s < 0) {
				/* The rest cannot be framed: dropped; we close after the answer. */
				c->len = 0;
				c->skip = 0;
				c->closing = true;
				ctx->http_errors++;
				respond(ctx, c, -s, &r);
				continue;
			}
		}
		n = coda_worker_recv(w, sock, c->buf + c->len, cap - c->len);
		if (n > 0) {
			ctx->bytes_in += (uint32_t)n;
			c->len += (uint32_t)n;
			continue;
		}
		if (n == -EAGAIN)
			return;
		/* The client's FIN (it closed first), or an error. */
		mode_conn_close(w, ctx, sock);
		return;
	}
}
