/*
 * cmd-follow.c - `eccfg follow [--boot FILE] [--wait S]`: the node's
 * long-running service.  Holds a watch on its view (long-poll), applies
 * every new revision as it lands (node_update: delta, verify, check,
 * switch, reload) according to autoupdate, reports every result and,
 * once per watch, that it is alive.  Unreachable managers are retried in
 * cluster.boot's order with jittered exponential backoff, never sooner
 * than a Retry-After the manager sent.  SIGTERM/SIGINT stop it at once,
 * except during an apply, which is finished first.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eccfg.h"
#include "node.h"

#define FOLLOW_DEFAULT_WAIT 55
#define FOLLOW_MAX_WAIT 3600
#define FOLLOW_BACKOFF_BASE_MS 500
#define FOLLOW_BACKOFF_CAP_MS 30000

enum {
	OPT_WAIT = 1,
	OPT_ONCE,
};

static const struct eccfg_opt follow_opts[] = {
	NODE_BOOT_OPT,
	{ "wait", 1, 0, OPT_WAIT, "SECONDS",
	  "hold each watch this long (default 55; the manager may cap it)" },
	{ "exit-after", 1, 0, OPT_ONCE, "N",
	  "stop after N watch rounds (for tests and scripts)" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct follow_args {
	const char *boot;
	int64_t wait;
	int64_t rounds;            /* 0: forever */
};

static int
follow_parse(int64_t *out, const char *arg, int64_t min, int64_t max,
    const char *opt)
{
	if (ecc_parse_int64(out, arg, min, max) < 0)
		return ecc_error_set(ECC_EINVALID, "%s '%s': expected a number "
		    "from %" PRId64 " to %" PRId64, opt, arg, min, max);
	return 0;
}

static int
follow_opt(int id, const char *arg, void *payload)
{
	struct follow_args *a = payload;

	switch (id) {
	case NODE_OPT_BOOT:
		a->boot = arg;
		return 0;
	case OPT_WAIT:
		return follow_parse(&a->wait, arg, 1, FOLLOW_MAX_WAIT,
		    "--wait");
	case OPT_ONCE:
		return follow_parse(&a->rounds, arg, 1, INT64_MAX,
		    "--exit-after");
	}
	return ecc_error_set(ECC_EINVALID, "unknown option");
}

static volatile sig_atomic_t follow_applying;
static volatile sig_atomic_t follow_stop;

/* Nothing is lost by stopping between applies (each is atomic and the
 * next start recovers), so only an apply in progress is waited for. */
static void
follow_on_signal(int sig)
{
	(void)sig;
	if (!follow_applying)
		_exit(0);
	follow_stop = 1;
}

static void
follow_sleep_ms(uint64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !follow_stop)
		;
}

/* A revision that failed its check or reload, or was held by local
 * edits, is not fetched again until the view moves past it (or the node
 * is moved by hand); its result is repeated in the heartbeat reports. */
struct follow_skip {
	int64_t rev;
	const char *result;
};

/* One round after the watch said the view is at `vrev`: apply it when
 * autoupdate allows, then report.  Returns 0, or a transient error
 * (manager unreachable or pacing: ECC_EUNAVAIL, ECC_EAGAIN) after which
 * the round is tried again after a backoff. */
static int
follow_round(struct eccfg_ctx *ctx, struct node *n, int64_t vrev,
    struct follow_skip *skip, const char *note)
{
	struct ecc_apply_result res;
	struct ecc_drift d;
	const char *mode = n->boot.autoupdate;
	const char *result = "ok";
	char *msg = NULL;
	int error, edited;

	memset(&res, 0, sizeof(res));
	if (vrev == n->current)
		goto report;
	if (vrev == skip->rev) {
		result = skip->result;
		goto report;
	}
	if (strcmp(mode, "false") == 0) {
		result = "disabled";
		msg = ecc_printf("autoupdate = false: r%" PRId64 " not applied",
		    vrev);
		goto report;
	}
	if (strcmp(mode, "ifunchanged") == 0 && n->current >= 0) {
		memset(&d, 0, sizeof(d));
		edited = ecc_apply_drift(&d, n->boot.conf_dir, NULL) == 0 &&
		    d.nmodified + d.nadded + d.nremoved > 0;
		ecc_drift_free(&d);
		ecc_error_clear();
		if (edited) {
			result = "local_edits";
			msg = ecc_printf("autoupdate = ifunchanged: r%" PRId64
			    " not applied while files are edited by hand",
			    vrev);
			eccfg_say(ctx, "%s\n", msg);
			goto report;
		}
	}
	follow_applying = 1;
	error = node_update(&res, n, vrev, ECC_APPLY_LOCAL_CARRY);
	follow_applying = 0;
	if (error == ECC_EUNAVAIL || error == ECC_EAGAIN) {
		ecc_apply_result_free(&res);
		return error;
	}
	if (error < 0) {
		eccfg_report(ctx);
		result = "check_failed";
		msg = ecc_printf("cannot apply r%" PRId64 ": %s", vrev,
		    ecc_error_last());
		skip->rev = vrev;
		skip->result = result;
		goto report;
	}
	node_print_result(ctx, n, &res);
	fflush(stdout);
	result = node_result_name(res.status);
	if (res.status != ECC_APPLY_OK && res.status != ECC_APPLY_UNCHANGED) {
		skip->rev = vrev;
		skip->result = result;
	}
	if (res.output)
		msg = ecc_strdup(res.output);
report:
	/* After an outage the manager learns how stale the node was. */
	if (note && *note) {
		char *both = msg ? ecc_printf("%s; %s", note, msg) :
		    ecc_strdup(note);

		free(msg);
		msg = both;
	}
	if (node_report(n, result, msg) < 0)
		eccfg_report(ctx);
	ecc_apply_result_free(&res);
	free(msg);
	return 0;
}

static int
follow_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct follow_args a = { NULL, FOLLOW_DEFAULT_WAIT, 0 };
	struct ecc_backoff bo;
	struct sigaction sa;
	struct node n;
	struct follow_skip skip = { -1, "ok" };
	int64_t vrev, since, seen = -1, rounds = 0;
	uint64_t delay;
	int first, rc, error, offline = 0;
	time_t offline_since = 0;
	char note[160];

	if ((rc = eccfg_parse_options(ctx, argc, argv, follow_opt, &a,
	    &first)) != 0)
		return rc;
	if (first != argc)
		return eccfg_usage(ctx, "follow takes no operand");
	/* A service's output goes to a pipe or a file: one line at a time,
	 * as it happens. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A watch is held for up to `wait` seconds: give it room. */
	if (ctx->g.timeout < a.wait + 15)
		ctx->g.timeout = (int)a.wait + 15;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = follow_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ecc_backoff_init(&bo, FOLLOW_BACKOFF_BASE_MS, FOLLOW_BACKOFF_CAP_MS);

	if ((error = node_open(&n, ctx, node_boot_path(a.boot))) < 0) {
		node_close(&n);
		return eccfg_report(ctx);
	}
	if (n.current >= 0)
		eccfg_say(ctx, "%s: starting from revision %" PRId64 "\n",
		    n.boot.conf_dir, n.current);
	while (!follow_stop && (a.rounds == 0 || rounds < a.rounds)) {
		/* `eccfg pull` or `local rollback` may have moved it. */
		if (ecc_apply_current(&n.current, n.boot.conf_dir) < 0) {
			n.current = -1;
			ecc_error_clear();
		}
		/* The first round, and the first after an outage, ask
		 * without waiting, so a node that was away catches up at
		 * once.  The others wait past what the last round saw,
		 * applied or not: a revision that autoupdate or local edits
		 * left alone is looked at again once per watch, not in a
		 * busy loop. */
		since = n.current > skip.rev ? n.current : skip.rev;
		if (seen > since)
			since = seen;
		error = node_view_revision(&vrev, &n, since, rounds == 0 ||
		    offline ? 0 : (int)a.wait);
		note[0] = '\0';
		if (offline_since)
			snprintf(note, sizeof(note), "no manager for %lld s, "
			    "served r%" PRId64 " meanwhile", (long long)
			    (time(NULL) - offline_since), n.current);
		if (error == 0 && (error = follow_round(ctx, &n, vrev,
		    &skip, note)) == 0) {
			seen = vrev;
			rounds++;
			offline_since = 0;
		}
		if (error < 0) {
			delay = ecc_backoff_next(&bo,
			    eccfg_client_retry_after(n.client));
			if (error == ECC_EAGAIN)
				ecc_log_info("follow", "%s; retrying in %" PRIu64
				    " ms", ecc_error_last(), delay);
			else if (!offline)
				ecc_log_warn("follow", "%s; retrying in %" PRIu64
				    " ms (serving r%" PRId64 ")",
				    ecc_error_last(), delay, n.current);
			else
				ecc_log_info("follow", "%s; retrying in %" PRIu64
				    " ms", ecc_error_last(), delay);
			offline = error == ECC_EUNAVAIL ? offline + 1 : offline;
			if (offline && !offline_since)
				offline_since = time(NULL);
			follow_sleep_ms(delay);
			continue;
		}
		if (offline)
			ecc_log_notice("follow", "%s answers again",
			    eccfg_client_server(n.client));
		offline = 0;
		ecc_backoff_reset(&bo);
	}
	node_close(&n);
	return ECCFG_EXIT_OK;
}

const struct eccfg_cmd eccfg_cmd_follow = {
	.name = "follow",
	.summary = "keep this node at the head of its view (the node's "
	    "service)",
	.usage = "[--boot FILE] [--wait SECONDS]",
	.opts = follow_opts,
	.json_ok = 0,
	.run = follow_run,
};
