/*
 * httpc.c - the blocking HTTPS client of eccfg (see httpc.h): libevent's
 * evhttp does the HTTP, bufferevent_openssl the TLS; each request runs
 * the client's private event loop until the response is complete, the
 * request failed, or the deadline passed.  One connection is kept alive
 * between requests and replaced when the server closed it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "error.h"
#include "httpc.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define HTTPC_HOST_MAX 253
#define HTTPC_URI_MAX 8192
#define HTTPC_HEADERS_MAX 64
#define HTTPC_HEADERS_SIZE (64 * 1024)
#define HTTPC_TIMEOUT_MAX 3600

struct ecc_http_client {
	struct event_base *base;
	struct evhttp_connection *conn;
	SSL *ssl;                     /* owned by the connection's bev */
	SSL_CTX *ctx;                 /* borrowed */
	char *host;
	char *host_header;
	int port;
	int timeout;
	size_t max_body;
	int capture_chain;
	int handshake_done;           /* of the current connection */
	int received;                 /* any TLS message from the server */
};

/* One request in flight. */
struct httpc_call {
	ecc_http_client *c;
	struct ecc_http_response *resp;
	int done;
	int got_response;
	int timed_out;
	int too_big;
	int have_error;
	enum evhttp_request_error error;
};

static int ssl_index = -1;
static pthread_once_t ssl_index_once = PTHREAD_ONCE_INIT;

static void
httpc_ssl_index_init(void)
{
	ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

void
ecc_http_response_clear(struct ecc_http_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->content_type);
	free(r->retry_after);
	free(r->peer_root_pem);
	memset(r, 0, sizeof(*r));
}

int
ecc_http_client_new(ecc_http_client **out, const char *host, int port,
    SSL_CTX *ctx, int timeout, size_t max_body)
{
	ecc_http_client *c = NULL;
	struct sigaction sa;
	size_t hlen;
	int error = -1;

	*out = NULL;
	hlen = host ? strnlen(host, HTTPC_HOST_MAX + 1) : 0;
	if (hlen == 0 || hlen > HTTPC_HOST_MAX || strpbrk(host, " \t\r\n/")) {
		error = ecc_error_set(ECC_EINVALID, "bad server host name");
		goto out;
	}
	if (port < 1 || port > 65535 || timeout < 1 ||
	    timeout > HTTPC_TIMEOUT_MAX || !ctx || max_body == 0) {
		error = ecc_error_set(ECC_EINVALID,
		    "bad HTTP client parameters (port 1..65535, timeout "
		    "1..%d s)", HTTPC_TIMEOUT_MAX);
		goto out;
	}
	pthread_once(&ssl_index_once, httpc_ssl_index_init);
	if (ssl_index < 0) {
		error = ecc_error_set_ssl(ECC_ERROR, "SSL_get_ex_new_index");
		goto out;
	}
	/* A write to a connection the server closed must be an error, not
	 * the death of the program (OpenSSL writes with write(2)). */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	c = ecc_calloc(1, sizeof(*c));
	c->host = ecc_strdup(host);
	c->host_header = strchr(host, ':') ?
	    ecc_printf("[%s]:%d", host, port) : ecc_printf("%s:%d", host, port);
	c->port = port;
	c->ctx = ctx;
	c->timeout = timeout;
	c->max_body = max_body;
	if ((c->base = event_base_new()) == NULL) {
		error = ecc_error_set(ECC_ERROR, "cannot create an event base");
		goto out;
	}
	*out = c;
	c = NULL;
	error = 0;
out:
	ecc_http_client_free(c);
	return error;
}

static void
httpc_drop_connection(ecc_http_client *c)
{
	if (c->conn)
		evhttp_connection_free(c->conn);
	c->conn = NULL;
	c->ssl = NULL;
}

void
ecc_http_client_free(ecc_http_client *c)
{
	if (!c)
		return;
	httpc_drop_connection(c);
	if (c->base)
		event_base_free(c->base);
	free(c->host);
	free(c->host_header);
	free(c);
}

void
ecc_http_client_capture_chain(ecc_http_client *c, int on)
{
	c->capture_chain = on != 0;
}

/* Notes when the handshake completed: failures before it are TLS or
 * connect failures, failures after it are HTTP ones. */
static void
httpc_ssl_info(const SSL *ssl, int where, int ret)
{
	ecc_http_client *c = SSL_get_ex_data(ssl, ssl_index);

	(void)ret;
	if (!c)
		return;
	if (where & SSL_CB_HANDSHAKE_DONE)
		c->handshake_done = 1;
}

static void
httpc_ssl_msg(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	ecc_http_client *c = SSL_get_ex_data(ssl, ssl_index);

	(void)version;
	(void)content_type;
	(void)buf;
	(void)len;
	(void)arg;
	if (c && !write_p)
		c->received = 1;
}

static int
httpc_connect(ecc_http_client *c)
{
	struct bufferevent *bev = NULL;
	SSL *ssl = NULL;
	int error = -1;

	c->handshake_done = 0;
	c->received = 0;
	if ((ssl = SSL_new(c->ctx)) == NULL) {
		error = ecc_error_set_ssl(ECC_ERROR, "SSL_new");
		goto out;
	}
	if ((error = ecc_tls_client_set_host(ssl, c->host)) < 0)
		goto out;
	SSL_set_ex_data(ssl, ssl_index, c);
	SSL_set_info_callback(ssl, httpc_ssl_info);
	SSL_set_msg_callback(ssl, httpc_ssl_msg);
	if ((bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		error = ecc_error_set(ECC_ERROR,
		    "cannot create a TLS bufferevent");
		goto out;
	}
	c->ssl = ssl;
	ssl = NULL;                   /* the bufferevent owns it now */
	/* Responses are framed (Content-Length or chunked), so evhttp
	 * notices a truncated one; a peer closing an idle connection
	 * without close_notify is then harmless. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	if ((c->conn = evhttp_connection_base_bufferevent_new(c->base, NULL,
	    bev, c->host, (unsigned short)c->port)) == NULL) {
		c->ssl = NULL;
		error = ecc_error_set(ECC_ERROR,
		    "cannot create an HTTP connection");
		goto out;
	}
	bev = NULL;                   /* the connection owns it now */
	evhttp_connection_set_timeout(c->conn, c->timeout);
	evhttp_connection_set_max_body_size(c->conn, (ev_ssize_t)c->max_body);
	evhttp_connection_set_max_headers_size(c->conn, HTTPC_HEADERS_SIZE);
	error = 0;
out:
	if (bev)
		bufferevent_free(bev);
	SSL_free(ssl);
	return error;
}

/* A kept-alive connection is reusable while its socket is open and
 * silent; a readable idle socket means the server closed it. */
static int
httpc_connection_usable(ecc_http_client *c)
{
	struct bufferevent *bev;
	struct pollfd pfd;
	int fd;

	if (!c->conn)
		return 0;
	bev = evhttp_connection_get_bufferevent(c->conn);
	if (!bev || (fd = bufferevent_getfd(bev)) < 0)
		return 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 0)
		return 0;
	return 1;
}

/* Requests go out as several TLS records: without TCP_NODELAY the last
 * waits for the server's delayed ACK of the first (up to 40 ms). */
static void
httpc_nodelay(ecc_http_client *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->conn);
	int fd, one = 1;

	if (bev && (fd = bufferevent_getfd(bev)) >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
}

static void
httpc_error_cb(enum evhttp_request_error err, void *arg)
{
	struct httpc_call *call = arg;

	call->have_error = 1;
	call->error = err;
	if (err == EVREQ_HTTP_DATA_TOO_LONG)
		call->too_big = 1;
}

static char *
httpc_header_dup(struct evkeyvalq *headers, const char *name)
{
	const char *v = evhttp_find_header(headers, name);

	return v ? ecc_strdup(v) : NULL;
}

static void
httpc_done_cb(struct evhttp_request *req, void *arg)
{
	struct httpc_call *call = arg;
	struct ecc_http_response *r = call->resp;
	ecc_http_client *c = call->c;
	struct evbuffer *in;
	struct evkeyvalq *headers;
	size_t len;

	call->done = 1;
	event_base_loopbreak(c->base);
	if (!req || evhttp_request_get_response_code(req) <= 0)
		return;
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	if (len > c->max_body) {
		call->too_big = 1;
		return;
	}
	headers = evhttp_request_get_input_headers(req);
	r->status = evhttp_request_get_response_code(req);
	r->body = ecc_malloc(len + 1);
	if (len > 0)
		evbuffer_copyout(in, r->body, len);
	r->body[len] = '\0';
	r->len = len;
	r->content_type = httpc_header_dup(headers, "Content-Type");
	r->retry_after = httpc_header_dup(headers, "Retry-After");
	if (c->capture_chain && c->ssl &&
	    ecc_tls_peer_chain_root_pem(&r->peer_root_pem, c->ssl) < 0)
		r->peer_root_pem = NULL;
	call->got_response = 1;
}

static void
httpc_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpc_call *call = arg;

	(void)fd;
	(void)what;
	call->timed_out = 1;
	call->done = 1;
	event_base_loopbreak(call->c->base);
}

static int
httpc_method(enum evhttp_cmd_type *out, const char *method)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type type;
	} methods[] = {
		{ "GET", EVHTTP_REQ_GET }, { "POST", EVHTTP_REQ_POST },
		{ "PUT", EVHTTP_REQ_PUT }, { "DELETE", EVHTTP_REQ_DELETE },
		{ "HEAD", EVHTTP_REQ_HEAD }, { "PATCH", EVHTTP_REQ_PATCH },
		{ "OPTIONS", EVHTTP_REQ_OPTIONS },
	};
	size_t i;

	for (i = 0; method && i < ECC_ARRAY_SIZE(methods); i++) {
		if (!strcmp(methods[i].name, method)) {
			*out = methods[i].type;
			return 0;
		}
	}
	return ecc_error_set(ECC_EINVALID, "unsupported HTTP method '%s'",
	    method ? method : "(null)");
}

static int
httpc_check_uri(const char *uri)
{
	size_t i, len = uri ? strnlen(uri, HTTPC_URI_MAX + 1) : 0;

	if (len == 0 || len > HTTPC_URI_MAX || uri[0] != '/')
		return ecc_error_set(ECC_EINVALID,
		    "request URI must start with '/' and be at most %d bytes",
		    HTTPC_URI_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)uri[i] <= 0x20 || uri[i] == 0x7f)
			return ecc_error_set(ECC_EINVALID, "request URI contains "
			    "a space or control character (escape it)");
	return 0;
}

/* The connection failed without a response: find out why.  evhttp does
 * not keep the socket error of a failed connect, so connect once more
 * ourselves to report it.  0 when that connect works. */
static int
httpc_connect_error(ecc_http_client *c)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	struct pollfd pfd;
	socklen_t slen;
	int fd, rc, err = ECONNREFUSED, soerr;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", c->port);
	if ((rc = getaddrinfo(c->host, port, &hints, &res)) != 0)
		return ecc_error_set(ECC_EUNAVAIL, "cannot resolve %s: %s",
		    c->host, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol)) < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			err = 0;
		} else if (errno != EINPROGRESS) {
			err = errno;
		} else {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			rc = poll(&pfd, 1, c->timeout * 1000);
			soerr = 0;
			slen = sizeof(soerr);
			if (rc == 0)
				err = ETIMEDOUT;
			else if (rc < 0)
				err = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &slen) < 0)
				err = errno;
			else
				err = soerr;
		}
		close(fd);
		if (err == 0)
			break;
	}
	freeaddrinfo(res);
	if (err == 0)
		return 0;
	return ecc_error_set(ECC_EUNAVAIL, "connect to %s: %s",
	    c->host_header, strerror(err));
}

/* Explain a request that ended without a response.  evhttp reports
 * failures while connecting (TCP and TLS handshake) with no detail, so
 * the TLS state, the OpenSSL errors and the elapsed time tell. */
static int
httpc_failure(ecc_http_client *c, struct httpc_call *call, uint64_t started)
{
	struct bufferevent *bev = c->conn ?
	    evhttp_connection_get_bufferevent(c->conn) : NULL;
	unsigned long e, first = 0;
	const char *reason;
	char buf[256];
	const char *why;
	int error;

	if (call->too_big)
		return ecc_error_set(ECC_ETOOBIG, "%s: response larger than "
		    "%zu bytes", c->host_header, c->max_body);
	if (call->timed_out || (call->have_error &&
	    call->error == EVREQ_HTTP_TIMEOUT))
		return ecc_error_set(ECC_EUNAVAIL, "%s: timed out after %d "
		    "seconds", c->host_header, c->timeout);
	/* bufferevent_openssl keeps the OpenSSL error codes of the
	 * connection, mixed with bare SSL_get_error() values (no library
	 * part), which say nothing more than "I/O error". */
	while (bev && (e = bufferevent_get_openssl_error(bev)) != 0)
		if (!first && ERR_GET_LIB(e) != 0)
			first = e;
	ERR_clear_error();
	if (c->handshake_done) {
		if (call->have_error && call->error == EVREQ_HTTP_INVALID_HEADER)
			return ecc_error_set(ECC_EUNAVAIL, "%s: invalid HTTP "
			    "response", c->host_header);
		return ecc_error_set(ECC_EUNAVAIL, "%s: connection closed "
		    "before a response arrived", c->host_header);
	}
	why = c->ssl ? ecc_tls_verify_error(c->ssl) : NULL;
	if (c->received && why)
		return ecc_error_set(ECC_EUNAVAIL, "%s: TLS: certificate verify "
		    "failed: %s", c->host_header, why);
	if (first) {
		if ((reason = ERR_reason_error_string(first)) == NULL) {
			ERR_error_string_n(first, buf, sizeof(buf));
			reason = buf;
		}
		return ecc_error_set(ECC_EUNAVAIL, "%s: TLS: %s",
		    c->host_header, reason);
	}
	if (ecc_now_ms() - started + 100 >= (uint64_t)c->timeout * 1000)
		return ecc_error_set(ECC_EUNAVAIL, "%s: timed out after %d "
		    "seconds", c->host_header, c->timeout);
	if (c->received)
		return ecc_error_set(ECC_EUNAVAIL, "%s: TLS: handshake failed: "
		    "connection closed by the server", c->host_header);
	/* Nothing came back: either the TCP connect failed, or the server
	 * accepted and closed at once. */
	if ((error = httpc_connect_error(c)) != 0)
		return error;
	return ecc_error_set(ECC_EUNAVAIL, "%s: TLS: handshake failed: "
	    "connection closed by the server", c->host_header);
}

/* One attempt; *retryable is set when a kept-alive connection turned out
 * to be dead before any response. */
static int
httpc_attempt(struct ecc_http_response *out, ecc_http_client *c,
    enum evhttp_cmd_type type, const char *uri, const char *const *headers,
    const void *body, size_t len, int *retryable)
{
	struct httpc_call call;
	struct evhttp_request *req = NULL;
	struct evkeyvalq *oh;
	struct event *deadline = NULL;
	struct timeval tv;
	char lenbuf[32];
	int reused, error = -1;
	uint64_t started = ecc_now_ms();
	size_t i;

	*retryable = 0;
	memset(&call, 0, sizeof(call));
	call.c = c;
	call.resp = out;
	reused = httpc_connection_usable(c);
	if (!reused) {
		httpc_drop_connection(c);
		if ((error = httpc_connect(c)) < 0)
			goto out;
	}
	if ((req = evhttp_request_new(httpc_done_cb, &call)) == NULL) {
		error = ecc_error_set(ECC_ERROR, "cannot create a request");
		goto out;
	}
	evhttp_request_set_error_cb(req, httpc_error_cb);
	oh = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(oh, "Host", c->host_header) < 0)
		goto bad_header;
	for (i = 0; headers && headers[i]; i += 2) {
		if (!headers[i + 1] || evhttp_add_header(oh, headers[i],
		    headers[i + 1]) < 0)
			goto bad_header;
	}
	if (len > 0 || type == EVHTTP_REQ_POST || type == EVHTTP_REQ_PUT ||
	    type == EVHTTP_REQ_PATCH) {
		snprintf(lenbuf, sizeof(lenbuf), "%zu", len);
		if (!evhttp_find_header(oh, "Content-Length") &&
		    evhttp_add_header(oh, "Content-Length", lenbuf) < 0)
			goto bad_header;
	}
	if (len > 0 && evbuffer_add(evhttp_request_get_output_buffer(req),
	    body, len) < 0) {
		error = ecc_error_set(ECC_ERROR, "cannot buffer the request");
		goto out;
	}
	/* evhttp bounds each connect, read and write; this bounds the sum
	 * (connect + request + response), so a trickling server cannot
	 * hold us forever. */
	if ((deadline = evtimer_new(c->base, httpc_deadline_cb,
	    &call)) == NULL) {
		error = ecc_error_set(ECC_ERROR, "cannot create a timer");
		goto out;
	}
	tv.tv_sec = 3 * c->timeout;
	tv.tv_usec = 0;
	evtimer_add(deadline, &tv);
	if (evhttp_make_request(c->conn, req, type, uri) < 0) {
		req = NULL;           /* freed by evhttp on failure */
		error = ecc_error_set(ECC_ERROR, "cannot send the request");
		goto out;
	}
	req = NULL;                   /* evhttp frees it when done */
	httpc_nodelay(c);
	while (!call.done)
		if (event_base_dispatch(c->base) < 0)
			break;
	if (!call.done) {
		error = ecc_error_set(ECC_ERROR, "event loop failed");
		goto out;
	}
	if (call.got_response && !call.too_big) {
		error = 0;
		goto out;
	}
	if (call.too_big)
		ecc_http_response_clear(out);
	error = httpc_failure(c, &call, started);
	*retryable = reused && !call.timed_out && !call.too_big &&
	    !call.got_response;
	/* Whatever state the connection is in, do not reuse it. */
	httpc_drop_connection(c);
	goto out;
bad_header:
	error = ecc_error_set(ECC_EINVALID, "bad request header (names and "
	    "values must not contain line breaks)");
out:
	if (deadline)
		event_free(deadline);
	if (req)
		evhttp_request_free(req);
	return error;
}

int
ecc_http_request(struct ecc_http_response *out, ecc_http_client *c,
    const char *method, const char *uri, const char *const *headers,
    const void *body, size_t len)
{
	enum evhttp_cmd_type type = EVHTTP_REQ_GET;
	size_t n;
	int retryable = 0, error;

	memset(out, 0, sizeof(*out));
	if ((error = httpc_method(&type, method)) < 0 ||
	    (error = httpc_check_uri(uri)) < 0)
		return error;
	for (n = 0; headers && headers[n]; n++)
		;
	if (n % 2 != 0 || n / 2 > HTTPC_HEADERS_MAX)
		return ecc_error_set(ECC_EINVALID, "request headers must be "
		    "name/value pairs, at most %d", HTTPC_HEADERS_MAX);
	if (len > 0 && !body)
		return ecc_error_set(ECC_EINVALID, "request body missing");
	error = httpc_attempt(out, c, type, uri, headers, body, len,
	    &retryable);
	/* A server may close an idle kept-alive connection at any moment;
	 * an idempotent request then simply goes over a new one. */
	if (error < 0 && retryable &&
	    (type == EVHTTP_REQ_GET || type == EVHTTP_REQ_HEAD)) {
		ecc_log_debug("http", "%s: kept-alive connection lost, "
		    "retrying", c->host_header);
		ecc_http_response_clear(out);
		error = httpc_attempt(out, c, type, uri, headers, body, len,
		    &retryable);
	}
	if (error < 0)
		ecc_http_response_clear(out);
	return error;
}

int
ecc_http_parse_hostport(char **host, int *port, const char *text,
    int defport)
{
	const char *end, *colon;
	char *h = NULL;
	int64_t p = defport;
	int error = -1;

	*host = NULL;
	if (!text || !*text || strnlen(text, HTTPC_HOST_MAX + 9) >
	    HTTPC_HOST_MAX + 8) {
		error = ecc_error_set(ECC_EINVALID, "empty or too long server "
		    "address");
		goto out;
	}
	if (text[0] == '[') {
		if ((end = strchr(text, ']')) == NULL) {
			error = ecc_error_set(ECC_EINVALID,
			    "'%s': missing ']'", text);
			goto out;
		}
		h = ecc_strndup(text + 1, (size_t)(end - text - 1));
		if (end[1] == ':') {
			if (ecc_parse_int64(&p, end + 2, 1, 65535) < 0)
				goto bad_port;
		} else if (end[1] != '\0') {
			error = ecc_error_set(ECC_EINVALID,
			    "'%s': unexpected text after ']'", text);
			goto out;
		}
	} else if ((colon = strchr(text, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		h = ecc_strndup(text, (size_t)(colon - text));
		if (ecc_parse_int64(&p, colon + 1, 1, 65535) < 0)
			goto bad_port;
	} else {
		/* A bare IPv6 address has several colons and no port. */
		h = ecc_strdup(text);
	}
	if (!*h || strlen(h) > HTTPC_HOST_MAX ||
	    strpbrk(h, " \t\r\n/[]@?#%")) {
		error = ecc_error_set(ECC_EINVALID, "'%s': bad host name",
		    text);
		goto out;
	}
	if (p < 1 || p > 65535)
		goto bad_port;
	*host = h;
	h = NULL;
	*port = (int)p;
	error = 0;
	goto out;
bad_port:
	error = ecc_error_set(ECC_EINVALID, "'%s': port must be 1..65535",
	    text);
out:
	free(h);
	return error;
}

char *
ecc_http_escape(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = 0, len = strlen(s);
	char *out = ecc_malloc(3 * len + 1);

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~' || (keep_slash && ch == '/')) {
			out[n++] = (char)ch;
		} else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = '\0';
	return out;
}
