/*
 * bench_watch.c - watch fan-out benchmark (issue 4): one process, one
 * libevent loop, N simulated MTA nodes on mutual TLS against a running
 * ecconfigd.
 *
 *   1. lists the nodes in global/cluster.conf (one commit) and enrolls
 *      them (POST /v1/nodes/enroll, -j at a time; one EC key shared by
 *      every CSR; certificates kept in memory);
 *   2. opens N mTLS connections (-w handshakes at a time), each with its
 *      own node certificate, each parking GET .../watch?since=R&wait=W
 *      on keep-alive;
 *   3. manager memory per idle watcher: VmRSS of -p PID before the first
 *      node connects and once all N watches are parked (ecconfig_watchers
 *      in /metrics says so) and idle;
 *   4. -c commits of one global/ file, one at a time: commit sent -> last
 *      watch reply, and commit sent -> last node holding the delta
 *      (GET .../snapshot?rev=N&since=M on its own connection, every file
 *      checked against the SHA-256 of .ecconfig/manifest.json, then the
 *      watch parked again);
 *   5. bootstrap storm: a 200-file commit (2 KiB each, 100 in global/,
 *      100 in SUBCLUSTER/default/), then every node GETs the full
 *      snapshot at once: time to the last node done (verified), manager
 *      CPU (utime + stime of -p PID), bytes and bytes/s.
 *
 * The generator's CPU and the manager's are printed beside the wall
 * clock: both run on the same (small) machine.
 *
 * usage: bench_watch -s HOST:PORT -a CA.pem -p PID [-n NODES] [-c COMMITS]
 *            [-j ENROLL_AT_ONCE] [-w HANDSHAKES_AT_ONCE] [-W WAIT]
 *            [-S SUBCLUSTER] [-u USER] [-e DIR] [-r RCVBUF_KIB] [-x]
 *        bench_watch -P DIR -D DATA_DIR [-n NODES] [-S SUBCLUSTER]
 * The password of USER (default admin) is read from $ECC_BENCH_PASSWORD.
 * -P (ecconfigd stopped) signs the node certificates with the cluster CA
 * of DATA_DIR and enrolls them in its nodes.json; -e DIR then replaces
 * step 1's enrollment.  -x stops after step 3.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ecconfig.h"

#define NODE_NAME_MAX     32
#define HTTP_TIMEOUT      120          /* s, > the longest watch */
#define MAX_BODY          (64 * 1024 * 1024)
#define MAX_HEADERS       (64 * 1024)
#define TICK_MS           10
#define PHASE_TIMEOUT     600.0        /* s, any one wait of the run */
#define SEED_FILES        200
#define SEED_FILE_SIZE    2048
#define COMMIT_FILE       "global/bench-watch.conf"
#define ENROLL_CERT_MAX   (64 * 1024)

enum node_req {
	REQ_NONE,
	REQ_PROBE,       /* watch?wait=0: the view's revision, proves auth */
	REQ_WATCH,       /* the parked long poll */
	REQ_DELTA,
	REQ_FULL,
};

/* What a node does when its watch answers with a new revision. */
enum bench_mode {
	MODE_FETCH,      /* fetch and verify the delta, park again */
	MODE_HOLD,       /* stay idle (the storm starts them all at once) */
};

struct bench;

struct node {
	struct bench *b;
	char name[NODE_NAME_MAX];
	X509 *cert;
	struct evhttp_connection *evcon;
	struct event *retry;          /* after a 429, created when needed */
	enum node_req req;            /* the request in flight */
	int64_t since;                /* view revision it holds */
	int64_t fetching;             /* revision being fetched */
	int dead;
};

struct enroller {
	struct bench *b;
	struct evhttp_connection *evcon;
	size_t idx;                   /* node being enrolled */
};

struct bench {
	/* options */
	const char *host;
	int port;
	const char *ca_path;
	const char *user;
	const char *password;
	const char *subcluster;
	pid_t pid;
	size_t n;
	size_t ncommits;
	size_t enroll_at_once;
	size_t connect_at_once;
	int wait_s;
	const char *certs_dir;        /* -e: certificates signed by -P */
	int stop_after_memory;        /* -x */

	char host_header[300];
	struct event_base *base;
	struct event *ticker;
	SSL_CTX *ctx;
	EVP_PKEY *key;                /* shared by every node */
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	struct ecc_limits lim;
	struct evhttp_connection *admin;
	int admin_closed;
	char *token;
	struct node *nodes;
	struct enroller *enrollers;
	int64_t head;
	int cleaning;
	char fatal[512];              /* set by a callback: stop the run */

	/* enrollment */
	size_t next_enroll, n_enrolled;
	/* connections */
	size_t next_connect, connecting, n_probed;
	/* the phase in progress */
	enum bench_mode mode;
	int64_t expect;               /* revision the phase waits for */
	size_t n_notified, n_done, n_dead, n_paced;
	size_t snapshot_files;        /* files in the last full snapshot */
	/* Every node of a phase gets the same manifest: parsed once, reused
	 * for byte-identical copies (each node still hashes its own files). */
	char *manifest_text;
	size_t manifest_len;
	struct ecc_manifest *manifest;
	uint64_t t_notified, t_done;  /* us, last of each */
	uint64_t bytes;               /* snapshot/delta bodies received */
	uint64_t *done_at;            /* us: when the k-th node was done */
	char node_error[256];         /* the first node failure */
};

/* --- small helpers --- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentile `p` of v[0..n) (sorts v). */
static double
pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	qsort(v, n, sizeof(*v), cmp_double);
	return v[i];
}

static double
now_s(void)
{
	return (double)ecc_now_us() / 1e6;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* VmRSS of `pid` in KiB. */
static int
proc_rss_kib(long *out, pid_t pid)
{
	char path[64], *buf = NULL, *p;
	size_t len;
	int error;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((error = ecc_file_read(&buf, &len, path, 1024 * 1024)) < 0)
		return error;
	error = 0;
	if (!(p = strstr(buf, "\nVmRSS:")) || sscanf(p + 7, "%ld", out) != 1)
		error = ecc_error_set(ECC_ERROR, "%s: no VmRSS", path);
	free(buf);
	return error;
}

/* utime + stime of `pid` in seconds (/proc/PID/stat fields 14 and 15,
 * counted after the parenthesized command name, which may hold spaces). */
static int
proc_cpu_s(double *out, pid_t pid)
{
	char path[64], *buf = NULL, *p;
	unsigned long long ut, st;
	size_t len;
	int error;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((error = ecc_file_read(&buf, &len, path, 64 * 1024)) < 0)
		return error;
	error = 0;
	if (!(p = strrchr(buf, ')')) || sscanf(p + 1, " %*c %*d %*d %*d %*d "
	    "%*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		error = ecc_error_set(ECC_ERROR, "%s: cannot parse", path);
	else
		*out = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	free(buf);
	return error;
}

static double
manager_cpu(const struct bench *b)
{
	double s = 0;

	if (proc_cpu_s(&s, b->pid) < 0)
		ecc_error_clear();
	return s;
}

/* System-wide TCP trouble counters (/proc/net/netstat, /proc/net/snmp):
 * the generator and the manager share the machine's loopback, so drops
 * and retransmission time-outs of a phase are printed with its figures. */
struct tcp_stats {
	long long retrans, timeouts, rcvq_drops, prunes;
};

/* The value of `name` in the "PREFIX: names..." / "PREFIX: values..."
 * line pair of `text`; -1 when absent. */
static long long
proc_net_value(const char *text, const char *prefix, const char *name)
{
	const char *names = text, *vals, *end, *p, *q;
	size_t plen = strlen(prefix), nlen = strlen(name);
	long long v = -1;
	int idx, i;

	while ((names = strstr(names, prefix)) != NULL) {
		if ((names == text || names[-1] == '\n') &&
		    (vals = strchr(names, '\n')) && !strncmp(vals + 1, prefix,
		    plen))
			break;
		names += plen;
	}
	if (!names)
		return -1;
	vals++;
	end = strchr(names, '\n');
	/* the index of `name` among the names */
	for (idx = -1, i = 0, p = names + plen; p < end; i++) {
		while (*p == ' ')
			p++;
		q = p;
		while (q < end && *q != ' ')
			q++;
		if ((size_t)(q - p) == nlen && !strncmp(p, name, nlen)) {
			idx = i;
			break;
		}
		p = q;
	}
	if (idx < 0)
		return -1;
	for (i = 0, p = vals + plen; i <= idx; i++) {
		while (*p == ' ')
			p++;
		if (i == idx)
			v = strtoll(p, NULL, 10);
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	return v;
}

static void
tcp_stats_read(struct tcp_stats *t)
{
	char *buf = NULL;
	size_t len;

	memset(t, 0, sizeof(*t));
	if (ecc_file_read(&buf, &len, "/proc/net/netstat", 1024 * 1024) == 0) {
		t->timeouts = proc_net_value(buf, "TcpExt:", "TCPTimeouts");
		t->rcvq_drops = proc_net_value(buf, "TcpExt:", "TCPRcvQDrop");
		t->prunes = proc_net_value(buf, "TcpExt:", "PruneCalled");
	}
	free(buf);
	buf = NULL;
	if (ecc_file_read(&buf, &len, "/proc/net/snmp", 1024 * 1024) == 0)
		t->retrans = proc_net_value(buf, "Tcp:", "RetransSegs");
	free(buf);
	ecc_error_clear();
}

/* "tcp: ..." for what happened since `t0`. */
static void
tcp_stats_print(const struct tcp_stats *t0, const char *phase)
{
	struct tcp_stats t;

	tcp_stats_read(&t);
	printf("  tcp during %s (whole machine): %lld segments retransmitted, "
	    "%lld retransmission time-outs, %lld receive-queue drops, %lld "
	    "prunes\n", phase, t.retrans - t0->retrans, t.timeouts -
	    t0->timeouts, t.rcvq_drops - t0->rcvq_drops, t.prunes - t0->prunes);
}

/* Base64 (no line breaks), malloc'd. */
static char *
b64_encode(const void *data, size_t len)
{
	char *out = ecc_malloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

static void
bench_fatal(struct bench *b, const char *msg)
{
	if (!b->fatal[0])
		snprintf(b->fatal, sizeof(b->fatal), "%s", msg);
}

/* --- the loop --- */

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until done(b), a callback's fatal error, or the timeout. */
static int
loop_until(struct bench *b, int (*done)(const struct bench *, const void *),
    const void *arg, double timeout, const char *what)
{
	double deadline = now_s() + timeout;

	while (!done(b, arg)) {
		if (b->fatal[0])
			return ecc_error_set(ECC_ERROR, "%s", b->fatal);
		if (now_s() > deadline)
			return ecc_error_set(ECC_ERROR, "%s: no result after "
			    "%.0f s", what, timeout);
		if (event_base_loop(b->base, EVLOOP_ONCE) < 0)
			return ecc_error_set(ECC_ERROR, "event loop failed");
	}
	return b->fatal[0] ? ecc_error_set(ECC_ERROR, "%s", b->fatal) : 0;
}

static int
time_passed(const struct bench *b, const void *arg)
{
	(void)b;
	return now_s() >= *(const double *)arg;
}

/* Let the loop run for `seconds`. */
static int
loop_for(struct bench *b, double seconds)
{
	double until = now_s() + seconds;

	return loop_until(b, time_passed, &until, seconds + 5, "pause");
}

/* --- HTTP --- */

/* Receive buffer of each generator socket (-r), 0 for the kernel's
 * autotuning; set once by main(), read by tls_info_cb(). */
static int sock_rcvbuf = 48 * 1024;

/* Socket options, set when the handshake starts (evhttp makes the socket):
 * - evhttp writes a request's headers and body as two TLS records: with
 *   Nagle's algorithm the second waits for the ACK of the first, which the
 *   manager delays by up to 40 ms, so the generator's sockets send at once;
 * - N simulated nodes share one machine's TCP memory (tcp_mem): with
 *   autotuned receive buffers a storm of N snapshots overflows it and the
 *   kernel drops segments (then waits for retransmission time-outs), which
 *   N separate nodes would not, so each socket's buffer is bounded (48 KiB,
 *   which the kernel doubles: 10,000 of them stay under tcp_mem's
 *   pressure threshold of a 24 GiB machine). */
static void
tls_info_cb(const SSL *ssl, int where, int ret)
{
	int fd, one = 1;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START) || (fd = SSL_get_fd(ssl)) < 0)
		return;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (sock_rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sock_rcvbuf,
		    sizeof(sock_rcvbuf));
}

/* A connection to the manager; `ssl` (consumed, even on failure) carries
 * the node certificate or none. */
static int
http_connect(struct evhttp_connection **out, struct bench *b, SSL *ssl)
{
	struct bufferevent *bev = NULL;
	struct evhttp_connection *evcon;
	int error = -1;

	*out = NULL;
	if ((error = ecc_tls_client_set_host(ssl, b->host)) < 0)
		goto out;
	SSL_set_info_callback(ssl, tls_info_cb);
	if (!(bev = bufferevent_openssl_socket_new(b->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS))) {
		error = ecc_error_set(ECC_ENOMEM, "cannot create a TLS "
		    "bufferevent");
		goto out;
	}
	ssl = NULL;                   /* the bufferevent owns it */
	/* Responses are framed, so a truncated one is noticed anyway. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	if (!(evcon = evhttp_connection_base_bufferevent_new(b->base, NULL,
	    bev, b->host, (unsigned short)b->port))) {
		error = ecc_error_set(ECC_ENOMEM, "cannot create an HTTP "
		    "connection");
		goto out;
	}
	bev = NULL;                   /* the connection owns it */
	evhttp_connection_set_timeout(evcon, HTTP_TIMEOUT);
	evhttp_connection_set_max_body_size(evcon, MAX_BODY);
	evhttp_connection_set_max_headers_size(evcon, MAX_HEADERS);
	*out = evcon;
	error = 0;
out:
	if (bev)
		bufferevent_free(bev);
	SSL_free(ssl);
	return error;
}

/* Queue one request on `evcon`, with the admin token when `auth`; `cb`
 * gets the reply (NULL when the connection failed). */
static int
http_send(struct bench *b, struct evhttp_connection *evcon, int auth,
    enum evhttp_cmd_type method, const char *uri, const char *body,
    void (*cb)(struct evhttp_request *, void *), void *arg)
{
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char hdr[128];

	if (!(req = evhttp_request_new(cb, arg)))
		return ecc_error_set(ECC_ENOMEM, "cannot make a request");
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", b->host_header);
	if (auth && b->token) {
		snprintf(hdr, sizeof(hdr), "Bearer %s", b->token);
		evhttp_add_header(h, "Authorization", hdr);
	}
	if (body) {
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body,
		    strlen(body));
	}
	if (evhttp_make_request(evcon, req, method, uri) < 0)
		/* evhttp freed the request */
		return ecc_error_set(ECC_ERROR, "cannot send %s", uri);
	return 0;
}

/* The body of a reply, malloc'd and NUL-terminated. */
static char *
http_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char *s;

	*len = evbuffer_get_length(in);
	s = ecc_malloc(*len + 1);
	evbuffer_copyout(in, s, *len);
	s[*len] = '\0';
	return s;
}

/* A JSON object from a reply body; NULL (message set) if it is not one. */
static json_t *
http_json(struct evhttp_request *req)
{
	json_error_t jerr;
	json_t *v;
	size_t len;
	char *s = http_body(req, &len);

	v = json_loadb(s, len, 0, &jerr);
	if (!v || !json_is_object(v)) {
		ecc_error_set(ECC_EINVALID, "reply is not a JSON object: %.200s",
		    s);
		json_decref(v);
		v = NULL;
	}
	free(s);
	return v;
}

/* One admin request, waited for on the shared loop (nodes keep being
 * served meanwhile). */
struct call {
	int done;
	int status;                   /* 0: no reply */
	char *body;
	size_t len;
};

static void
call_cb(struct evhttp_request *req, void *arg)
{
	struct call *c = arg;

	c->done = 1;
	if (!req || evhttp_request_get_response_code(req) <= 0)
		return;
	c->status = evhttp_request_get_response_code(req);
	c->body = http_body(req, &c->len);
}

static int
call_done(const struct bench *b, const void *arg)
{
	(void)b;
	return ((const struct call *)arg)->done;
}

static void
admin_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct bench *b = arg;

	(void)evcon;
	b->admin_closed = 1;
}

/* The admin connection, made again when the manager closed it (an idle
 * connection is closed after request_timeout). */
static int
admin_connection(struct bench *b)
{
	SSL *ssl;
	int error;

	if (b->admin && !b->admin_closed)
		return 0;
	if (b->admin)
		evhttp_connection_free(b->admin);
	b->admin = NULL;
	b->admin_closed = 0;
	if (!(ssl = SSL_new(b->ctx)))
		return ecc_error_set_ssl(ECC_ENOMEM, "SSL_new");
	if ((error = http_connect(&b->admin, b, ssl)) < 0)
		return error;
	evhttp_connection_set_closecb(b->admin, admin_close_cb, b);
	return 0;
}

/* Send and wait; on success out->status is the HTTP status and out->body
 * the reply (the caller frees it). */
static int
admin_call(struct call *out, struct bench *b, enum evhttp_cmd_type method,
    const char *uri, const char *body)
{
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = admin_connection(b)) < 0 ||
	    (error = http_send(b, b->admin, 1, method, uri, body, call_cb,
	    out)) < 0)
		return error;
	if ((error = loop_until(b, call_done, out, HTTP_TIMEOUT + 10, uri)) < 0)
		return error;
	if (out->status == 0)
		return ecc_error_set(ECC_EUNAVAIL, "%s: no reply (connection "
		    "failed)", uri);
	return 0;
}

/* Like admin_call, and the reply must have status `want`: its JSON
 * object in *out (NULL for other content). */
static int
admin_json(json_t **out, struct bench *b, enum evhttp_cmd_type method,
    const char *uri, const char *body, int want)
{
	struct call c;
	json_error_t jerr;
	int error;

	*out = NULL;
	if ((error = admin_call(&c, b, method, uri, body)) < 0)
		goto out;
	if (c.status != want) {
		error = ecc_error_set(ECC_ERROR, "%s: HTTP %d: %.300s", uri,
		    c.status, c.body ? c.body : "");
		goto out;
	}
	if (!(*out = json_loadb(c.body, c.len, 0, &jerr)) ||
	    !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		error = ecc_error_set(ECC_EINVALID, "%s: reply is not a JSON "
		    "object", uri);
		goto out;
	}
	error = 0;
out:
	free(c.body);
	return error;
}

static int
admin_login(struct bench *b)
{
	json_t *req = json_pack("{s:s, s:s}", "username", b->user, "password",
	    b->password), *resp = NULL;
	char *body = ecc_json_dump(req);
	const char *tok;
	int error;

	if ((error = admin_json(&resp, b, EVHTTP_REQ_POST, "/v1/login", body,
	    200)) < 0)
		goto out;
	if (!(tok = json_string_value(json_object_get(resp, "token")))) {
		error = ecc_error_set(ECC_EINVALID, "login: no token");
		goto out;
	}
	b->token = ecc_strdup(tok);
	error = 0;
out:
	json_decref(req);
	json_decref(resp);
	free(body);
	return error;
}

static int
admin_head(struct bench *b)
{
	json_t *resp = NULL;
	int error;

	if ((error = admin_json(&resp, b, EVHTTP_REQ_GET, "/v1/health", NULL,
	    200)) < 0)
		return error;
	b->head = json_integer_value(json_object_get(resp, "head"));
	json_decref(resp);
	return 0;
}

/* ecconfig_watchers and ecconfig_connections from /metrics. */
static int
admin_metrics(struct bench *b, long *watchers, long *conns)
{
	struct call c;
	const char *p;
	int error;

	if ((error = admin_call(&c, b, EVHTTP_REQ_GET, "/metrics", NULL)) < 0)
		goto out;
	error = ecc_error_set(ECC_ERROR, "/metrics: HTTP %d, or no "
	    "ecconfig_watchers", c.status);
	if (c.status != 200 || !(p = strstr(c.body, "\necconfig_watchers ")) ||
	    sscanf(p + 19, "%ld", watchers) != 1)
		goto out;
	if (conns && (!(p = strstr(c.body, "\necconfig_connections ")) ||
	    sscanf(p + 22, "%ld", conns) != 1))
		goto out;
	ecc_error_clear();
	error = 0;
out:
	free(c.body);
	return error;
}

/* Poll /metrics until `want` watches are parked. */
static int
wait_watchers(struct bench *b, size_t want, double timeout)
{
	double deadline = now_s() + timeout;
	long w = -1;
	int error;

	for (;;) {
		if ((error = admin_metrics(b, &w, NULL)) < 0)
			return error;
		if (w >= (long)want)
			return 0;
		if (now_s() > deadline)
			return ecc_error_set(ECC_ERROR, "%ld of %zu watches parked "
			    "after %.0f s", w, want, timeout);
		if ((error = loop_for(b, 0.002)) < 0)
			return error;
	}
}

/* POST /v1/commits of `changes` (stolen) on the head; the new revision in
 * b->head.  *reply_s (optional): the commit's round trip. */
static int
admin_commit(struct bench *b, json_t *changes, const char *message,
    double *reply_s)
{
	json_t *req = json_pack("{s:I, s:s, s:o}", "base", (json_int_t)b->head,
	    "message", message, "changes", changes), *resp = NULL;
	char *body = req ? ecc_json_dump(req) : NULL;
	double t0 = now_s();
	int error = -1;

	if (!body) {
		error = ecc_error_set(ECC_ENOMEM, "cannot encode the commit");
		goto out;
	}
	if ((error = admin_json(&resp, b, EVHTTP_REQ_POST, "/v1/commits", body,
	    201)) < 0)
		goto out;
	if (reply_s)
		*reply_s = now_s() - t0;
	b->head = json_integer_value(json_object_get(resp, "revision"));
	error = 0;
out:
	json_decref(req);
	json_decref(resp);
	free(body);
	return error;
}

static json_t *
change_write(const char *path, const void *data, size_t len)
{
	char *content = b64_encode(data, len);
	json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "path", path, "action",
	    "write", "content", content, "mode", "0644");

	free(content);
	return c;
}

/* --- node identities --- */

static void
bench_nodes_new(struct bench *b)
{
	size_t i;

	b->nodes = ecc_calloc(b->n, sizeof(*b->nodes));
	for (i = 0; i < b->n; i++) {
		b->nodes[i].b = b;
		snprintf(b->nodes[i].name, sizeof(b->nodes[i].name),
		    "mta%05zu", i + 1);
	}
}

/* An EC P-256 key, as ecconfig makes for nodes. */
static int
make_key(EVP_PKEY **out)
{
	EVP_PKEY_CTX *kctx = NULL;
	int error = 0;

	*out = NULL;
	if (!(kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL)) ||
	    EVP_PKEY_keygen_init(kctx) <= 0 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx,
	    NID_X9_62_prime256v1) <= 0 || EVP_PKEY_keygen(kctx, out) <= 0)
		error = ecc_error_set_ssl(ECC_ERROR, "cannot make a key");
	EVP_PKEY_CTX_free(kctx);
	return error;
}

/* --- setup: topology and enrollment --- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List every node in SUBCLUSTER of global/cluster.conf (one commit when
 * some are missing). */
static int
bench_topology(struct bench *b)
{
	struct ecc_topology *t = NULL;
	struct ecc_subcluster *sc = NULL;
	struct call c;
	char **have = NULL, *text = NULL, *key;
	size_t i, nhave = 0, added = 0;
	int error = -1;

	if ((error = admin_call(&c, b, EVHTTP_REQ_GET,
	    "/v1/files/" ECC_TOPOLOGY_PATH, NULL)) < 0)
		goto out;
	if (c.status != 200) {
		error = ecc_error_set(ECC_ERROR, "GET %s: HTTP %d",
		    ECC_TOPOLOGY_PATH, c.status);
		goto out;
	}
	if ((error = ecc_topology_parse(&t, c.body, c.len, ECC_TOPOLOGY_PATH))
	    < 0)
		goto out;
	for (i = 0; i < t->nsubclusters; i++)
		if (strcmp(t->subclusters[i].name, b->subcluster) == 0)
			sc = &t->subclusters[i];
	if (!sc) {
		error = ecc_error_set(ECC_ENOTFOUND, "no subcluster %s in %s",
		    b->subcluster, ECC_TOPOLOGY_PATH);
		goto out;
	}
	nhave = sc->nnodes;
	have = ecc_calloc(nhave + 1, sizeof(*have));
	memcpy(have, sc->nodes, nhave * sizeof(*have));   /* borrowed */
	qsort(have, nhave, sizeof(*have), cmp_str);
	for (i = 0; i < b->n; i++) {
		key = b->nodes[i].name;
		if (nhave && bsearch(&key, have, nhave, sizeof(*have), cmp_str))
			continue;
		sc->nodes = ecc_realloc(sc->nodes, (sc->nnodes + 1) *
		    sizeof(*sc->nodes));
		sc->nodes[sc->nnodes++] = ecc_strdup(key);
		added++;
	}
	if (added > 0) {
		text = ecc_topology_format(t);
		if ((error = admin_commit(b, json_pack("[o]", change_write(
		    ECC_TOPOLOGY_PATH, text, strlen(text))), "bench_watch: "
		    "nodes", NULL)) < 0)
			goto out;
	}
	printf("topology: %zu nodes in subcluster %s (%zu added, r%" PRId64
	    ")\n", b->n, b->subcluster, added, b->head);
	error = 0;
out:
	free(have);                   /* the names belong to t */
	free(text);
	free(c.body);
	ecc_topology_free(t);
	return error;
}

/* A CSR for `node` signed with the shared key, PEM, malloc'd. */
static int
make_csr(char **out, struct bench *b, const char *node)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem;
	int error = -1;

	*out = NULL;
	if (!(req = X509_REQ_new()) || !(name = X509_NAME_new()) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)node, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
	    (const unsigned char *)b->subcluster, -1, -1, 0) ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, b->key) ||
	    X509_REQ_sign(req, b->key, EVP_sha256()) <= 0 ||
	    !(bio = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509_REQ(bio, req)) {
		error = ecc_error_set_ssl(ECC_ERROR, "cannot build a CSR");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	*out = ecc_strndup(mem->data, mem->length);
	error = 0;
out:
	BIO_free(bio);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return error;
}

static void enroll_next(struct enroller *e);

static void
enroll_cb(struct evhttp_request *req, void *arg)
{
	struct enroller *e = arg;
	struct bench *b = e->b;
	struct node *n = &b->nodes[e->idx];
	json_t *v = NULL;
	const char *pem;
	char msg[400];
	BIO *bio = NULL;
	int status = req ? evhttp_request_get_response_code(req) : 0;

	if (status != 201) {
		char *body = NULL;
		size_t len = 0;

		if (status > 0)
			body = http_body(req, &len);
		snprintf(msg, sizeof(msg), "enrolling %s: HTTP %d: %.300s",
		    n->name, status, body ? body : "no reply");
		free(body);
		bench_fatal(b, msg);
		return;
	}
	if (!(v = http_json(req)) ||
	    !(pem = json_string_value(json_object_get(v, "certificate"))) ||
	    strlen(pem) > ENROLL_CERT_MAX ||
	    !(bio = BIO_new_mem_buf(pem, -1)) ||
	    !(n->cert = PEM_read_bio_X509(bio, NULL, ecc_pki_no_password,
	    NULL))) {
		snprintf(msg, sizeof(msg), "enrolling %s: no certificate in "
		    "the reply", n->name);
		bench_fatal(b, msg);
		goto out;
	}
	if (++b->n_enrolled % 1000 == 0)
		fprintf(stderr, "bench_watch: %zu nodes enrolled\n",
		    b->n_enrolled);
	enroll_next(e);
out:
	BIO_free(bio);
	json_decref(v);
}

static void
enroll_next(struct enroller *e)
{
	struct bench *b = e->b;
	json_t *req = NULL;
	char *csr = NULL, *body = NULL;

	if (b->fatal[0] || b->next_enroll >= b->n)
		return;
	e->idx = b->next_enroll++;
	if (make_csr(&csr, b, b->nodes[e->idx].name) < 0)
		goto fail;
	req = json_pack("{s:s, s:s, s:s, s:b}", "node", b->nodes[e->idx].name,
	    "subcluster", b->subcluster, "csr", csr, "force", 1);
	body = ecc_json_dump(req);
	if (http_send(b, e->evcon, 1, EVHTTP_REQ_POST, "/v1/nodes/enroll", body,
	    enroll_cb, e) < 0)
		goto fail;
	goto out;
fail:
	bench_fatal(b, ecc_error_last());
out:
	json_decref(req);
	free(csr);
	free(body);
}

static int
enroll_done(const struct bench *b, const void *arg)
{
	(void)arg;
	return b->n_enrolled == b->n;
}

static void
enroller_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct enroller *e = arg;

	(void)evcon;
	if (!e->b->cleaning && e->b->n_enrolled < e->b->n)
		bench_fatal(e->b, "an enrollment connection was closed");
}

/* Enroll every node, enroll_at_once requests in flight (each on its own
 * admin-token connection). */
static int
bench_enroll(struct bench *b)
{
	size_t i, k = b->enroll_at_once < b->n ? b->enroll_at_once : b->n;
	double t0 = now_s(), cpu0 = manager_cpu(b), dt;
	SSL *ssl;
	int error;

	b->enrollers = ecc_calloc(k, sizeof(*b->enrollers));
	for (i = 0; i < k; i++) {
		b->enrollers[i].b = b;
		if (!(ssl = SSL_new(b->ctx)))
			return ecc_error_set_ssl(ECC_ENOMEM, "SSL_new");
		if ((error = http_connect(&b->enrollers[i].evcon, b, ssl)) < 0)
			return error;
		evhttp_connection_set_closecb(b->enrollers[i].evcon,
		    enroller_close_cb, &b->enrollers[i]);
	}
	for (i = 0; i < k; i++)
		enroll_next(&b->enrollers[i]);
	if ((error = loop_until(b, enroll_done, NULL, 24 * 3600.0,
	    "enrollment")) < 0)
		return error;
	dt = now_s() - t0;
	printf("enrollment: %zu nodes in %.2f s (%.0f nodes/s, %zu at once; "
	    "manager CPU %.2f s) [not a target]\n", b->n, dt,
	    (double)b->n / dt, k, manager_cpu(b) - cpu0);
	for (i = 0; i < k; i++) {
		b->cleaning = 1;
		evhttp_connection_free(b->enrollers[i].evcon);
		b->cleaning = 0;
		b->enrollers[i].evcon = NULL;
	}
	return 0;
}

/*
 * Enrollment without the API, for node counts the manager's enrollment
 * cannot reach in reasonable time (each enrollment rereads and rewrites
 * the whole node store).  -P, before ecconfigd starts: sign N
 * certificates with the cluster CA (ecc_pki_sign_node, as the manager
 * does), write DIR/key.pem and DIR/certs.pem (in node order) and the
 * manager's DATA_DIR/nodes.json (the file store's format, store.h).
 * -e DIR: the run reads them instead of enrolling.
 */
static int
bench_prepare(struct bench *b, const char *dir, const char *data_dir)
{
	char *ca = ecc_printf("%s/ca.pem", data_dir);
	char *ca_key = ecc_printf("%s/ca.key", data_dir);
	char *path = NULL, *csr = NULL, *pem = NULL, *serial = NULL;
	char *certs = NULL, *text = NULL, *kpem = NULL;
	size_t i, clen = 0;
	json_t *nodes = json_array(), *root = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem;
	time_t not_after;
	double t0 = now_s();
	int error = -1;

	bench_nodes_new(b);
	if ((error = make_key(&b->key)) < 0 ||
	    (error = ecc_mkdir_p(dir, 0700)) < 0)
		goto out;
	if (!(bio = BIO_new(BIO_s_mem())) ||
	    !PEM_write_bio_PrivateKey(bio, b->key, NULL, NULL, 0, NULL, NULL)) {
		error = ecc_error_set_ssl(ECC_ERROR, "cannot encode the key");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	kpem = ecc_strndup(mem->data, mem->length);
	path = ecc_printf("%s/key.pem", dir);
	if ((error = ecc_file_write_atomic(path, kpem, strlen(kpem), 0600)) < 0)
		goto out;
	for (i = 0; i < b->n; i++) {
		if ((error = make_csr(&csr, b, b->nodes[i].name)) < 0 ||
		    (error = ecc_pki_sign_node(&pem, ca, ca_key, csr,
		    strlen(csr), b->nodes[i].name, b->subcluster, 825)) < 0 ||
		    (error = ecc_pki_pem_info(&serial, &not_after, pem,
		    strlen(pem))) < 0)
			goto out;
		ecc_str_append(&certs, &clen, pem);
		if (json_array_append_new(nodes, json_pack("{s:s, s:s, s:s, s:I}",
		    "name", b->nodes[i].name, "subcluster", b->subcluster,
		    "serial", serial, "enrolled", (json_int_t)time(NULL))) < 0) {
			error = ecc_error_set(ECC_ENOMEM, "nodes.json");
			goto out;
		}
		free(csr);
		free(pem);
		free(serial);
		csr = pem = serial = NULL;
	}
	free(path);
	path = ecc_printf("%s/certs.pem", dir);
	if ((error = ecc_file_write_atomic(path, certs, clen, 0600)) < 0)
		goto out;
	root = json_pack("{s:O}", "nodes", nodes);
	text = json_dumps(root, JSON_INDENT(2));
	free(path);
	path = ecc_printf("%s/nodes.json", data_dir);
	if (!text || (error = ecc_file_write_atomic(path, text, strlen(text),
	    0600)) < 0) {
		if (!text)
			error = ecc_error_set(ECC_ENOMEM, "nodes.json");
		goto out;
	}
	printf("enrollment (offline): %zu certificates signed by the cluster "
	    "CA and listed in %s in %.2f s\n", b->n, path, now_s() - t0);
	error = 0;
out:
	BIO_free(bio);
	json_decref(nodes);
	json_decref(root);
	free(text);
	free(certs);
	free(kpem);
	free(csr);
	free(pem);
	free(serial);
	free(path);
	free(ca);
	free(ca_key);
	return error;
}

/* -e DIR: the shared key and the certificates written by -P. */
static int
bench_read_certs(struct bench *b)
{
	char *path = ecc_printf("%s/key.pem", b->certs_dir);
	char *node = NULL, *sc = NULL;
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	double t0 = now_s();
	size_t i;
	int error = -1;

	if (!(bio = BIO_new_file(path, "r")) ||
	    !(key = PEM_read_bio_PrivateKey(bio, NULL, ecc_pki_no_password,
	    NULL))) {
		error = ecc_error_set_ssl(ECC_EINVALID, path);
		goto out;
	}
	EVP_PKEY_free(b->key);
	b->key = key;
	BIO_free(bio);
	free(path);
	path = ecc_printf("%s/certs.pem", b->certs_dir);
	if (!(bio = BIO_new_file(path, "r"))) {
		error = ecc_error_set_ssl(ECC_EINVALID, path);
		goto out;
	}
	for (i = 0; i < b->n; i++) {
		if (!(b->nodes[i].cert = PEM_read_bio_X509(bio, NULL,
		    ecc_pki_no_password, NULL))) {
			error = ecc_error_set(ECC_EINVALID, "%s: no certificate "
			    "%zu (%zu nodes asked)", path, i + 1, b->n);
			goto out;
		}
		if ((error = ecc_pki_cert_node(&node, &sc, b->nodes[i].cert)) < 0)
			goto out;
		if (strcmp(node, b->nodes[i].name) != 0 ||
		    strcmp(sc, b->subcluster) != 0) {
			error = ecc_error_set(ECC_EINVALID, "%s: certificate %zu "
			    "is for %s/%s, not %s/%s", path, i + 1, sc, node,
			    b->subcluster, b->nodes[i].name);
			goto out;
		}
		free(node);
		free(sc);
		node = sc = NULL;
	}
	printf("enrollment: %zu certificates read from %s in %.2f s (signed "
	    "offline by bench_watch -P) [not a target]\n", b->n, path,
	    now_s() - t0);
	error = 0;
out:
	BIO_free(bio);
	free(node);
	free(sc);
	free(path);
	return error;
}

/* --- snapshot verification --- */

struct tar_src {
	struct evbuffer_iovec *v;
	int n, i;
};

static la_ssize_t
tar_read_cb(struct archive *a, void *arg, const void **buf)
{
	struct tar_src *s = arg;

	(void)a;
	if (s->i >= s->n) {
		*buf = NULL;
		return 0;
	}
	*buf = s->v[s->i].iov_base;
	return (la_ssize_t)s->v[s->i++].iov_len;
}

/* Check a snapshot (since < 0) or delta body: the manifest comes first
 * and is of `rev` (and `since`), every other member is a regular file
 * listed in it, once, with its size and SHA-256; a snapshot holds every
 * listed file, a delta at least one.  Reads the evbuffer in place. */
static int
verify_archive(struct bench *b, struct evbuffer *body, int64_t rev,
    int64_t since)
{
	struct evbuffer_iovec stackv[64], *v = stackv;
	struct tar_src src;
	struct archive *a = NULL;
	struct archive_entry *ent;
	struct ecc_manifest *m = NULL;
	const struct ecc_manifest_file *mf;
	unsigned char *seen = NULL, md[EVP_MAX_MD_SIZE];
	char *mbuf = NULL, hex[ECC_SHA256_HEX_LEN];
	const void *blk;
	size_t blen, nmembers = 0;
	la_int64_t off, total, size;
	unsigned mdlen;
	const char *path;
	int nvec, r, error = -1;

	nvec = evbuffer_peek(body, -1, NULL, NULL, 0);
	if (nvec > (int)ECC_ARRAY_SIZE(stackv))
		v = ecc_calloc((size_t)nvec, sizeof(*v));
	src.n = evbuffer_peek(body, -1, NULL, v, nvec);
	src.v = v;
	src.i = 0;
	if (!(a = archive_read_new()) ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open(a, &src, NULL, tar_read_cb, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		error = ecc_error_set(ECC_EINVALID, "not a tar: %s",
		    a ? archive_error_string(a) : "no memory");
		goto out;
	}
	size = archive_entry_size(ent);
	if (strcmp(archive_entry_pathname(ent), ECC_MANIFEST_PATH) != 0 ||
	    archive_entry_filetype(ent) != AE_IFREG || size <= 0 ||
	    size > (la_int64_t)ECC_MANIFEST_MAX_BYTES) {
		error = ecc_error_set(ECC_EINVALID, "the first member is not "
		    "%s", ECC_MANIFEST_PATH);
		goto out;
	}
	mbuf = ecc_malloc((size_t)size);
	if (archive_read_data(a, mbuf, (size_t)size) != (la_ssize_t)size) {
		error = ecc_error_set(ECC_EINVALID, "short manifest");
		goto out;
	}
	if (!b->manifest || b->manifest_len != (size_t)size ||
	    memcmp(b->manifest_text, mbuf, (size_t)size) != 0) {
		if ((error = ecc_manifest_parse(&m, mbuf, (size_t)size,
		    &b->lim)) < 0)
			goto out;
		ecc_manifest_free(b->manifest);
		free(b->manifest_text);
		b->manifest = m;
		b->manifest_text = mbuf;
		b->manifest_len = (size_t)size;
		mbuf = NULL;
	}
	m = b->manifest;              /* borrowed */
	if (m->revision != rev || m->since != (since < 0 ? -1 : since)) {
		error = ecc_error_set(ECC_EINVALID, "manifest of r%" PRId64
		    " since %" PRId64 ", expected r%" PRId64 " since %" PRId64,
		    m->revision, m->since, rev, since);
		goto out;
	}
	seen = ecc_calloc(m->nfiles + 1, 1);
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		path = archive_entry_pathname(ent);
		if (!path || archive_entry_filetype(ent) != AE_IFREG ||
		    !(mf = ecc_manifest_find(m, path)) ||
		    seen[mf - m->files]++ ||
		    (uint64_t)archive_entry_size(ent) != mf->size) {
			error = ecc_error_set(ECC_EINVALID, "member %s: not a "
			    "listed file, listed twice or of another size",
			    path ? path : "?");
			goto out;
		}
		if (!EVP_DigestInit_ex(b->md, b->sha256, NULL)) {
			error = ecc_error_set_ssl(ECC_ERROR, "SHA-256");
			goto out;
		}
		total = 0;
		while ((r = archive_read_data_block(a, &blk, &blen, &off)) ==
		    ARCHIVE_OK) {
			if (off != total || !EVP_DigestUpdate(b->md, blk,
			    blen)) {
				error = ecc_error_set(ECC_EINVALID, "member %s: "
				    "sparse or unreadable", path);
				goto out;
			}
			total += (la_int64_t)blen;
		}
		if (r != ARCHIVE_EOF || (uint64_t)total != mf->size ||
		    !EVP_DigestFinal_ex(b->md, md, &mdlen) || mdlen != 32) {
			error = ecc_error_set(ECC_EINVALID, "member %s: "
			    "truncated", path);
			goto out;
		}
		ecc_hex_encode(hex, md, 32);
		if (strcmp(hex, mf->sha256) != 0) {
			error = ecc_error_set(ECC_EINVALID, "member %s: SHA-256 "
			    "differs from the manifest", path);
			goto out;
		}
		nmembers++;
	}
	if (r != ARCHIVE_EOF) {
		error = ecc_error_set(ECC_EINVALID, "bad tar: %s",
		    archive_error_string(a));
		goto out;
	}
	if ((since < 0 && nmembers != m->nfiles) || nmembers == 0) {
		error = ecc_error_set(ECC_EINVALID, "%zu files for a manifest "
		    "of %zu", nmembers, m->nfiles);
		goto out;
	}
	if (since < 0)
		b->snapshot_files = m->nfiles;
	error = 0;
out:
	if (a)
		archive_read_free(a);
	if (v != stackv)
		free(v);
	free(seen);
	free(mbuf);
	return error;
}

/* --- nodes --- */

static void node_cb(struct evhttp_request *req, void *arg);
static void bench_connect_more(struct bench *b);

static void
node_fail(struct node *n, const char *what)
{
	struct bench *b = n->b;

	if (n->dead || b->cleaning)
		return;
	n->dead = 1;
	b->n_dead++;
	if (!b->node_error[0])
		snprintf(b->node_error, sizeof(b->node_error), "%s: %s",
		    n->name, what);
	if (n->req == REQ_PROBE) {
		b->connecting--;
		bench_connect_more(b);
	}
	n->req = REQ_NONE;
}

static void
node_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct node *n = arg;

	(void)evcon;
	if (n->req == REQ_NONE)
		node_fail(n, "connection closed by the manager while idle");
}

static void
node_get(struct node *n, enum node_req kind, const char *uri)
{
	n->req = kind;
	if (http_send(n->b, n->evcon, 0, EVHTTP_REQ_GET, uri, NULL, node_cb, n)
	    < 0)
		node_fail(n, ecc_error_last());
}

static void
node_park(struct node *n)
{
	char uri[256];

	snprintf(uri, sizeof(uri), "/v1/views/%s/watch?since=%" PRId64
	    "&wait=%d", n->b->subcluster, n->since, n->b->wait_s);
	node_get(n, REQ_WATCH, uri);
}

/* GET the delta since what the node holds, or the full snapshot. */
static void
node_fetch(struct node *n, int full)
{
	char uri[256];

	if (full)
		snprintf(uri, sizeof(uri), "/v1/views/%s/snapshot?rev=%" PRId64,
		    n->b->subcluster, n->fetching);
	else
		snprintf(uri, sizeof(uri), "/v1/views/%s/snapshot?rev=%" PRId64
		    "&since=%" PRId64, n->b->subcluster, n->fetching, n->since);
	node_get(n, full ? REQ_FULL : REQ_DELTA, uri);
}

static void
node_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	(void)fd;
	(void)what;
	if (!n->dead)
		node_fetch(n, n->req == REQ_FULL);
}

/* A 429 on a fetch: come back after Retry-After, as a node does. */
static void
node_paced(struct node *n, struct evhttp_request *req, enum node_req kind)
{
	const char *ra = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "Retry-After");
	struct timeval tv = { 1, 0 };
	long s;

	n->b->n_paced++;
	if (ra && (s = strtol(ra, NULL, 10)) > 0 && s < 3600)
		tv.tv_sec = s;
	if (!n->retry && !(n->retry = evtimer_new(n->b->base, node_retry_cb,
	    n))) {
		node_fail(n, "cannot make a timer");
		return;
	}
	n->req = kind;                /* remembered for the retry */
	evtimer_add(n->retry, &tv);
}

static void
node_reply_watch(struct node *n, struct evhttp_request *req)
{
	struct bench *b = n->b;
	json_t *v = http_json(req);
	json_t *rev = v ? json_object_get(v, "revision") : NULL;
	int64_t r;

	if (!json_is_integer(rev)) {
		json_decref(v);
		node_fail(n, "watch reply without a revision");
		return;
	}
	r = json_integer_value(rev);
	json_decref(v);
	if (r <= n->since) {          /* wait over, nothing new */
		node_park(n);
		return;
	}
	if (b->expect > 0 && r >= b->expect) {
		b->n_notified++;
		b->t_notified = ecc_now_us();
	}
	n->fetching = r;
	if (b->mode == MODE_FETCH)
		node_fetch(n, 0);
	/* MODE_HOLD: idle until the storm */
}

/* The first reply on a connection (watch?since=0&wait=0): the view's
 * revision, which the node holds from then on; then the watch parks. */
static void
node_reply_probe(struct node *n, struct evhttp_request *req, int status)
{
	json_t *v = NULL, *rev;
	char msg[400];

	if (status != 200 || !(v = http_json(req)) ||
	    !json_is_integer(rev = json_object_get(v, "revision"))) {
		snprintf(msg, sizeof(msg), "first watch: HTTP %d: %s", status,
		    status == 200 ? ecc_error_last() : "refused");
		node_fail(n, msg);
		goto out;
	}
	n->since = json_integer_value(rev);
	n->b->n_probed++;
	node_park(n);
out:
	json_decref(v);
}

static void
node_reply_fetch(struct node *n, struct evhttp_request *req, int full)
{
	struct bench *b = n->b;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char msg[300];

	b->bytes += evbuffer_get_length(in);
	if (verify_archive(b, in, n->fetching, full ? -1 : n->since) < 0) {
		snprintf(msg, sizeof(msg), "r%" PRId64 ": %s", n->fetching,
		    ecc_error_last());
		node_fail(n, msg);
		return;
	}
	n->since = n->fetching;
	if (b->expect > 0 && n->since >= b->expect) {
		b->t_done = ecc_now_us();
		if (b->n_done < b->n)
			b->done_at[b->n_done] = b->t_done;
		b->n_done++;
	}
	/* Then the watch, as a node does once it holds its view (this also
	 * keeps the connection: an idle one is closed after
	 * request_timeout). */
	node_park(n);
}

static void
node_cb(struct evhttp_request *req, void *arg)
{
	struct node *n = arg;
	struct bench *b = n->b;
	enum node_req kind = n->req;
	int status = req ? evhttp_request_get_response_code(req) : 0;
	char msg[200];

	if (n->dead)
		return;
	if (status <= 0) {
		snprintf(msg, sizeof(msg), "no reply to a %s request "
		    "(connection failed or closed)", kind == REQ_PROBE ?
		    "first" : kind == REQ_WATCH ? "watch" : "snapshot");
		node_fail(n, msg);
		return;
	}
	n->req = REQ_NONE;
	if (kind == REQ_PROBE) {
		b->connecting--;
		node_reply_probe(n, req, status);
		bench_connect_more(b);
		return;
	}
	if (status == 429 && (kind == REQ_DELTA || kind == REQ_FULL)) {
		node_paced(n, req, kind);
		return;
	}
	if (status != 200) {
		snprintf(msg, sizeof(msg), "HTTP %d", status);
		node_fail(n, msg);
		return;
	}
	switch (kind) {
	case REQ_PROBE:
		break;
	case REQ_WATCH:
		node_reply_watch(n, req);
		break;
	case REQ_DELTA:
	case REQ_FULL:
		node_reply_fetch(n, req, kind == REQ_FULL);
		break;
	case REQ_NONE:
		break;
	}
}

/* Connect node n and ask for its view's revision (a wait=0 watch). */
static void
node_start(struct node *n)
{
	struct bench *b = n->b;
	char uri[256];
	SSL *ssl;

	b->connecting++;
	n->req = REQ_PROBE;
	if (!(ssl = SSL_new(b->ctx)) || SSL_use_certificate(ssl, n->cert) != 1 ||
	    SSL_use_PrivateKey(ssl, b->key) != 1) {
		ecc_error_set_ssl(ECC_ERROR, "node TLS setup");
		SSL_free(ssl);
		node_fail(n, ecc_error_last());
		return;
	}
	if (http_connect(&n->evcon, b, ssl) < 0) {
		node_fail(n, ecc_error_last());
		return;
	}
	evhttp_connection_set_closecb(n->evcon, node_close_cb, n);
	snprintf(uri, sizeof(uri), "/v1/views/%s/watch?since=0&wait=0",
	    b->subcluster);
	if (http_send(b, n->evcon, 0, EVHTTP_REQ_GET, uri, NULL, node_cb, n) < 0)
		node_fail(n, ecc_error_last());
}

static void
bench_connect_more(struct bench *b)
{
	while (!b->cleaning && b->connecting < b->connect_at_once &&
	    b->next_connect < b->n)
		node_start(&b->nodes[b->next_connect++]);
}

static size_t
alive(const struct bench *b)
{
	return b->n - b->n_dead;
}

static int
connect_done(const struct bench *b, const void *arg)
{
	(void)arg;
	return b->next_connect == b->n && b->connecting == 0;
}

static int
all_notified(const struct bench *b, const void *arg)
{
	(void)arg;
	return b->n_notified >= alive(b);
}

static int
all_done(const struct bench *b, const void *arg)
{
	(void)arg;
	return b->n_done >= alive(b);
}

static void
phase_reset(struct bench *b, enum bench_mode mode, int64_t expect)
{
	b->mode = mode;
	b->expect = expect;
	b->n_notified = b->n_done = 0;
	b->t_notified = b->t_done = 0;
}

static void
report_dead(const struct bench *b, const char *phase)
{
	if (b->n_dead)
		printf("  !! %zu of %zu nodes failed by the end of %s; first: "
		    "%s\n", b->n_dead, b->n, phase, b->node_error);
}

/* --- the phases --- */

static const char *
node_cipher(const struct bench *b)
{
	struct bufferevent *bev;
	SSL *ssl;
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->nodes[i].dead || !b->nodes[i].evcon)
			continue;
		bev = evhttp_connection_get_bufferevent(b->nodes[i].evcon);
		if (bev && (ssl = bufferevent_openssl_get_ssl(bev)))
			return SSL_get_cipher_name(ssl);
	}
	return "?";
}

static int
bench_connect(struct bench *b, long *rss_before, long *rss_idle)
{
	double t0, cpu0, gcpu0, dt;
	long conns = 0, w = 0;
	int error;

	/* Let the manager settle after the enrollment's work. */
	if ((error = loop_for(b, 1.0)) < 0 ||
	    (error = proc_rss_kib(rss_before, b->pid)) < 0)
		return error;
	t0 = now_s();
	cpu0 = manager_cpu(b);
	gcpu0 = self_cpu_s();
	phase_reset(b, MODE_FETCH, 0);
	bench_connect_more(b);
	if ((error = loop_until(b, connect_done, NULL, PHASE_TIMEOUT,
	    "connecting the nodes")) < 0)
		return error;
	/* Figures for fewer nodes than asked would mislead. */
	if (b->n_dead)
		return ecc_error_set(ECC_ERROR, "%zu of %zu nodes could not "
		    "connect and watch; first: %s", b->n_dead, b->n,
		    b->node_error);
	if ((error = wait_watchers(b, alive(b), 60)) < 0)
		return error;
	dt = now_s() - t0;
	printf("connect: %zu mTLS connections (%s), each with a parked watch, "
	    "in %.2f s (%zu handshakes at once; manager CPU %.2f s, "
	    "generator CPU %.2f s)\n", alive(b), node_cipher(b), dt,
	    b->connect_at_once, manager_cpu(b) - cpu0, self_cpu_s() - gcpu0);
	/* Idle: nothing in flight but the parked watches. */
	if ((error = loop_for(b, 2.0)) < 0 ||
	    (error = admin_metrics(b, &w, &conns)) < 0 ||
	    (error = proc_rss_kib(rss_idle, b->pid)) < 0)
		return error;
	printf("memory: manager RSS %ld KiB before, %ld KiB with %ld parked "
	    "watches (%ld connections): %.1f KiB per idle watcher (target "
	    "< 16 KiB)\n", *rss_before, *rss_idle, w, conns,
	    (double)(*rss_idle - *rss_before) / (double)alive(b));
	report_dead(b, "connect");
	return 0;
}

static int
bench_commits(struct bench *b, long rss_before)
{
	double *notif = ecc_calloc(b->ncommits, sizeof(double));
	double *done = ecc_calloc(b->ncommits, sizeof(double));
	double *mcpu = ecc_calloc(b->ncommits, sizeof(double));
	double *gcpu = ecc_calloc(b->ncommits, sizeof(double));
	double *reply = ecc_calloc(b->ncommits, sizeof(double));
	double *half = ecc_calloc(b->ncommits, sizeof(double));
	double *most = ecc_calloc(b->ncommits, sizeof(double));
	char *content = NULL, msg[64];
	size_t i, j, len;
	uint64_t t0;
	double cpu0, gcpu0;
	size_t paced0 = b->n_paced;
	struct tcp_stats tcp0;
	long rss = 0;
	int error = -1;

	tcp_stats_read(&tcp0);
	for (i = 0; i < b->ncommits; i++) {
		if ((error = wait_watchers(b, alive(b), 60)) < 0)
			goto out;
		/* ~1 KiB, different every time */
		free(content);
		content = ecc_printf("# bench_watch commit %zu\n", i + 1);
		len = strlen(content);
		for (j = 0; len < 1024; j++) {
			char *more = ecc_printf("%sbench_key_%02zu = value %zu-%zu\n",
			    content, j, i + 1, j);

			free(content);
			content = more;
			len = strlen(content);
		}
		snprintf(msg, sizeof(msg), "bench_watch: commit %zu", i + 1);
		phase_reset(b, MODE_FETCH, b->head + 1);
		cpu0 = manager_cpu(b);
		gcpu0 = self_cpu_s();
		t0 = ecc_now_us();
		if ((error = admin_commit(b, json_pack("[o]", change_write(
		    COMMIT_FILE, content, len)), msg, &reply[i])) < 0)
			goto out;
		if (b->head != b->expect) {
			error = ecc_error_set(ECC_ERROR, "commit made r%" PRId64
			    ", expected r%" PRId64, b->head, b->expect);
			goto out;
		}
		if ((error = loop_until(b, all_done, NULL, PHASE_TIMEOUT,
		    "commit fan-out")) < 0)
			goto out;
		if (b->n_done == 0) {
			error = ecc_error_set(ECC_ERROR, "every node failed; "
			    "first: %s", b->node_error);
			goto out;
		}
		notif[i] = (double)(b->t_notified - t0) / 1000.0;
		half[i] = (double)(b->done_at[(b->n_done - 1) / 2] - t0) / 1000.0;
		most[i] = (double)(b->done_at[(b->n_done - 1) * 9 / 10] - t0) /
		    1000.0;
		done[i] = (double)(b->t_done - t0) / 1000.0;
		mcpu[i] = (manager_cpu(b) - cpu0) * 1000.0;
		gcpu[i] = (self_cpu_s() - gcpu0) * 1000.0;
		reply[i] *= 1000.0;
	}
	printf("  each commit -> all verified, in order (ms):");
	for (i = 0; i < b->ncommits; i++)
		printf(" %.0f", done[i]);
	printf("\n");
	printf("commit -> all %zu watches answered: median %8.2f ms  p99 "
	    "%8.2f ms  (%zu commits)\n", alive(b), pct(notif, b->ncommits, 0.5),
	    pct(notif, b->ncommits, 0.99), b->ncommits);
	printf("commit -> all %zu deltas verified: median %8.2f ms  p99 "
	    "%8.2f ms  (target %s)\n", alive(b), pct(done, b->ncommits, 0.5),
	    pct(done, b->ncommits, 0.99), b->n <= 1000 ? "250 ms at 1000" :
	    "2 s at 10000");
	printf("  half of the nodes verified: median %.2f ms; 90%%: median %.2f "
	    "ms\n", pct(half, b->ncommits, 0.5), pct(most, b->ncommits, 0.5));
	printf("  per commit (median): commit reply %.2f ms, manager CPU %.0f "
	    "ms, generator CPU %.0f ms; 429 answers: %zu\n",
	    pct(reply, b->ncommits, 0.5), pct(mcpu, b->ncommits, 0.5),
	    pct(gcpu, b->ncommits, 0.5), b->n_paced - paced0);
	tcp_stats_print(&tcp0, "the commits");
	if ((error = wait_watchers(b, alive(b), 60)) < 0 ||
	    (error = loop_for(b, 1.0)) < 0 ||
	    (error = proc_rss_kib(&rss, b->pid)) < 0)
		goto out;
	printf("memory after the commits, watches parked again: manager RSS "
	    "%ld KiB: %.1f KiB per watcher\n", rss,
	    (double)(rss - rss_before) / (double)alive(b));
	report_dead(b, "the commits");
	error = 0;
out:
	free(content);
	free(notif);
	free(done);
	free(mcpu);
	free(gcpu);
	free(reply);
	free(half);
	free(most);
	return error;
}

static int
bench_storm(struct bench *b)
{
	json_t *changes = json_array();
	char path[128], *data = ecc_malloc(SEED_FILE_SIZE);
	double t0, cpu0, gcpu0, dt, cpu;
	struct tcp_stats tcp0;
	size_t i, len, paced0;
	int error = -1;

	for (i = 0; i < SEED_FILES; i++) {
		if (i < SEED_FILES / 2)
			snprintf(path, sizeof(path), "global/bench/f%03zu.conf",
			    i);
		else
			snprintf(path, sizeof(path), "%s/default/bench/"
			    "f%03zu.conf", b->subcluster, i);
		/* the revision in the first line: a rerun changes them too */
		memset(data, 'a' + (int)(i % 26), SEED_FILE_SIZE - 1);
		data[SEED_FILE_SIZE - 1] = '\n';
		len = (size_t)snprintf(data, 32, "# seeded at r%" PRId64,
		    b->head);
		data[len] = '\n';
		json_array_append_new(changes, change_write(path, data,
		    SEED_FILE_SIZE));
	}
	if ((error = wait_watchers(b, alive(b), 60)) < 0)
		goto out;
	/* The seed commit wakes every watch; the nodes then stay idle so
	 * that they all start the storm at the same moment. */
	phase_reset(b, MODE_HOLD, b->head + 1);
	error = admin_commit(b, changes, "bench_watch: 200 files", NULL);
	changes = NULL;
	if (error < 0 || (error = loop_until(b, all_notified, NULL,
	    PHASE_TIMEOUT, "seed commit")) < 0)
		goto out;
	phase_reset(b, MODE_FETCH, b->head);
	tcp_stats_read(&tcp0);
	b->bytes = 0;
	paced0 = b->n_paced;
	cpu0 = manager_cpu(b);
	gcpu0 = self_cpu_s();
	t0 = now_s();
	for (i = 0; i < b->n; i++) {
		if (b->nodes[i].dead)
			continue;
		b->nodes[i].fetching = b->head;
		node_fetch(&b->nodes[i], 1);
	}
	if ((error = loop_until(b, all_done, NULL, PHASE_TIMEOUT,
	    "bootstrap storm")) < 0)
		goto out;
	if (b->n_done == 0) {
		error = ecc_error_set(ECC_ERROR, "every node failed; first: %s",
		    b->node_error);
		goto out;
	}
	dt = (double)b->t_done / 1e6 - t0;
	cpu = manager_cpu(b) - cpu0;
	printf("bootstrap storm: %zu nodes x full snapshot of r%" PRId64 " (%zu "
	    "files, %d of them %d bytes): last verified after %.2f s\n",
	    alive(b), b->head, b->snapshot_files, SEED_FILES, SEED_FILE_SIZE,
	    dt);
	printf("  %.1f MB in bodies, %.1f MB/s; manager CPU %.2f s (%.1f MB "
	    "per manager CPU second); generator CPU %.2f s; 429 answers: "
	    "%zu\n", (double)b->bytes / 1e6, (double)b->bytes / 1e6 / dt, cpu,
	    cpu > 0 ? (double)b->bytes / 1e6 / cpu : 0.0,
	    self_cpu_s() - gcpu0, b->n_paced - paced0);
	tcp_stats_print(&tcp0, "the storm");
	report_dead(b, "the storm");
	error = 0;
out:
	json_decref(changes);
	free(data);
	return error;
}

/* --- set-up and teardown --- */

static int
bench_init(struct bench *b)
{
	struct ecc_tls_client_opts o = { 0 };
	struct timeval tv = { 0, TICK_MS * 1000 };
	int error = -1;

	snprintf(b->host_header, sizeof(b->host_header),
	    strchr(b->host, ':') ? "[%s]:%d" : "%s:%d", b->host, b->port);
	ecc_limits_default(&b->lim);
	bench_nodes_new(b);
	b->done_at = ecc_calloc(b->n, sizeof(*b->done_at));
	if (!(b->base = event_base_new()) ||
	    !(b->ticker = event_new(b->base, -1, EV_PERSIST, tick_cb, b)) ||
	    event_add(b->ticker, &tv) < 0) {
		error = ecc_error_set(ECC_ERROR, "cannot set up libevent");
		goto out;
	}
	o.ca_path = b->ca_path;
	if ((error = ecc_tls_client_ctx(&b->ctx, &o)) < 0)
		goto out;
	/* Thousands of idle connections: no idle record buffers. */
	SSL_CTX_set_mode(b->ctx, SSL_MODE_RELEASE_BUFFERS);
	if ((error = make_key(&b->key)) < 0)
		goto out;
	if (!(b->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) ||
	    !(b->md = EVP_MD_CTX_new())) {
		error = ecc_error_set_ssl(ECC_ERROR, "cannot set up SHA-256");
		goto out;
	}
	error = 0;
out:
	return error;
}

static void
bench_free(struct bench *b)
{
	size_t i;

	b->cleaning = 1;
	for (i = 0; b->nodes && i < b->n; i++) {
		if (b->nodes[i].evcon)
			evhttp_connection_free(b->nodes[i].evcon);
		if (b->nodes[i].retry)
			event_free(b->nodes[i].retry);
		X509_free(b->nodes[i].cert);
	}
	free(b->nodes);
	free(b->done_at);
	for (i = 0; b->enrollers && i < b->enroll_at_once && i < b->n; i++)
		if (b->enrollers[i].evcon)
			evhttp_connection_free(b->enrollers[i].evcon);
	free(b->enrollers);
	if (b->admin)
		evhttp_connection_free(b->admin);
	if (b->ticker)
		event_free(b->ticker);
	if (b->base) {
		/* bufferevent finalizers (they free the SSLs) */
		event_base_loop(b->base, EVLOOP_NONBLOCK);
		event_base_free(b->base);
	}
	SSL_CTX_free(b->ctx);
	EVP_PKEY_free(b->key);
	EVP_MD_free(b->sha256);
	EVP_MD_CTX_free(b->md);
	ecc_manifest_free(b->manifest);
	free(b->manifest_text);
	free(b->token);
}

static int
bench_run(struct bench *b)
{
	long rss_before = 0, rss_idle = 0;
	int error;

	if ((error = bench_init(b)) < 0 ||
	    (error = admin_login(b)) < 0 ||
	    (error = admin_head(b)) < 0 ||
	    (error = bench_topology(b)) < 0 ||
	    (error = b->certs_dir ? bench_read_certs(b) : bench_enroll(b)) < 0 ||
	    (error = bench_connect(b, &rss_before, &rss_idle)) < 0)
		return error;
	if (b->stop_after_memory)
		return 0;
	if ((error = bench_commits(b, rss_before)) < 0 ||
	    (error = bench_storm(b)) < 0)
		return error;
	return b->n_dead ? ecc_error_set(ECC_ERROR, "%zu nodes failed",
	    b->n_dead) : 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_watch -s HOST:PORT -a CA.pem -p PID "
	    "[-n NODES] [-c COMMITS] [-j ENROLL_AT_ONCE]\n"
	    "           [-w HANDSHAKES_AT_ONCE] [-W WAIT] [-S SUBCLUSTER] "
	    "[-u USER] [-e DIR] [-r RCVBUF_KIB] [-x]\n"
	    "       bench_watch -P DIR -D DATA_DIR [-n NODES] [-S SUBCLUSTER]\n"
	    "The password of USER (default admin) is read from "
	    "$ECC_BENCH_PASSWORD.\n"
	    "-P signs the node certificates offline (ecconfigd stopped), -e "
	    "uses them; -r bounds each socket's receive buffer (default 48, "
	    "0: autotuning); -x stops after the memory figure.\n");
}

static int
opt_size(size_t *out, const char *s, int64_t min, int64_t max)
{
	int64_t v;

	if (ecc_parse_int64(&v, s, min, max) < 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	const char *server = NULL, *prepare = NULL, *data_dir = NULL;
	char *host = NULL;
	size_t pid = 0, wait_s = 60, rcvbuf_kib = 48, *num;
	int c, error;

	memset(&b, 0, sizeof(b));
	b.n = 1000;
	b.ncommits = 20;
	b.enroll_at_once = 8;
	b.connect_at_once = 64;
	b.user = "admin";
	b.subcluster = "default";
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "a:c:D:e:j:n:p:P:r:s:S:u:w:W:x")) != -1) {
		num = NULL;
		switch (c) {
		case 'a': b.ca_path = optarg; break;
		case 'D': data_dir = optarg; break;
		case 'e': b.certs_dir = optarg; break;
		case 'P': prepare = optarg; break;
		case 'x': b.stop_after_memory = 1; break;
		case 's': server = optarg; break;
		case 'S': b.subcluster = optarg; break;
		case 'u': b.user = optarg; break;
		case 'n': num = &b.n; break;
		case 'c': num = &b.ncommits; break;
		case 'j': num = &b.enroll_at_once; break;
		case 'w': num = &b.connect_at_once; break;
		case 'W': num = &wait_s; break;
		case 'p': num = &pid; break;
		case 'r': num = &rcvbuf_kib; break;
		default:
			usage();
			return 2;
		}
		if (num && opt_size(num, optarg, c == 'r' ? 0 : 1, c == 'p' ?
		    INT32_MAX : c == 'r' ? 1024 * 1024 :
		    c == 'n' ? 99999 : c == 'W' ? 3600 : 100000) < 0) {
			fprintf(stderr, "bench_watch: -%c: bad number '%s'\n", c,
			    optarg);
			return 2;
		}
	}
	if (prepare) {
		if (optind != argc || !data_dir ||
		    !ecc_name_is_subcluster(b.subcluster)) {
			usage();
			return 2;
		}
		error = bench_prepare(&b, prepare, data_dir);
		if (error < 0)
			fprintf(stderr, "bench_watch: %s\n", ecc_error_last());
		bench_free(&b);
		return error < 0 ? 1 : 0;
	}
	b.password = getenv("ECC_BENCH_PASSWORD");
	if (optind != argc || !server || !b.ca_path || !pid || !b.password ||
	    !ecc_name_is_subcluster(b.subcluster)) {
		usage();
		return 2;
	}
	b.pid = (pid_t)pid;
	b.wait_s = (int)wait_s;
	sock_rcvbuf = (int)rcvbuf_kib * 1024;
	if (ecc_http_parse_hostport(&host, &b.port, server, ECC_DEFAULT_PORT)
	    < 0) {
		fprintf(stderr, "bench_watch: %s\n", ecc_error_last());
		return 2;
	}
	b.host = host;
	/* A closed connection is an error on that node, not our death. */
	signal(SIGPIPE, SIG_IGN);
	printf("# bench_watch: %zu nodes (subcluster %s) on %s, manager pid "
	    "%ld, %zu commits, watch wait %d s; generator sockets: TCP_NODELAY, "
	    "receive buffer %zu KiB (0: autotuned)\n", b.n, b.subcluster,
	    server, (long)b.pid, b.ncommits, b.wait_s, rcvbuf_kib);
	error = bench_run(&b);
	if (error < 0)
		fprintf(stderr, "bench_watch: %s\n", ecc_error_last());
	bench_free(&b);
	free(host);
	return error < 0 ? 1 : 0;
}
