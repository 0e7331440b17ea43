/*
 * bench_repo.c - revision store benchmarks (issue 3):
 *   - commit latency (one changed file) on repositories of 100, 10,000
 *     and 100,000 files: median and p99, fsync on, as ecconfigd commits;
 *   - log of 1,000 revisions (whole and filtered by path);
 *   - snapshot build time and size for a 200-file view.
 * Prints one line per figure.  Timings are wall clock on whatever machine
 * runs it: compare the ratios within one run.
 *
 * usage: bench_repo [-c COMMITS] [-s SIZES] [DIR]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecconfig.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[i] / 1000.0;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_repo: %s: %s\n", what, ecc_error_last());
	exit(1);
}

/* Commit `cs` and die on failure; returns the new revision. */
static int64_t
commit(ecc_repo *repo, struct ecc_changeset *cs)
{
	struct ecc_commit_result res = { 0 };
	int64_t rev;

	if (ecc_repo_commit(&res, repo, cs, NULL, NULL) < 0)
		die("commit");
	rev = res.revision;
	ecc_commit_result_clear(&res);
	return rev;
}

static char *
file_body(size_t i, size_t rev, size_t *len)
{
	char *s = ecc_printf("# generated file %zu, revision %zu\n"
	    "max_outbound_connections = %zu\nserver_max_outbound_connections = %zu\n"
	    "Keep_Message_Dicts_In_Memory = true\n", i, rev, 100 + i, 20 + rev);

	*len = strlen(s);
	return s;
}

/* A repository of `nfiles` files in folders of 100 under default/default/. */
static ecc_repo *
make_repo(const char *dir, size_t nfiles)
{
	ecc_repo *repo = NULL;
	struct ecc_changeset *cs;
	size_t i, len;
	char *path, *body;

	ecc_rm_rf(dir);
	if (ecc_repo_init(dir) < 0 || ecc_repo_open(&repo, dir) < 0)
		die("init");
	cs = ecc_changeset_new(0, "seed");
	cs->author = ecc_strdup("bench");
	for (i = 0; i < nfiles; i++) {
		path = ecc_printf("default/default/d%04zu/f%06zu.conf", i / 100, i);
		body = file_body(i, 0, &len);
		ecc_changeset_add_write(cs, path, body, len, 0100644);
		free(path);
		free(body);
	}
	commit(repo, cs);
	ecc_changeset_free(cs);
	return repo;
}

static void
bench_commits(const char *base, size_t nfiles, size_t ncommits)
{
	char *dir = ecc_printf("%s/commit-%zu", base, nfiles);
	ecc_repo *repo = make_repo(dir, nfiles);
	uint64_t *lat = ecc_calloc(ncommits, sizeof(*lat));
	struct ecc_changeset *cs;
	size_t i, len;
	uint64_t t0;
	char *path, *body;

	for (i = 0; i < ncommits + 5; i++) {
		cs = ecc_changeset_new(ecc_repo_head(repo), "one change");
		cs->author = ecc_strdup("bench");
		path = ecc_printf("default/default/d%04zu/f%06zu.conf",
		    (i * 7919 % nfiles) / 100, i * 7919 % nfiles);
		body = file_body(i, i + 1, &len);
		ecc_changeset_add_write(cs, path, body, len, 0100644);
		t0 = ecc_now_us();
		commit(repo, cs);
		if (i >= 5)     /* the first few warm the caches */
			lat[i - 5] = ecc_now_us() - t0;
		ecc_changeset_free(cs);
		free(path);
		free(body);
	}
	printf("commit latency, %6zu files: median %7.2f ms  p99 %7.2f ms  (%zu commits)\n",
	    nfiles, pct(lat, ncommits, 0.5), pct(lat, ncommits, 0.99), ncommits);
	free(lat);
	ecc_repo_free(repo);
	ecc_rm_rf(dir);
	free(dir);
}

static void
bench_log(const char *base, size_t nrevs)
{
	char *dir = ecc_printf("%s/log", base);
	ecc_repo *repo = make_repo(dir, 100);
	struct ecc_revinfo *v = NULL;
	struct ecc_changeset *cs;
	size_t i, n = 0, len;
	uint64_t t0, t_all, t_path;
	char *path, *body;

	for (i = 0; i < nrevs; i++) {
		cs = ecc_changeset_new(ecc_repo_head(repo), "log bench");
		cs->author = ecc_strdup("bench");
		path = ecc_printf("default/default/d0000/f%06zu.conf", i % 100);
		body = file_body(i, i + 1, &len);
		ecc_changeset_add_write(cs, path, body, len, 0100644);
		commit(repo, cs);
		ecc_changeset_free(cs);
		free(path);
		free(body);
	}
	t0 = ecc_now_us();
	if (ecc_repo_log(&v, &n, repo, -1, nrevs, NULL) < 0)
		die("log");
	t_all = ecc_now_us() - t0;
	ecc_revinfo_array_free(v, n);
	t0 = ecc_now_us();
	if (ecc_repo_log(&v, &n, repo, -1, nrevs, "default/default/d0000/f000007.conf") < 0)
		die("log path");
	t_path = ecc_now_us() - t0;
	printf("log of %zu revisions: %.2f ms; filtered by one path: %.2f ms (%zu hits)\n",
	    nrevs, (double)t_all / 1000.0, (double)t_path / 1000.0, n);
	ecc_revinfo_array_free(v, n);
	ecc_repo_free(repo);
	ecc_rm_rf(dir);
	free(dir);
}

static void
bench_snapshot(const char *base, size_t runs)
{
	char *dir = ecc_printf("%s/snapshot", base);
	ecc_repo *repo = NULL;
	struct ecc_changeset *cs;
	struct ecc_limits lim;
	uint64_t *t = ecc_calloc(runs, sizeof(*t)), t0;
	size_t i, len, size = 0;
	char *path, *body;
	void *tar;

	ecc_limits_default(&lim);
	ecc_rm_rf(dir);
	if (ecc_repo_init(dir) < 0 || ecc_repo_open(&repo, dir) < 0)
		die("init");
	cs = ecc_changeset_new(0, "view of 200 files");
	cs->author = ecc_strdup("bench");
	for (i = 0; i < 200; i++) {
		/* 100 in global/, 100 in the subcluster; ~2 KiB each */
		path = i < 100 ? ecc_printf("global/conf/f%03zu.conf", i) :
		    ecc_printf("default/default/f%03zu.conf", i);
		body = ecc_malloc(2048);
		memset(body, 'a' + (int)(i % 26), 2047);
		body[2047] = '\n';
		ecc_changeset_add_write(cs, path, body, 2048, 0100644);
		free(path);
		free(body);
	}
	commit(repo, cs);
	ecc_changeset_free(cs);
	for (i = 0; i < runs; i++) {
		t0 = ecc_now_us();
		if (ecc_view_archive(&tar, &len, repo, "default", -1,
		    ecc_repo_head(repo), &lim) < 0)
			die("archive");
		t[i] = ecc_now_us() - t0;
		size = len;
		free(tar);
	}
	printf("snapshot of a 200-file view: median %.2f ms  p99 %.2f ms  size %zu bytes\n",
	    pct(t, runs, 0.5), pct(t, runs, 0.99), size);
	free(t);
	ecc_repo_free(repo);
	ecc_rm_rf(dir);
	free(dir);
}

int
main(int argc, char **argv)
{
	size_t ncommits = 100, sizes[] = { 100, 10000, 100000 }, i;
	const char *base = NULL;
	char *tmp = NULL;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "c:")) != -1) {
		if (c == 'c')
			ncommits = (size_t)atol(optarg);
		else {
			fprintf(stderr, "usage: bench_repo [-c COMMITS] [DIR]\n");
			return 2;
		}
	}
	if (optind < argc) {
		base = argv[optind];
	} else {
		tmp = ecc_strdup("/tmp/ecc-bench-XXXXXX");
		if (!mkdtemp(tmp))
			return 1;
		base = tmp;
	}
	for (i = 0; i < ECC_ARRAY_SIZE(sizes); i++)
		bench_commits(base, sizes[i], ncommits);
	bench_log(base, 1000);
	bench_snapshot(base, 50);
	if (tmp) {
		ecc_rm_rf(tmp);
		free(tmp);
	}
	return 0;
}
