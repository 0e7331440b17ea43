/*
 * wc.c - the administrator's working copy: metadata, locking, status,
 * checkout and the pull engine shared by pull and commit (see wc.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <jansson.h>

#include "eccfg.h"
#include "wc.h"

#define WC_META_MAX (64u * 1024 * 1024)
#define WC_SCAN_MAX_ENTRIES 1000000
#define WC_SCAN_MAX_DEPTH 64
#define WC_LOCK_TRIES 10
#define WC_LOCK_WAIT_MS 1000          /* how long a busy lock is retried */

/* Markers inside .eccfg: "pending" while a new tree is built (DIR.new
 * for a checkout, DIR/.eccfg/next for a pull); "retired" in the old tree
 * of a switch by an older eccfg, just before it became DIR.old.  Only
 * directories carrying them are ever removed. */
#define WC_MARK_PENDING "pending"
#define WC_MARK_RETIRED "retired"

/* Inside DIR/.eccfg: the tree a pull builds, the files it removes, and
 * the journal of its switch (see "Switching a checkout in place"). */
#define WC_NEXT "next"
#define WC_TRASH "trash"
#define WC_JOURNAL "switch.json"
/* Test hook (tests/integration only): _exit(99) after this many
 * journal operations, to simulate a crash in the middle of a switch. */
#define WC_CRASH_ENV "ECCFG_TEST_CRASH_AFTER"

/*
 * Sorted string sets.
 */

/* Index of `str` in `s`, or where it would go; *found set accordingly. */
static size_t
strset_pos(const struct wc_strset *s, const char *str, int *found)
{
	size_t lo = 0, hi = s->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(s->v[mid], str);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
wc_strset_has(const struct wc_strset *s, const char *str)
{
	int found;

	strset_pos(s, str, &found);
	return found;
}

void
wc_strset_add(struct wc_strset *s, const char *str)
{
	int found;
	size_t i = strset_pos(s, str, &found);

	if (found)
		return;
	s->v = ecc_realloc(s->v, (s->n + 1) * sizeof(*s->v));
	memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(*s->v));
	s->v[i] = ecc_strdup(str);
	s->n++;
}

int
wc_strset_remove(struct wc_strset *s, const char *str)
{
	int found;
	size_t i = strset_pos(s, str, &found);

	if (!found)
		return 0;
	free(s->v[i]);
	memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(*s->v));
	s->n--;
	return 1;
}

void
wc_strset_clear(struct wc_strset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/*
 * Paths.
 */

static char *
path_join(const char *a, const char *b)
{
	if (!*b)
		return ecc_strdup(a);
	if (!*a)
		return ecc_strdup(b);
	if (strcmp(a, "/") == 0)
		return ecc_printf("/%s", b);
	return ecc_printf("%s/%s", a, b);
}

/* rel when `path` is `root` or below it (borrowed), else NULL. */
static const char *
path_below(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return path + 1;
	if (strncmp(path, root, n) != 0)
		return NULL;
	if (path[n] == '\0')
		return path + n;
	if (path[n] == '/')
		return path + n + 1;
	return NULL;
}

/* The current directory, malloc'd (NULL with errno set).  A pull
 * replaces the checkout's directory; a shell that was inside it is left
 * in the removed old tree, so fall back to the shell's $PWD, which still
 * names the checkout. */
static char *
current_dir(void)
{
	const char *pwd = getenv("PWD");
	char *cwd = getcwd(NULL, 0);
	struct stat st;

	if (cwd || errno != ENOENT)
		return cwd;
	if (pwd && pwd[0] == '/' && stat(pwd, &st) == 0 && S_ISDIR(st.st_mode))
		return ecc_strdup(pwd);
	errno = ENOENT;
	return NULL;
}

int
wc_cwd_is_inside(const struct wc *wc)
{
	char *cwd = getcwd(NULL, 0);
	int r = cwd && path_below(cwd, wc->root) != NULL;

	free(cwd);
	return r;
}

/* `arg` made absolute against the current directory, with ".", ".."
 * and repeated or trailing slashes resolved lexically; malloc'd. */
static int
path_absolute(char **out, const char *arg)
{
	char *cwd = NULL, *full = NULL, *res = NULL, *tok, *save = NULL;
	size_t len = 0, cap;
	int error = -1;

	*out = NULL;
	if (arg[0] == '/') {
		full = ecc_strdup(arg);
	} else {
		if ((cwd = current_dir()) == NULL) {
			error = ecc_error_set_errno(ECC_ERROR,
			    "cannot find the current directory");
			goto out;
		}
		full = ecc_printf("%s/%s", cwd, arg);
	}
	cap = strlen(full) + 2;
	res = ecc_malloc(cap);
	res[0] = '\0';
	for (tok = strtok_r(full, "/", &save); tok;
	    tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			char *slash = strrchr(res, '/');

			if (slash) {
				*slash = '\0';
				len = (size_t)(slash - res);
			}
			continue;
		}
		res[len++] = '/';
		memcpy(res + len, tok, strlen(tok));
		len += strlen(tok);
		res[len] = '\0';
	}
	if (len == 0) {
		res[0] = '/';
		res[1] = '\0';
	}
	*out = res;
	res = NULL;
	error = 0;
out:
	free(cwd);
	free(full);
	free(res);
	return error;
}

/* The physical form of an absolute, normalized path: its longest
 * existing prefix goes through realpath(3), the rest is appended. */
static char *
path_physical(const char *abs)
{
	char *head = ecc_strdup(abs), *real, *res, *slash;
	const char *tail = NULL;

	for (;;) {
		if ((real = realpath(head, NULL)) != NULL)
			break;
		slash = strrchr(head, '/');
		if (!slash || slash == head) {
			real = ecc_strdup("/");
			break;
		}
		*slash = '\0';
	}
	if (strlen(head) < strlen(abs))
		tail = abs + strlen(head) + (strcmp(head, "/") ? 1 : 0);
	res = tail && *tail ? path_join(real, tail) : ecc_strdup(real);
	free(real);
	free(head);
	return res;
}

int
wc_path_matches(const char *path, char *const *prefixes, size_t n)
{
	size_t i;

	if (n == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (ecc_path_has_prefix(path, prefixes[i]))
			return 1;
	return 0;
}

char *
wc_path(const struct wc *wc, const char *rel)
{
	return path_join(wc->root, rel);
}

/* DIR/.eccfg/NAME, malloc'd. */
static char *
meta_path(const char *root, const char *name)
{
	return ecc_printf("%s/" WC_META_DIR "/%s", root, name);
}

static int
has_meta_file(const char *root, const char *name)
{
	char *p = meta_path(root, name);
	int r = ecc_path_exists(p);

	free(p);
	return r;
}

/* The base object holding content `sha` in checkout (or build) `root`. */
static char *
obj_path(const char *root, const char *sha)
{
	return ecc_printf("%s/" WC_META_DIR "/base/%.2s/%s", root, sha,
	    sha + 2);
}

/* Create an empty marker file. */
static int
mark_set(const char *root, const char *name)
{
	char *p = meta_path(root, name);
	int error = ecc_file_write_atomic(p, "", 0, 0644);

	free(p);
	return error;
}

static void
mark_clear(const char *root, const char *name)
{
	char *p = meta_path(root, name);

	unlink(p);
	free(p);
}

/*
 * Locking and recovery of an interrupted switch.
 */

/* Open DIR/.eccfg and flock it (LOCK_NB); -1 with errno on failure. */
static int
lock_take(const char *root, int how)
{
	char *p = ecc_printf("%s/" WC_META_DIR, root);
	int fd, saved;

	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return -1;
	if (flock(fd, how | LOCK_NB) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* lock_take(), retried for a moment while another command finishes
 * (a quick status or a reader's recovery check). */
static int
lock_take_wait(const char *root, int how)
{
	uint64_t deadline = ecc_now_ms() + WC_LOCK_WAIT_MS;
	int fd;

	while ((fd = lock_take(root, how)) < 0 && errno == EWOULDBLOCK &&
	    ecc_now_ms() < deadline)
		usleep(20000);
	return fd;
}

/* 1 when fd still is DIR/.eccfg (a pull may have replaced DIR). */
static int
lock_is_current(int fd, const char *root)
{
	char *p = ecc_printf("%s/" WC_META_DIR, root);
	struct stat a, b;
	int r;

	r = fstat(fd, &a) == 0 && stat(p, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino;
	free(p);
	return r;
}

/* Remove a left-over DIR.old or DIR.new when it carries `marker` and
 * nobody holds its lock. */
static void
recover_remove(const char *dir, const char *marker)
{
	int fd;

	if (!has_meta_file(dir, marker))
		return;
	if ((fd = lock_take(dir, LOCK_EX)) < 0 && errno == EWOULDBLOCK)
		return;
	if (ecc_rm_rf(dir) < 0)
		ecc_log_warn("wc", "%s", ecc_error_last());
	if (fd >= 0)
		close(fd);
}

/* DIR does not exist: finish a switch whose DIR.new is complete, else
 * put DIR.old back.  Returns 1 when DIR exists afterwards. */
static int
recover_missing(const char *root)
{
	char *newdir = ecc_printf("%s.new", root);
	char *old = ecc_printf("%s.old", root), *parent = ecc_path_dirname(root);
	int fd = -1, done = 0;

	if (has_meta_file(old, WC_MARK_RETIRED) &&
	    (fd = lock_take(old, LOCK_EX)) < 0 && errno == EWOULDBLOCK)
		goto out;       /* a pull is between its two renames */
	if (has_meta_file(newdir, WC_MARK_PENDING) &&
	    has_meta_file(newdir, "meta.json") && rename(newdir, root) == 0) {
		mark_clear(root, WC_MARK_PENDING);
		done = 1;
	} else if (has_meta_file(old, WC_MARK_RETIRED) &&
	    rename(old, root) == 0) {
		mark_clear(root, WC_MARK_RETIRED);
		done = 1;
	}
	if (done)
		ecc_fsync_dir(parent);
out:
	if (fd >= 0)
		close(fd);
	free(newdir);
	free(old);
	free(parent);
	return done;
}

static int journal_run(const char *root);

/* With DIR locked exclusively: finish a switch whose journal was
 * written (roll forward), else clear what an interrupted pull left. */
static int
recover_present(const char *root)
{
	char *newdir = ecc_printf("%s.new", root);
	char *old = ecc_printf("%s.old", root);
	char *next = NULL, *trash = NULL;
	int error = 0;

	if (has_meta_file(root, WC_JOURNAL)) {
		if ((error = journal_run(root)) < 0)
			goto out;
	} else {
		next = meta_path(root, WC_NEXT);
		trash = meta_path(root, WC_TRASH);
		if (ecc_rm_rf(next) < 0 || ecc_rm_rf(trash) < 0)
			ecc_log_warn("wc", "%s", ecc_error_last());
	}
	mark_clear(root, WC_MARK_PENDING);
	mark_clear(root, WC_MARK_RETIRED);
	recover_remove(old, WC_MARK_RETIRED);
	recover_remove(newdir, WC_MARK_PENDING);
out:
	free(newdir);
	free(old);
	free(next);
	free(trash);
	return error;
}

/* Lock `root` (recovering first when possible); fd or negative code. */
static int
wc_lock(const char *root, enum wc_lock lock)
{
	int tries, fd, error;

	for (tries = 0; tries < WC_LOCK_TRIES; tries++) {
		if (!ecc_path_exists(root) && !recover_missing(root)) {
			usleep(20000);
			continue;
		}
		fd = lock_take(root, LOCK_EX);
		if (fd >= 0) {
			if ((error = recover_present(root)) < 0) {
				close(fd);
				return error;
			}
			if (lock == WC_LOCK_SHARED)
				flock(fd, LOCK_SH);
		} else if (errno == EWOULDBLOCK) {
			fd = lock_take_wait(root, lock == WC_LOCK_SHARED ?
			    LOCK_SH : LOCK_EX);
		}
		if (fd < 0) {
			if (errno == EWOULDBLOCK)
				return ecc_error_set(ECC_EAGAIN, "%s is in use "
				    "by another eccfg command; try again when "
				    "it has finished", root);
			if (errno == ENOENT)
				continue;
			return ecc_error_set_errno(ECC_ERROR, "cannot lock %s",
			    root);
		}
		if (lock_is_current(fd, root))
			return fd;
		close(fd);
	}
	return ecc_error_set(ECC_EAGAIN, "%s keeps changing under eccfg; "
	    "is a pull running?", root);
}

/* Walk up from `start` to the first directory holding .eccfg/meta.json;
 * on the way, finish an interrupted switch of a missing checkout.
 * *out is malloc'd, NULL when there is none. */
static void
find_root(char **out, const char *lexical, const char *physical)
{
	char *cand = ecc_strdup(physical), *lex = ecc_strdup(lexical), *s;

	*out = NULL;
	for (;;) {
		if (has_meta_file(cand, "meta.json")) {
			*out = cand;
			cand = NULL;
			break;
		}
		if (strcmp(cand, "/") == 0)
			break;
		s = ecc_path_dirname(cand);
		free(cand);
		cand = s;
	}
	/* A checkout whose directory is missing after a crash mid-switch:
	 * look for DIR.new / DIR.old beside each missing component. */
	while (!*out && strcmp(lex, "/") != 0) {
		if (!ecc_path_exists(lex) && recover_missing(lex)) {
			*out = path_physical(lex);
			break;
		}
		s = ecc_path_dirname(lex);
		free(lex);
		lex = s;
	}
	/* Inside DIR.old of a switch that a crash interrupted. */
	if (*out) {
		size_t n = strlen(*out);

		if (n > 4 && strcmp(*out + n - 4, ".old") == 0 &&
		    has_meta_file(*out, WC_MARK_RETIRED)) {
			s = ecc_strndup(*out, n - 4);
			free(*out);
			*out = s;
		}
	}
	free(cand);
	free(lex);
}

/*
 * Metadata.
 */

static int
meta_set_string(char **dst, const json_t *obj, const char *key,
    const char *file, int required)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			return ecc_error_set(ECC_EINVALID, "%s: '%s' is "
			    "missing", file, key);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 4096)
		return ecc_error_set(ECC_EINVALID, "%s: '%s' must be a "
		    "string of 1..4096 bytes", file, key);
	*dst = ecc_strdup(json_string_value(v));
	return 0;
}

static int
meta_set_paths(struct wc_strset *dst, const json_t *obj, const char *key,
    const char *file, const struct ecc_limits *lim)
{
	const json_t *v = json_object_get(obj, key), *item;
	size_t i;

	if (!v)
		return 0;
	if (!json_is_array(v))
		return ecc_error_set(ECC_EINVALID, "%s: '%s' must be an "
		    "array", file, key);
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) ||
		    ecc_path_validate(json_string_value(item), lim) < 0)
			return ecc_error_set(ECC_EINVALID, "%s: %s[%zu] is "
			    "not a valid path", file, key, i);
		wc_strset_add(dst, json_string_value(item));
	}
	return 0;
}

static int
wc_load(struct wc *wc)
{
	char *mfile = meta_path(wc->root, "meta.json");
	char *manfile = meta_path(wc->root, "manifest.json");
	char *buf = NULL, *msg = NULL;
	size_t len = 0, i;
	json_t *meta = NULL, *v;
	json_error_t jerr;
	int error = -1;

	if ((error = ecc_file_read(&buf, &len, mfile, WC_META_MAX)) < 0)
		goto out;
	if ((meta = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(meta)) {
		error = ecc_error_set(ECC_EINVALID, "%s: line %d: %s", mfile,
		    jerr.line, meta ? "not a JSON object" : jerr.text);
		goto out;
	}
	v = json_object_get(meta, "format");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		error = ecc_error_set(ECC_EINVALID, "%s: unknown format (this "
		    "eccfg reads format 1)", mfile);
		goto out;
	}
	if ((error = meta_set_string(&wc->view, meta, "view", mfile, 1)) < 0 ||
	    (error = meta_set_string(&wc->server, meta, "server", mfile,
	    0)) < 0 ||
	    (error = meta_set_string(&wc->ca_file, meta, "ca_file", mfile,
	    0)) < 0 ||
	    (error = meta_set_string(&wc->ca_fingerprint, meta,
	    "ca_fingerprint", mfile, 0)) < 0 ||
	    (error = meta_set_string(&wc->username, meta, "username", mfile,
	    0)) < 0 ||
	    (error = meta_set_paths(&wc->deleted, meta, "deleted", mfile,
	    &wc->lim)) < 0 ||
	    (error = meta_set_paths(&wc->conflicts, meta, "conflicts", mfile,
	    &wc->lim)) < 0)
		goto out;
	if (strcmp(wc->view, ECC_VIEW_ALL) != 0 &&
	    !ecc_name_is_subcluster(wc->view)) {
		error = ecc_error_set(ECC_EINVALID, "%s: '%s' is not a view",
		    mfile, wc->view);
		goto out;
	}
	free(buf);
	buf = NULL;
	if ((error = ecc_file_read(&buf, &len, manfile,
	    ECC_MANIFEST_MAX_BYTES)) < 0)
		goto out;
	if ((error = ecc_manifest_parse(&wc->base, buf, len, &wc->lim)) < 0) {
		msg = ecc_strdup(ecc_error_last());
		error = ecc_error_set(error, "%s: %s", manfile, msg);
		goto out;
	}
	if (strcmp(wc->base->view, wc->view) != 0) {
		error = ecc_error_set(ECC_EINVALID, "%s: view '%s' but "
		    "meta.json says '%s'", manfile, wc->base->view, wc->view);
		goto out;
	}
	wc->revision = wc->base->revision;
	/* A deletion whose file left the base (a commit that was recorded
	 * before meta.json was rewritten) is no longer pending. */
	for (i = wc->deleted.n; i > 0; i--)
		if (!ecc_manifest_find(wc->base, wc->deleted.v[i - 1]))
			wc_strset_remove(&wc->deleted, wc->deleted.v[i - 1]);
	error = 0;
out:
	json_decref(meta);
	free(buf);
	free(msg);
	free(mfile);
	free(manfile);
	return error;
}

static json_t *
strset_json(const struct wc_strset *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

/* Write dir/.eccfg/meta.json from wc's identity and the given state. */
static int
meta_write(const char *dir, const struct wc *wc, int64_t revision,
    const struct wc_strset *deleted, const struct wc_strset *conflicts)
{
	char *file = meta_path(dir, "meta.json"), *text = NULL;
	json_t *meta;
	int error;

	meta = json_pack("{s:i, s:s?, s:s?, s:s?, s:s, s:I, s:s?, s:o, s:o}",
	    "format", 1, "server", wc->server, "ca_file", wc->ca_file,
	    "ca_fingerprint", wc->ca_fingerprint, "view", wc->view,
	    "revision", (json_int_t)revision, "username", wc->username,
	    "deleted", strset_json(deleted),
	    "conflicts", strset_json(conflicts));
	if (!meta || (text = json_dumps(meta, JSON_INDENT(2))) == NULL) {
		error = ecc_error_set(ECC_ERROR, "%s: cannot encode", file);
		goto out;
	}
	error = ecc_file_write_atomic(file, text, strlen(text), 0644);
out:
	json_decref(meta);
	free(text);
	free(file);
	return error;
}

/* Write dir/.eccfg/manifest.json as a base manifest (no delta fields). */
static int
manifest_write(const char *dir, struct ecc_manifest *m)
{
	char *file = meta_path(dir, "manifest.json"), *text = NULL;
	size_t len = 0, i;
	int error;

	m->since = -1;
	for (i = 0; i < m->ndeleted; i++)
		free(m->deleted[i]);
	free(m->deleted);
	m->deleted = NULL;
	m->ndeleted = 0;
	if ((error = ecc_manifest_to_json(&text, &len, m)) < 0)
		goto out;
	error = ecc_file_write_atomic(file, text, len, 0644);
out:
	free(text);
	free(file);
	return error;
}

int
wc_save(struct wc *wc, int with_manifest)
{
	int error;

	if (with_manifest && (error = manifest_write(wc->root, wc->base)) < 0)
		return error;
	wc->revision = wc->base->revision;
	return meta_write(wc->root, wc, wc->revision, &wc->deleted,
	    &wc->conflicts);
}

int
wc_open(struct wc **out, const char *path, enum wc_lock lock)
{
	struct wc *wc = NULL;
	char *lexical = NULL, *physical = NULL, *root = NULL;
	int error = -1;

	*out = NULL;
	if ((error = path_absolute(&lexical, path ? path : ".")) < 0)
		goto out;
	physical = path_physical(lexical);
	find_root(&root, lexical, physical);
	if (!root) {
		error = ecc_error_set(ECC_ENOTFOUND, "%s is not inside an "
		    "eccfg checkout (no " WC_META_DIR " directory here or "
		    "above; see eccfg checkout --help)",
		    path ? path : "the current directory");
		goto out;
	}
	wc = ecc_calloc(1, sizeof(*wc));
	wc->lock_fd = -1;
	wc->root = root;
	root = NULL;
	ecc_limits_default(&wc->lim);
	if ((error = wc_lock(wc->root, lock)) < 0)
		goto out;
	wc->lock_fd = error;
	if ((error = wc_load(wc)) < 0)
		goto out;
	*out = wc;
	wc = NULL;
	error = 0;
out:
	wc_free(wc);
	free(lexical);
	free(physical);
	free(root);
	return error;
}

void
wc_free(struct wc *wc)
{
	if (!wc)
		return;
	if (wc->lock_fd >= 0)
		close(wc->lock_fd);
	free(wc->root);
	free(wc->server);
	free(wc->ca_file);
	free(wc->ca_fingerprint);
	free(wc->view);
	free(wc->username);
	ecc_manifest_free(wc->base);
	wc_strset_clear(&wc->deleted);
	wc_strset_clear(&wc->conflicts);
	free(wc);
}

void
wc_server_hint(struct eccfg_server_hint *out, const struct wc *wc)
{
	out->server = wc->server;
	out->ca_file = wc->ca_file;
	out->ca_fingerprint = wc->ca_fingerprint;
}

int
wc_resolve_path(char **out, const struct wc *wc, const char *arg)
{
	char *abs = NULL, *phys = NULL, *dir = NULL, *dphys = NULL;
	const char *rel, *base;
	int error = -1;

	*out = NULL;
	if ((error = path_absolute(&abs, arg)) < 0)
		goto out;
	/* Resolve the parent only, so an operand that is a symlink names
	 * the link itself; fall back to the whole path (a symlinked root). */
	dir = ecc_path_dirname(abs);
	base = strrchr(abs, '/') + 1;
	dphys = path_physical(dir);
	phys = *base ? path_join(dphys, base) : ecc_strdup(dphys);
	if ((rel = path_below(phys, wc->root)) == NULL) {
		free(phys);
		phys = path_physical(abs);
		rel = path_below(phys, wc->root);
	}
	if (!rel) {
		error = ecc_error_set(ECC_EINVALID, "%s: outside the checkout "
		    "%s", arg, wc->root);
		goto out;
	}
	if (ecc_path_has_prefix(rel, WC_META_DIR)) {
		error = ecc_error_set(ECC_EINVALID, "%s: inside the checkout's "
		    "metadata", arg);
		goto out;
	}
	*out = ecc_strdup(rel);
	error = 0;
out:
	free(abs);
	free(phys);
	free(dir);
	free(dphys);
	return error;
}

int
wc_resolve_paths(char ***out, const struct wc *wc, int argc,
    char *const *argv)
{
	char **v = ecc_calloc((size_t)argc + 1, sizeof(*v));
	int i, error;

	*out = NULL;
	for (i = 0; i < argc; i++)
		if ((error = wc_resolve_path(&v[i], wc, argv[i])) < 0) {
			ecc_strv_free(v, (size_t)i);
			return error;
		}
	*out = v;
	return 0;
}

/*
 * Repository paths of view paths.
 */

static void
strv_push(char ***v, size_t *n, char *s)
{
	*v = ecc_realloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

int
wc_view_to_repo(char ***out, size_t *n, const struct wc *wc,
    const char *rel)
{
	char *p = NULL;
	int error;

	*out = NULL;
	*n = 0;
	if (strcmp(wc->view, ECC_VIEW_ALL) == 0) {
		if (*rel == '\0')
			return 0;
		if ((error = ecc_path_validate(rel, &wc->lim)) < 0)
			return error;
		strv_push(out, n, ecc_strdup(rel));
		return 0;
	}
	if (*rel == '\0') {
		strv_push(out, n, ecc_strdup("global"));
		strv_push(out, n, ecc_strdup(wc->view));
		return 0;
	}
	if (strchr(rel, '/')) {
		if ((error = ecc_view_to_repo(&p, wc->view, rel)) < 0)
			return error;
	} else {
		/* A top-level folder: ecc_view_to_repo() maps files, which
		 * always lie in one. */
		p = strcmp(rel, "global") == 0 ? ecc_strdup(rel) :
		    ecc_printf("%s/%s", wc->view, rel);
		if ((error = ecc_path_validate(p, &wc->lim)) < 0) {
			free(p);
			return error;
		}
	}
	strv_push(out, n, p);
	return 0;
}

int
wc_repo_operands(char ***out, size_t *n, struct wc **wcp, int argc,
    char *const *argv)
{
	struct wc *wc = NULL;
	char **v = NULL, **one = NULL, *rel = NULL;
	size_t nv = 0, none = 0, j;
	int i, all = 0, error;

	*out = NULL;
	*n = 0;
	*wcp = NULL;
	error = wc_open(&wc, argc ? argv[0] : NULL, WC_LOCK_SHARED);
	/* An operand outside any checkout, given from inside one, is that
	 * checkout's business: refused as outside it. */
	if (error == ECC_ENOTFOUND && argc)
		error = wc_open(&wc, NULL, WC_LOCK_SHARED);
	if (error < 0 && error != ECC_ENOTFOUND)
		return error;
	for (i = 0; i < argc; i++) {
		if (!wc) {
			/* Outside a checkout: a repository path itself. */
			if ((error = eccfg_check_repo_path(argv[i])) < 0)
				goto out;
			strv_push(&v, &nv, ecc_strdup(argv[i]));
			continue;
		}
		if ((error = wc_resolve_path(&rel, wc, argv[i])) < 0 ||
		    (error = wc_view_to_repo(&one, &none, wc, rel)) < 0)
			goto out;
		if (none == 0)
			all = 1;        /* the top of an --all checkout */
		for (j = 0; j < none; j++)
			strv_push(&v, &nv, one[j]);
		free(one);
		one = NULL;
		free(rel);
		rel = NULL;
	}
	if (all) {
		ecc_strv_free(v, nv);
		v = NULL;
		nv = 0;
	}
	*out = v ? v : ecc_calloc(1, sizeof(*v));
	*n = nv;
	*wcp = wc;
	v = NULL;
	wc = NULL;
	error = 0;
out:
	ecc_strv_free(v, nv);
	free(one);
	free(rel);
	wc_free(wc);
	return error;
}

/*
 * Files and base objects.
 */

/* Content of the object for `f` in `root`'s store, checked. */
static int
obj_read(char **out, size_t *outlen, const char *root,
    const struct ecc_manifest_file *f, const struct ecc_limits *lim)
{
	char *p = obj_path(root, f->sha256), *buf = NULL;
	char sha[ECC_SHA256_HEX_LEN];
	size_t len = 0;
	int error;

	*out = NULL;
	if ((error = ecc_file_read(&buf, &len, p, lim->max_file_size)) < 0) {
		error = ecc_error_set(error, "the base copy of %s is missing or "
		    "unreadable (%s); check the view out again", f->path, p);
		goto out;
	}
	ecc_sha256_hex(sha, buf, len);
	if (strcmp(sha, f->sha256) != 0) {
		error = ecc_error_set(ECC_EINVALID, "the base copy of %s (%s) "
		    "is damaged; check the view out again", f->path, p);
		goto out;
	}
	*out = buf;
	buf = NULL;
	if (outlen)
		*outlen = len;
	error = 0;
out:
	free(buf);
	free(p);
	return error;
}

int
wc_read_base(char **out, size_t *outlen, const struct wc *wc,
    const struct ecc_manifest_file *f)
{
	return obj_read(out, outlen, wc->root, f, &wc->lim);
}

int
wc_read_file(char **out, size_t *outlen, unsigned *mode,
    const struct wc *wc, const char *rel)
{
	char *p = wc_path(wc, rel);
	struct stat st;
	int error;

	*out = NULL;
	if (lstat(p, &st) < 0) {
		error = ecc_error_set_errno(errno == ENOENT ? ECC_ENOTFOUND :
		    ECC_ERROR, "cannot read %s", rel);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		error = ecc_error_set(ECC_EINVALID, "%s: not a regular file",
		    rel);
		goto out;
	}
	if (mode)
		*mode = (st.st_mode & S_IXUSR) ? 0755 : 0644;
	error = ecc_file_read(out, outlen, p, wc->lim.max_file_size);
out:
	free(p);
	return error;
}

/* Create `dst` (which must not exist) holding `data`, fsynced. */
static int
file_create(const char *dst, const void *data, size_t len, unsigned mode)
{
	int fd, error;

	if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode & 0777)) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot create %s", dst);
	if ((error = ecc_write_all(fd, data, len)) < 0) {
		close(fd);
		return error;
	}
	if (fchmod(fd, mode & 0777) < 0 || fsync(fd) < 0) {
		close(fd);
		return ecc_error_set_errno(ECC_ERROR, "cannot sync %s", dst);
	}
	if (close(fd) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot close %s", dst);
	return 0;
}

/* Copy regular file `src` to a new `dst` with `mode`, fsynced. */
static int
file_copy(const char *src, const char *dst, unsigned mode)
{
	char buf[65536];
	int in = -1, outfd = -1, error = -1;
	ssize_t n;

	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot open %s", src);
		goto out;
	}
	if ((outfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode & 0777)) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot create %s", dst);
		goto out;
	}
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = ecc_error_set_errno(ECC_ERROR, "cannot read %s",
			    src);
			goto out;
		}
		if (n == 0)
			break;
		if ((error = ecc_write_all(outfd, buf, (size_t)n)) < 0)
			goto out;
	}
	if (fchmod(outfd, mode & 0777) < 0 || fsync(outfd) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot sync %s", dst);
		goto out;
	}
	error = 0;
out:
	if (in >= 0)
		close(in);
	if (outfd >= 0 && close(outfd) < 0 && error == 0)
		error = ecc_error_set_errno(ECC_ERROR, "cannot close %s", dst);
	return error;
}

/* Put what lives at `src` (file, symlink) at `dst` too: a hard link, or
 * a copy where links are impossible.  Directories are skipped (their
 * contents are carried one by one). */
static int
file_carry(const char *src, const char *dst)
{
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;

	if (link(src, dst) == 0)
		return 0;
	if (errno == EEXIST)
		return ecc_error_set(ECC_EEXISTS, "%s: two entries want this "
		    "path", dst);
	if (lstat(src, &st) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot stat %s", src);
	if (S_ISDIR(st.st_mode))
		return 0;
	if (S_ISREG(st.st_mode))
		return file_copy(src, dst, st.st_mode & 07777);
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlink(src, target, sizeof(target) - 1)) < 0)
			return ecc_error_set_errno(ECC_ERROR, "cannot read "
			    "link %s", src);
		target[n] = '\0';
		if (symlink(target, dst) < 0)
			return ecc_error_set_errno(ECC_ERROR, "cannot create "
			    "link %s", dst);
		return 0;
	}
	ecc_log_warn("wc", "%s: not a file, link or directory; not carried",
	    src);
	return 0;
}

static int
mkdir_parent(const char *path)
{
	char *dir = ecc_path_dirname(path);
	int error = ecc_mkdir_p(dir, 0755);

	free(dir);
	return error;
}

/* fsync every directory at or below `dir`. */
static int
fsync_dirs(const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char *child;
	int error = 0;

	if (depth > WC_SCAN_MAX_DEPTH + 8)
		return 0;
	if ((d = opendir(dir)) == NULL)
		return ecc_error_set_errno(ECC_ERROR, "cannot open %s", dir);
	while (error == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = ecc_printf("%s/%s", dir, de->d_name);
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			error = fsync_dirs(child, depth + 1);
		free(child);
	}
	closedir(d);
	return error ? error : ecc_fsync_dir(dir);
}

/*
 * Status.
 */

struct scan {
	struct wc *wc;
	struct wc_status *st;
	size_t cap, dcap;
};

static struct wc_entry *
scan_add(struct scan *s, char *path, char code, enum wc_kind kind,
    unsigned mode, uint64_t size)
{
	struct wc_entry *e;

	if (s->st->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->st->v = ecc_realloc(s->st->v, s->cap * sizeof(*s->st->v));
	}
	e = &s->st->v[s->st->n++];
	e->path = path;
	e->code = code;
	e->kind = kind;
	e->mode = mode;
	e->size = size;
	e->base = NULL;
	return e;
}

static int
scan_dir(struct scan *s, const char *abs, const char *rel, int depth,
    int ignored)
{
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	char *cabs = NULL, *crel = NULL;
	int error = 0, any = 0, ign;

	if (depth > WC_SCAN_MAX_DEPTH)
		return ecc_error_set(ECC_ETOOBIG, "%s: directories nested "
		    "deeper than %d levels", rel, WC_SCAN_MAX_DEPTH);
	if ((d = opendir(abs)) == NULL)
		return ecc_error_set_errno(ECC_ERROR, "cannot read directory "
		    "%s", abs);
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!*rel && !strcmp(de->d_name, WC_META_DIR))
			continue;
		any = 1;
		if (s->st->n >= WC_SCAN_MAX_ENTRIES) {
			error = ecc_error_set(ECC_ETOOBIG, "more than %d files "
			    "in the checkout", WC_SCAN_MAX_ENTRIES);
			break;
		}
		crel = *rel ? ecc_printf("%s/%s", rel, de->d_name) :
		    ecc_strdup(de->d_name);
		cabs = ecc_printf("%s/%s", abs, de->d_name);
		if (lstat(cabs, &st) < 0) {
			free(crel);
			free(cabs);
			continue;       /* vanished meanwhile */
		}
		ign = ignored || ecc_path_validate(crel, &s->wc->lim) < 0;
		if (S_ISDIR(st.st_mode)) {
			error = scan_dir(s, cabs, crel, depth + 1, ign);
			free(crel);
		} else if (S_ISREG(st.st_mode)) {
			scan_add(s, crel, ign ? WC_IGNORED : WC_UNVERSIONED,
			    WC_KIND_FILE, (st.st_mode & S_IXUSR) ? 0755 : 0644,
			    (uint64_t)st.st_size);
		} else {
			scan_add(s, crel, ign ? WC_IGNORED : WC_UNVERSIONED,
			    WC_KIND_OTHER, 0, 0);
		}
		crel = NULL;
		free(cabs);
		cabs = NULL;
		if (error < 0)
			break;
	}
	closedir(d);
	if (error == 0)
		ecc_error_clear();      /* left by ecc_path_validate() */
	if (error == 0 && !any && *rel) {
		if (s->st->nempty_dirs == s->dcap) {
			s->dcap = s->dcap ? 2 * s->dcap : 8;
			s->st->empty_dirs = ecc_realloc(s->st->empty_dirs,
			    s->dcap * sizeof(char *));
		}
		s->st->empty_dirs[s->st->nempty_dirs++] = ecc_strdup(rel);
	}
	return error;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct wc_entry *)a)->path,
	    ((const struct wc_entry *)b)->path);
}

const struct wc_entry *
wc_status_find(const struct wc_status *st, const char *path)
{
	struct wc_entry key;

	key.path = (char *)path;
	return bsearch(&key, st->v, st->n, sizeof(*st->v), entry_cmp);
}

/* The status code of a base file given what is on disk. */
static int
scan_classify(struct wc *wc, struct wc_entry *e)
{
	const struct ecc_manifest_file *f = e->base;
	char sha[ECC_SHA256_HEX_LEN];
	char *buf = NULL;
	size_t len = 0;
	int error;

	if (e->kind == WC_KIND_NONE) {
		e->code = wc_strset_has(&wc->deleted, e->path) ? WC_DELETED :
		    WC_MISSING;
		return 0;
	}
	if (e->kind == WC_KIND_OTHER) {
		e->code = WC_OBSTRUCTED;
		return 0;
	}
	if (e->size != f->size || e->mode != f->mode) {
		e->code = WC_MODIFIED;
		return 0;
	}
	if ((error = wc_read_file(&buf, &len, NULL, wc, e->path)) < 0)
		return error;
	ecc_sha256_hex(sha, buf, len);
	free(buf);
	e->code = strcmp(sha, f->sha256) ? WC_MODIFIED : WC_CLEAN;
	return 0;
}

int
wc_status_scan(struct wc_status *out, struct wc *wc)
{
	struct scan s;
	struct wc_entry *e;
	const struct ecc_manifest_file *f;
	struct stat st;
	size_t i, nwalked;
	char *abs;
	int error = 0;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.wc = wc;
	s.st = out;
	if ((error = scan_dir(&s, wc->root, "", 0, 0)) < 0)
		goto out;
	qsort(out->v, out->n, sizeof(*out->v), entry_cmp);
	nwalked = out->n;
	for (i = 0; i < wc->base->nfiles; i++) {
		f = &wc->base->files[i];
		e = bsearch(&(struct wc_entry){ .path = f->path }, out->v,
		    nwalked, sizeof(*out->v), entry_cmp);
		if (!e) {
			/* Absent, or a directory stands where the file was. */
			abs = wc_path(wc, f->path);
			e = scan_add(&s, ecc_strdup(f->path), WC_MISSING,
			    lstat(abs, &st) == 0 ? WC_KIND_OTHER :
			    WC_KIND_NONE, 0, 0);
			free(abs);
		}
		e->base = f;
		if ((error = scan_classify(wc, e)) < 0)
			goto out;
	}
	/* Conflicts recorded on paths that are in neither place. */
	for (i = 0; i < wc->conflicts.n; i++)
		if (!ecc_manifest_find(wc->base, wc->conflicts.v[i]) &&
		    !bsearch(&(struct wc_entry){ .path = wc->conflicts.v[i] },
		    out->v, nwalked, sizeof(*out->v), entry_cmp))
			scan_add(&s, ecc_strdup(wc->conflicts.v[i]),
			    WC_CONFLICT, WC_KIND_NONE, 0, 0);
	for (i = 0; i < out->n; i++)
		if (wc_strset_has(&wc->conflicts, out->v[i].path))
			out->v[i].code = WC_CONFLICT;
	qsort(out->v, out->n, sizeof(*out->v), entry_cmp);
out:
	if (error < 0)
		wc_status_clear(out);
	return error;
}

void
wc_status_clear(struct wc_status *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->n; i++)
		free(st->v[i].path);
	free(st->v);
	for (i = 0; i < st->nempty_dirs; i++)
		free(st->empty_dirs[i]);
	free(st->empty_dirs);
	memset(st, 0, sizeof(*st));
}

/*
 * Fetching snapshots and deltas into a build directory.
 */

/* GET the snapshot (since < 0) or delta of `view` at `rev` (< 0: head),
 * verify and extract it, and fill newdir's object store with every file
 * of the new manifest: from the archive, or for a delta from `oldroot`'s
 * store when the old base (`old`) has the same content.  *incomplete is
 * set when a delta lacks a file that cannot be found locally. */
static int
wc_fetch(struct ecc_manifest **out, int *incomplete, struct eccfg_client *c,
    const char *view, int64_t since, int64_t rev, const char *newdir,
    const struct ecc_manifest *old, const char *oldroot,
    const struct ecc_limits *lim)
{
	struct ecc_http_response resp;
	struct ecc_manifest *m = NULL;
	const struct ecc_manifest_file *f, *of;
	char **names = NULL, *uri = NULL, *ev = NULL, *stage = NULL;
	char *src = NULL, *dst = NULL;
	size_t nnames = 0, i;
	int error = -1;

	*out = NULL;
	*incomplete = 0;
	memset(&resp, 0, sizeof(resp));
	ev = ecc_http_escape(view, 0);
	if (since >= 0 && rev >= 0)
		uri = ecc_printf("/v1/views/%s/snapshot?since=%lld&rev=%lld",
		    ev, (long long)since, (long long)rev);
	else if (rev >= 0)
		uri = ecc_printf("/v1/views/%s/snapshot?rev=%lld", ev,
		    (long long)rev);
	else
		uri = ecc_printf("/v1/views/%s/snapshot", ev);
	if ((error = eccfg_client_get(&resp, c, uri)) < 0)
		goto out;
	stage = meta_path(newdir, "stage");
	if ((error = ecc_rm_rf(stage)) < 0 ||
	    (error = ecc_mkdir_p(stage, 0700)) < 0)
		goto out;
	if ((error = ecc_snapshot_extract(&m, &names, &nnames, resp.body,
	    resp.len, stage, lim)) < 0)
		goto out;
	if (strcmp(m->view, view) != 0 || (rev >= 0 && m->revision != rev) ||
	    (since >= 0 && m->since != since) || (since < 0 && m->since >= 0)) {
		error = ecc_error_set(ECC_EINVALID, "the server sent view '%s' "
		    "r%lld (since %lld) for a request of '%s' r%lld (since "
		    "%lld)", m->view, (long long)m->revision,
		    (long long)m->since, view, (long long)rev,
		    (long long)since);
		goto out;
	}
	for (i = 0; i < nnames; i++) {
		if ((f = ecc_manifest_find(m, names[i])) == NULL)
			continue;
		dst = obj_path(newdir, f->sha256);
		if (!ecc_path_exists(dst)) {
			src = path_join(stage, names[i]);
			if ((error = mkdir_parent(dst)) < 0)
				goto out;
			if (rename(src, dst) < 0) {
				error = ecc_error_set_errno(ECC_ERROR, "cannot "
				    "move %s to %s", src, dst);
				goto out;
			}
			free(src);
			src = NULL;
		}
		free(dst);
		dst = NULL;
	}
	for (i = 0; i < m->nfiles; i++) {
		f = &m->files[i];
		dst = obj_path(newdir, f->sha256);
		if (!ecc_path_exists(dst)) {
			of = old ? ecc_manifest_find(old, f->path) : NULL;
			if (!of || strcmp(of->sha256, f->sha256) != 0) {
				*incomplete = 1;
				error = ecc_error_set(ECC_ENOTFOUND, "the delta "
				    "lacks %s", f->path);
				goto out;
			}
			src = obj_path(oldroot, f->sha256);
			if ((error = mkdir_parent(dst)) < 0)
				goto out;
			if (link(src, dst) < 0 &&
			    (error = file_copy(src, dst, 0644)) < 0) {
				*incomplete = 1;
				goto out;
			}
			free(src);
			src = NULL;
		}
		free(dst);
		dst = NULL;
	}
	if ((error = ecc_rm_rf(stage)) < 0)
		goto out;
	*out = m;
	m = NULL;
	error = 0;
out:
	ecc_http_response_clear(&resp);
	ecc_manifest_free(m);
	ecc_strv_free(names, nnames);
	free(uri);
	free(ev);
	free(stage);
	free(src);
	free(dst);
	return error;
}

/* Make `newdir` (with .eccfg and the pending marker); an old one that is
 * ours is removed first. */
static int
build_begin(const char *newdir)
{
	char *meta = ecc_printf("%s/" WC_META_DIR, newdir);
	int error;

	if (ecc_path_exists(newdir)) {
		if (!has_meta_file(newdir, WC_MARK_PENDING)) {
			error = ecc_error_set(ECC_EEXISTS, "%s exists and is "
			    "not eccfg's; move it out of the way", newdir);
			goto out;
		}
		if ((error = ecc_rm_rf(newdir)) < 0)
			goto out;
	}
	if ((error = ecc_mkdir_p(meta, 0755)) < 0)
		goto out;
	error = mark_set(newdir, WC_MARK_PENDING);
out:
	free(meta);
	return error;
}

/* Fetch a delta since `since` (or the full view when < 0); fall back to
 * the full view when the delta cannot be completed locally. */
static int
wc_fetch_any(struct ecc_manifest **out, struct eccfg_client *c,
    const char *view, int64_t since, int64_t rev, const char *newdir,
    const struct ecc_manifest *old, const char *oldroot,
    const struct ecc_limits *lim)
{
	int incomplete = 0, error;

	error = wc_fetch(out, &incomplete, c, view, since, rev, newdir, old,
	    oldroot, lim);
	if (error < 0 && incomplete && since >= 0) {
		ecc_log_info("wc", "%s; fetching the whole view",
		    ecc_error_last());
		error = wc_fetch(out, &incomplete, c, view, -1, rev, newdir,
		    NULL, NULL, lim);
	}
	if (error < 0 && incomplete)
		ecc_error_set(ECC_EINVALID, "the server's snapshot of %s is "
		    "incomplete: %s", view, ecc_error_last());
	return error;
}

/*
 * Checkout.
 */

static int
dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

int
wc_checkout(int64_t *revision, const char *dir, struct eccfg_client *c,
    const char *view, int64_t rev, const char *username,
    wc_notify_cb notify, void *payload)
{
	struct wc tmp;
	struct wc_strset none = { NULL, 0 };
	struct ecc_manifest *m = NULL;
	char *target = NULL, *newdir = NULL, *parent = NULL, *obj = NULL;
	char *dst = NULL;
	const char *ca;
	struct stat st;
	size_t i;
	int error = -1, created = 0;

	memset(&tmp, 0, sizeof(tmp));
	ecc_limits_default(&tmp.lim);
	if ((error = path_absolute(&target, dir)) < 0)
		goto out;
	if (strcmp(target, "/") == 0) {
		error = ecc_error_set(ECC_EINVALID, "cannot check out into /");
		goto out;
	}
	if (lstat(target, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || !dir_is_empty(target)) {
			error = ecc_error_set(ECC_EEXISTS, "%s exists and is "
			    "not an empty directory", dir);
			goto out;
		}
	} else if (errno != ENOENT) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot check %s", dir);
		goto out;
	}
	parent = ecc_path_dirname(target);
	newdir = ecc_printf("%s.new", target);
	if ((error = build_begin(newdir)) < 0)
		goto out;
	created = 1;
	if ((error = wc_fetch_any(&m, c, view, -1, rev, newdir, NULL, NULL,
	    &tmp.lim)) < 0)
		goto out;
	for (i = 0; i < m->nfiles; i++) {
		obj = obj_path(newdir, m->files[i].sha256);
		dst = path_join(newdir, m->files[i].path);
		if ((error = mkdir_parent(dst)) < 0 ||
		    (error = file_copy(obj, dst, m->files[i].mode)) < 0)
			goto out;
		free(obj);
		free(dst);
		obj = dst = NULL;
	}
	tmp.view = (char *)view;
	tmp.server = (char *)eccfg_client_server(c);
	tmp.ca_fingerprint = (char *)eccfg_client_ca_fingerprint(c);
	tmp.username = (char *)username;
	/* The CA file is recorded absolute: later commands run elsewhere. */
	if ((ca = eccfg_client_ca_file(c)) != NULL &&
	    (tmp.ca_file = realpath(ca, NULL)) == NULL)
		tmp.ca_file = ecc_strdup(ca);
	if ((error = manifest_write(newdir, m)) < 0 ||
	    (error = meta_write(newdir, &tmp, m->revision, &none, &none)) < 0)
		goto out;
	if ((error = fsync_dirs(newdir, 0)) < 0)
		goto out;
	if (rename(newdir, target) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot rename %s to "
		    "%s", newdir, target);
		goto out;
	}
	created = 0;
	if ((error = ecc_fsync_dir(parent)) < 0)
		goto out;
	mark_clear(target, WC_MARK_PENDING);
	for (i = 0; i < m->nfiles && notify; i++)
		notify('A', m->files[i].path, payload);
	*revision = m->revision;
	error = 0;
out:
	if (created)
		ecc_rm_rf(newdir);
	free(tmp.ca_file);
	ecc_manifest_free(m);
	free(target);
	free(newdir);
	free(parent);
	free(obj);
	free(dst);
	return error;
}

/*
 * Pull.
 */

enum step_what {
	STEP_NONE,                    /* nothing at this path */
	STEP_KEEP,                    /* carry what is on disk */
	STEP_NEW,                     /* the incoming file */
	STEP_DATA,                    /* merged content */
};

struct step {
	const char *path;             /* borrowed from status or manifest */
	enum step_what what;
	const struct ecc_manifest_file *nf;
	char *data;
	size_t len;
	unsigned mode;
	char note;                    /* 'A','U','D','G','C' or 0 */
	int conflict;                 /* overlap (reported under REFUSE) */
	int deleted;                  /* stays scheduled for deletion */
	int conflicted;               /* recorded as C afterwards */
};

enum incoming { IN_NONE, IN_ADD, IN_MOD, IN_DEL };

/* Three-way merge with libgit2; *out NULL when a conflict cannot be
 * written as text (binary). */
static int
merge3(char **out, size_t *outlen, int *clean, const char *anc,
    size_t alen, const char *ours, size_t olen, const char *theirs,
    size_t tlen, int64_t rev)
{
	git_merge_file_input a, o, t;
	git_merge_file_options opts;
	git_merge_file_result r;
	char label[32];

	*out = NULL;
	*outlen = 0;
	memset(&r, 0, sizeof(r));
	if (git_merge_file_input_init(&a, GIT_MERGE_FILE_INPUT_VERSION) < 0 ||
	    git_merge_file_input_init(&o, GIT_MERGE_FILE_INPUT_VERSION) < 0 ||
	    git_merge_file_input_init(&t, GIT_MERGE_FILE_INPUT_VERSION) < 0 ||
	    git_merge_file_options_init(&opts,
	    GIT_MERGE_FILE_OPTIONS_VERSION) < 0)
		return ecc_error_set_git(ECC_ERROR, "cannot merge");
	a.ptr = anc;
	a.size = alen;
	o.ptr = ours;
	o.size = olen;
	t.ptr = theirs;
	t.size = tlen;
	snprintf(label, sizeof(label), "r%lld", (long long)rev);
	opts.our_label = "local";
	opts.their_label = label;
	if (git_merge_file(&r, &a, &o, &t, &opts) < 0)
		return ecc_error_set_git(ECC_ERROR, "cannot merge");
	*clean = r.automergeable != 0;
	if (r.ptr) {
		*out = ecc_malloc(r.len + 1);
		memcpy(*out, r.ptr, r.len);
		(*out)[r.len] = '\0';
		*outlen = r.len;
	}
	git_merge_file_result_free(&r);
	return 0;
}

/* Decide a path where both sides changed the content: merge, and on
 * overlap apply `mode`. `anc` NULL means no common ancestor. */
static int
plan_merge(struct step *sp, struct wc *wc, const char *newdir,
    const struct ecc_manifest_file *b, const struct ecc_manifest_file *n,
    const struct wc_entry *e, enum wc_merge mode, int64_t rev)
{
	char *local = NULL, *anc = NULL, *theirs = NULL, *merged = NULL;
	char sha[ECC_SHA256_HEX_LEN];
	size_t llen = 0, alen = 0, tlen = 0, mlen = 0;
	unsigned lmode = 0644;
	int error, clean = 0;

	if ((error = wc_read_file(&local, &llen, &lmode, wc, sp->path)) < 0)
		goto out;
	ecc_sha256_hex(sha, local, llen);
	if (strcmp(sha, n->sha256) == 0) {
		sp->what = STEP_NEW;
		sp->note = 'G';
		sp->conflicted = 0;
		goto out;
	}
	if ((b && (error = wc_read_base(&anc, &alen, wc, b)) < 0) ||
	    (error = obj_read(&theirs, &tlen, newdir, n, &wc->lim)) < 0)
		goto out;
	if ((error = merge3(&merged, &mlen, &clean, anc, alen, local, llen,
	    theirs, tlen, rev)) < 0)
		goto out;
	if (clean) {
		sp->what = STEP_DATA;
		sp->data = merged;
		sp->len = mlen;
		merged = NULL;
		sp->mode = b && lmode == b->mode ? n->mode : lmode;
		sp->note = 'G';
		goto out;
	}
	sp->conflict = 1;
	switch (mode) {
	case WC_MERGE_REFUSE:
	case WC_MERGE_MINE:
		sp->what = STEP_KEEP;
		sp->note = 'G';
		break;
	case WC_MERGE_THEIRS:
		sp->what = STEP_NEW;
		sp->note = 'U';
		sp->conflicted = 0;
		break;
	case WC_MERGE_MANUAL:
		if (merged) {
			sp->what = STEP_DATA;
			sp->data = merged;
			sp->len = mlen;
			sp->mode = lmode;
			merged = NULL;
		} else {
			sp->what = STEP_KEEP;   /* binary: no markers */
		}
		sp->note = 'C';
		sp->conflicted = 1;
		break;
	}
out:
	free(local);
	free(anc);
	free(theirs);
	free(merged);
	return error;
}

/* Decide one path of the union of old base, new base and disk. */
static int
plan_path(struct step *sp, struct wc *wc, const char *newdir,
    const struct ecc_manifest *m, const struct wc_status *st,
    enum wc_merge mode)
{
	const struct ecc_manifest_file *b, *n;
	const struct wc_entry *e;
	enum incoming in;
	char code;
	char *abs;
	int present;

	b = ecc_manifest_find(wc->base, sp->path);
	n = ecc_manifest_find(m, sp->path);
	e = wc_status_find(st, sp->path);
	code = e ? e->code : 0;
	present = e && e->kind != WC_KIND_NONE;
	sp->nf = n;
	sp->conflicted = wc_strset_has(&wc->conflicts, sp->path);
	if (!b && !n)
		in = IN_NONE;
	else if (b && n)
		in = strcmp(b->sha256, n->sha256) || b->mode != n->mode ?
		    IN_MOD : IN_NONE;
	else
		in = n ? IN_ADD : IN_DEL;

	if (in != IN_NONE && e && e->kind == WC_KIND_OTHER && n)
		return ecc_error_set(ECC_ECONFLICT, "%s: an incoming change "
		    "is obstructed by a link or directory; move it away and "
		    "pull again", sp->path);
	switch (in) {
	case IN_NONE:
		sp->what = present ? STEP_KEEP : STEP_NONE;
		sp->deleted = b && !present &&
		    wc_strset_has(&wc->deleted, sp->path);
		return 0;
	case IN_ADD:
		if (!present) {
			abs = wc_path(wc, sp->path);
			present = ecc_path_exists(abs);
			free(abs);
			if (present)
				return ecc_error_set(ECC_ECONFLICT, "%s: an "
				    "incoming file is obstructed by a "
				    "directory; move it away and pull again",
				    sp->path);
			sp->what = STEP_NEW;
			sp->note = 'A';
			return 0;
		}
		return plan_merge(sp, wc, newdir, NULL, n, e, mode,
		    m->revision);
	case IN_MOD:
		if (code == WC_CLEAN || code == WC_MISSING ||
		    (code == WC_CONFLICT && !present)) {
			sp->what = STEP_NEW;
			sp->note = 'U';
			sp->conflicted = 0;
			return 0;
		}
		if (code == WC_DELETED) {
			sp->conflict = 1;
			if (mode == WC_MERGE_MINE || mode == WC_MERGE_REFUSE) {
				sp->what = STEP_NONE;
				sp->deleted = 1;
				sp->note = 'G';
			} else {
				sp->what = STEP_NEW;
				sp->note = mode == WC_MERGE_MANUAL ? 'C' : 'U';
				sp->conflicted = mode == WC_MERGE_MANUAL;
			}
			return 0;
		}
		return plan_merge(sp, wc, newdir, b, n, e, mode, m->revision);
	case IN_DEL:
		if (code == WC_MODIFIED || (code == WC_CONFLICT && present &&
		    e->kind == WC_KIND_FILE)) {
			sp->conflict = 1;
			if (mode == WC_MERGE_THEIRS) {
				sp->what = STEP_NONE;
				sp->note = 'D';
				sp->conflicted = 0;
			} else {
				sp->what = STEP_KEEP;
				sp->note = mode == WC_MERGE_MANUAL ? 'C' : 'G';
				sp->conflicted = mode == WC_MERGE_MANUAL;
			}
			return 0;
		}
		/* Unchanged, missing, deleted here too, or something that
		 * is not ours stands there: the file goes. */
		sp->what = e && e->kind == WC_KIND_OTHER ? STEP_KEEP :
		    STEP_NONE;
		sp->note = 'D';
		sp->conflicted = 0;
		return 0;
	}
	return 0;
}

static int
cstr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every path of the old status and the new manifest, sorted, unique
 * (borrowed strings). */
static const char **
plan_paths(size_t *n, const struct wc_status *st, const struct ecc_manifest *m)
{
	const char **v = ecc_calloc(st->n + m->nfiles + 1, sizeof(*v));
	size_t i, k = 0, u = 0;

	for (i = 0; i < st->n; i++)
		v[k++] = st->v[i].path;
	for (i = 0; i < m->nfiles; i++)
		v[k++] = m->files[i].path;
	qsort(v, k, sizeof(*v), cstr_cmp);
	for (i = 0; i < k; i++)
		if (u == 0 || strcmp(v[u - 1], v[i]) != 0)
			v[u++] = v[i];
	*n = u;
	return v;
}

/* Put the planned content at newdir/path. */
static int
build_step(const struct step *sp, struct wc *wc, const char *newdir)
{
	char *dst = path_join(newdir, sp->path), *src = NULL;
	int error = 0;

	if (sp->what == STEP_NONE)
		goto out;
	if ((error = mkdir_parent(dst)) < 0)
		goto out;
	switch (sp->what) {
	case STEP_KEEP:
		src = wc_path(wc, sp->path);
		error = file_carry(src, dst);
		break;
	case STEP_NEW:
		src = obj_path(newdir, sp->nf->sha256);
		error = file_copy(src, dst, sp->nf->mode);
		break;
	case STEP_DATA:
		error = file_create(dst, sp->data, sp->len, sp->mode);
		break;
	case STEP_NONE:
		break;
	}
out:
	free(dst);
	free(src);
	return error;
}

/*
 * Switching a checkout in place.
 *
 * The new tree is built complete in DIR/.eccfg/next (fsynced).  Then a
 * journal, DIR/.eccfg/switch.json, is written atomically: the list of
 * renames that move the new tree into DIR (files that leave go to
 * DIR/.eccfg/trash first; directories present in both trees stay, so a
 * shell inside them keeps its place), then the new base store, manifest
 * and meta.json.  Every operation is idempotent: after a crash, the
 * next command replays the journal from the start (wc_lock) and the
 * checkout ends as the complete new tree.  Without a journal, a left-over
 * next/ or trash/ is an abandoned build and is removed.
 */

/* Collect every entry below `abs` (`rel` relative to the top, which
 * is `abs` itself when ""), skipping the top's .eccfg: directories in
 * `dirs`, everything else in `files`. */
static int
tree_list(struct wc_strset *files, struct wc_strset *dirs, const char *abs,
    const char *rel, int depth)
{
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	char *cabs = NULL, *crel = NULL;
	int error = 0;

	if (depth > WC_SCAN_MAX_DEPTH + 8)
		return ecc_error_set(ECC_ETOOBIG, "%s: directories nested "
		    "too deep", abs);
	if ((d = opendir(abs)) == NULL)
		return ecc_error_set_errno(ECC_ERROR, "cannot read directory "
		    "%s", abs);
	while (error == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!*rel && !strcmp(de->d_name, WC_META_DIR))
			continue;
		if (files->n + dirs->n >= WC_SCAN_MAX_ENTRIES) {
			error = ecc_error_set(ECC_ETOOBIG, "%s: more than %d "
			    "entries", abs, WC_SCAN_MAX_ENTRIES);
			break;
		}
		cabs = ecc_printf("%s/%s", abs, de->d_name);
		crel = path_join(rel, de->d_name);
		if (lstat(cabs, &st) < 0) {
			error = ecc_error_set_errno(ECC_ERROR, "cannot stat "
			    "%s", cabs);
		} else if (S_ISDIR(st.st_mode)) {
			wc_strset_add(dirs, crel);
			error = tree_list(files, dirs, cabs, crel, depth + 1);
		} else {
			wc_strset_add(files, crel);
		}
		free(cabs);
		free(crel);
		cabs = crel = NULL;
	}
	closedir(d);
	return error;
}

/* Remove `dir` when it holds nothing but (empty) directories. */
static int
dir_prune(const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char *child;
	int error = 0;

	if (depth > WC_SCAN_MAX_DEPTH + 8)
		return ecc_error_set(ECC_ETOOBIG, "%s: nested too deep", dir);
	if ((d = opendir(dir)) == NULL)
		return ecc_error_set_errno(ECC_ERROR, "cannot read directory "
		    "%s", dir);
	while (error == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = ecc_printf("%s/%s", dir, de->d_name);
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			error = dir_prune(child, depth + 1);
		else
			error = ecc_error_set(ECC_ECONFLICT, "%s stands where "
			    "a file of the new revision goes; move it away",
			    child);
		free(child);
	}
	closedir(d);
	if (error == 0 && rmdir(dir) < 0 && errno != ENOENT)
		error = ecc_error_set_errno(ECC_ERROR, "cannot remove %s", dir);
	return error;
}

/* rename(2) `src` to `dst` when `src` exists (a replay may find it
 * done already). */
static int
rename_if(const char *src, const char *dst)
{
	struct stat st;

	if (lstat(src, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return ecc_error_set_errno(ECC_ERROR, "cannot stat %s", src);
	}
	if (rename(src, dst) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot rename %s to %s",
		    src, dst);
	return 0;
}

/* A journal path: relative, no empty, "." or ".." component, not in
 * the metadata. */
static int
journal_path_ok(const char *p)
{
	const char *c = p, *slash;
	size_t n;

	if (!*p || *p == '/' || strlen(p) >= PATH_MAX / 2 ||
	    ecc_path_has_prefix(p, WC_META_DIR))
		return 0;
	for (;;) {
		slash = strchr(c, '/');
		n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (!slash)
			return 1;
		c = slash + 1;
	}
}

/* Perform one journal operation on checkout `root` (idempotent). */
static int
journal_op(const char *root, const char *op, const char *path)
{
	char *dst = NULL, *src = NULL, *old = NULL;
	struct stat st;
	int error = 0;

	if (!strcmp(op, "trash")) {
		/* A file that leaves: into the trash. */
		src = path_join(root, path);
		dst = ecc_printf("%s/" WC_META_DIR "/" WC_TRASH "/%s", root,
		    path);
		if (lstat(src, &st) < 0 || S_ISDIR(st.st_mode))
			goto out;
		if ((error = mkdir_parent(dst)) < 0)
			goto out;
		error = rename_if(src, dst);
	} else if (!strcmp(op, "mkdir")) {
		dst = path_join(root, path);
		if (mkdir(dst, 0755) < 0 && (errno != EEXIST ||
		    lstat(dst, &st) < 0 || !S_ISDIR(st.st_mode)))
			error = ecc_error_set_errno(ECC_ERROR, "cannot create "
			    "directory %s", dst);
	} else if (!strcmp(op, "move")) {
		/* A file of the new tree: over the old one, atomically. */
		src = ecc_printf("%s/" WC_META_DIR "/" WC_NEXT "/%s", root,
		    path);
		dst = path_join(root, path);
		if (lstat(src, &st) < 0)
			goto out;
		if (lstat(dst, &st) == 0 && S_ISDIR(st.st_mode) &&
		    (error = dir_prune(dst, 0)) < 0)
			goto out;
		error = rename_if(src, dst);
	} else if (!strcmp(op, "rmdir")) {
		/* A directory that only the old tree had: gone if empty. */
		dst = path_join(root, path);
		if (rmdir(dst) < 0 && errno != ENOENT && errno != ENOTEMPTY &&
		    errno != EEXIST && errno != ENOTDIR)
			error = ecc_error_set_errno(ECC_ERROR, "cannot remove "
			    "%s", dst);
	} else if (!strcmp(op, "base")) {
		/* The new base store replaces the old one. */
		src = ecc_printf("%s/" WC_META_DIR "/" WC_NEXT "/" WC_META_DIR
		    "/base", root);
		dst = meta_path(root, "base");
		/* No checkout path starts with .eccfg: no clash there. */
		old = ecc_printf("%s/" WC_META_DIR "/" WC_TRASH "/"
		    WC_META_DIR "/base", root);
		if (lstat(src, &st) < 0)
			goto out;
		if (lstat(dst, &st) == 0) {
			if ((error = ecc_rm_rf(old)) < 0 ||
			    (error = mkdir_parent(old)) < 0 ||
			    (error = rename_if(dst, old)) < 0)
				goto out;
		}
		error = rename_if(src, dst);
	} else if (!strcmp(op, "manifest.json") || !strcmp(op, "meta.json")) {
		src = ecc_printf("%s/" WC_META_DIR "/" WC_NEXT "/" WC_META_DIR
		    "/%s", root, op);
		dst = meta_path(root, op);
		error = rename_if(src, dst);
	} else {
		error = ecc_error_set(ECC_EINVALID, "%s: unknown operation "
		    "'%s'", WC_JOURNAL, op);
	}
out:
	free(dst);
	free(src);
	free(old);
	return error;
}

/* The test hook's count, or -1 when it is not set. */
static long
crash_after(void)
{
	const char *v = getenv(WC_CRASH_ENV);
	char *end = NULL;
	long n;

	if (!v || !*v)
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < 0)
		return -1;
	return n;
}

/* Replay DIR/.eccfg/switch.json from the start, then drop the journal,
 * the trash and what is left of the next tree. */
static int
journal_run(const char *root)
{
	char *file = meta_path(root, WC_JOURNAL), *buf = NULL;
	char *trash = meta_path(root, WC_TRASH), *next = meta_path(root,
	    WC_NEXT), *metadir = ecc_printf("%s/" WC_META_DIR, root);
	const char *op, *path;
	json_t *j = NULL, *ops, *item;
	json_error_t jerr;
	size_t len = 0, i;
	long crash = crash_after(), done = 0;
	int error = -1;

	if ((error = ecc_file_read(&buf, &len, file, WC_META_MAX)) < 0)
		goto out;
	if ((j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(j) ||
	    json_integer_value(json_object_get(j, "format")) != 1 ||
	    !json_is_array(ops = json_object_get(j, "ops"))) {
		error = ecc_error_set(ECC_EINVALID, "%s: damaged journal (%s); "
		    "check the view out again", file, j ? "not format 1 with "
		    "an 'ops' array" : jerr.text);
		goto out;
	}
	/* Check every entry before performing any. */
	json_array_foreach(ops, i, item) {
		op = json_string_value(json_object_get(item, "op"));
		path = json_string_value(json_object_get(item, "path"));
		if (!op || (path && !journal_path_ok(path)) ||
		    (!path && (!strcmp(op, "trash") || !strcmp(op, "mkdir") ||
		    !strcmp(op, "move") || !strcmp(op, "rmdir")))) {
			error = ecc_error_set(ECC_EINVALID, "%s: operation "
			    "%zu is invalid", file, i);
			goto out;
		}
	}
	json_array_foreach(ops, i, item) {
		op = json_string_value(json_object_get(item, "op"));
		path = json_string_value(json_object_get(item, "path"));
		if (crash >= 0 && done++ >= crash)
			_exit(99);
		if ((error = journal_op(root, op, path ? path : "")) < 0)
			goto out;
	}
	if (crash >= 0 && done >= crash)
		_exit(99);
	if ((error = fsync_dirs(root, 0)) < 0)
		goto out;
	if (unlink(file) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot remove %s",
		    file);
		goto out;
	}
	if ((error = ecc_fsync_dir(metadir)) < 0)
		goto out;
	if (ecc_rm_rf(trash) < 0 || ecc_rm_rf(next) < 0)
		ecc_log_warn("wc", "%s", ecc_error_last());
	error = 0;
out:
	json_decref(j);
	free(buf);
	free(file);
	free(trash);
	free(next);
	free(metadir);
	return error;
}

static void
journal_add(json_t *ops, const char *op, const char *path)
{
	json_array_append_new(ops, path ? json_pack("{s:s, s:s}", "op", op,
	    "path", path) : json_pack("{s:s}", "op", op));
}

/* Switch checkout `root` to the complete tree built in
 * root/.eccfg/next: write the journal, then run it. */
static int
wc_switch(const char *root)
{
	struct wc_strset ofiles = { NULL, 0 }, odirs = { NULL, 0 };
	struct wc_strset nfiles = { NULL, 0 }, ndirs = { NULL, 0 };
	char *next = meta_path(root, WC_NEXT), *file = meta_path(root,
	    WC_JOURNAL), *base = NULL, *text = NULL;
	json_t *j = NULL, *ops;
	size_t i;
	int error = -1;

	base = ecc_printf("%s/" WC_META_DIR "/base", next);
	if ((error = ecc_mkdir_p(base, 0755)) < 0 ||
	    (error = tree_list(&ofiles, &odirs, root, "", 0)) < 0 ||
	    (error = tree_list(&nfiles, &ndirs, next, "", 0)) < 0)
		goto out;
	ops = json_array();
	j = json_pack("{s:i, s:o}", "format", 1, "ops", ops);
	for (i = 0; i < ofiles.n; i++)
		if (!wc_strset_has(&nfiles, ofiles.v[i]))
			journal_add(ops, "trash", ofiles.v[i]);
	for (i = 0; i < ndirs.n; i++)
		journal_add(ops, "mkdir", ndirs.v[i]);
	for (i = 0; i < nfiles.n; i++)
		journal_add(ops, "move", nfiles.v[i]);
	for (i = odirs.n; i > 0; i--)
		if (!wc_strset_has(&ndirs, odirs.v[i - 1]))
			journal_add(ops, "rmdir", odirs.v[i - 1]);
	/* The manifest before meta.json (see wc.h). */
	journal_add(ops, "base", NULL);
	journal_add(ops, "manifest.json", NULL);
	journal_add(ops, "meta.json", NULL);
	if ((text = json_dumps(j, JSON_COMPACT)) == NULL) {
		error = ecc_error_set(ECC_ERROR, "%s: cannot encode", file);
		goto out;
	}
	if ((error = ecc_file_write_atomic(file, text, strlen(text),
	    0644)) < 0)
		goto out;
	error = journal_run(root);
out:
	json_decref(j);
	wc_strset_clear(&ofiles);
	wc_strset_clear(&odirs);
	wc_strset_clear(&nfiles);
	wc_strset_clear(&ndirs);
	free(next);
	free(file);
	free(base);
	free(text);
	return error;
}

/* 1 when two manifests list the same files with the same content. */
static int
manifest_same_files(const struct ecc_manifest *a, const struct ecc_manifest *b)
{
	size_t i;

	if (a->nfiles != b->nfiles)
		return 0;
	for (i = 0; i < a->nfiles; i++)
		if (strcmp(a->files[i].path, b->files[i].path) ||
		    strcmp(a->files[i].sha256, b->files[i].sha256) ||
		    a->files[i].mode != b->files[i].mode)
			return 0;
	return 1;
}

int
wc_head(int64_t *out, struct eccfg_client *c)
{
	json_t *resp = NULL, *v;
	int error;

	if ((error = eccfg_client_json(&resp, NULL, c, "GET", "/v1/health",
	    NULL)) < 0)
		return error;
	v = resp ? json_object_get(resp, "head") : NULL;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		json_decref(resp);
		return ecc_error_set(ECC_EINVALID, "the server's /v1/health "
		    "has no head revision");
	}
	*out = json_integer_value(v);
	json_decref(resp);
	return 0;
}

int
wc_update(int *changed, struct wc *wc, struct eccfg_client *c,
    int64_t target, enum wc_merge mode, wc_notify_cb notify,
    void *payload)
{
	struct wc_status st;
	struct ecc_manifest *m = NULL;
	struct wc_strset deleted = { NULL, 0 }, conflicts = { NULL, 0 };
	struct step *steps = NULL;
	const char **paths = NULL;
	char *newdir = NULL, *dir = NULL;
	size_t npaths = 0, i, nconflicts = 0;
	int error = -1, created = 0, any = 0, git = 0;

	memset(&st, 0, sizeof(st));
	if (changed)
		*changed = 0;
	if (target < 0 && (error = wc_head(&target, c)) < 0)
		goto out;
	if (target == wc->revision) {
		error = 0;
		goto out;
	}
	if ((error = wc_status_scan(&st, wc)) < 0)
		goto out;
	newdir = meta_path(wc->root, WC_NEXT);
	if ((error = build_begin(newdir)) < 0)
		goto out;
	created = 1;
	if ((error = wc_fetch_any(&m, c, wc->view,
	    target > wc->revision ? wc->revision : -1, target, newdir,
	    wc->base, wc->root, &wc->lim)) < 0)
		goto out;

	if (manifest_same_files(wc->base, m)) {
		/* Only the revision moves (commits elsewhere in the
		 * repository): no file to switch. */
		wc->base->revision = m->revision;
		memcpy(wc->base->commit, m->commit, sizeof(m->commit));
		error = wc_save(wc, 1);
		goto out;
	}

	if (git_libgit2_init() < 0) {
		error = ecc_error_set_git(ECC_ERROR, "cannot start libgit2");
		goto out;
	}
	git = 1;
	paths = plan_paths(&npaths, &st, m);
	steps = ecc_calloc(npaths + 1, sizeof(*steps));
	for (i = 0; i < npaths; i++) {
		steps[i].path = paths[i];
		if ((error = plan_path(&steps[i], wc, newdir, m, &st, mode)) < 0)
			goto out;
		if (steps[i].conflict)
			nconflicts++;
	}
	if (nconflicts && mode == WC_MERGE_REFUSE) {
		for (i = 0; i < npaths && notify; i++)
			if (steps[i].conflict)
				notify('C', steps[i].path, payload);
		error = ecc_error_set(ECC_ECONFLICT, "%zu file%s changed both "
		    "here and in r%lld; nothing was changed", nconflicts,
		    nconflicts == 1 ? "" : "s", (long long)m->revision);
		goto out;
	}

	for (i = 0; i < st.nempty_dirs; i++) {
		dir = path_join(newdir, st.empty_dirs[i]);
		if ((error = ecc_mkdir_p(dir, 0755)) < 0)
			goto out;
		free(dir);
		dir = NULL;
	}
	for (i = 0; i < npaths; i++) {
		if ((error = build_step(&steps[i], wc, newdir)) < 0)
			goto out;
		if (steps[i].deleted && steps[i].nf)
			wc_strset_add(&deleted, steps[i].path);
		if (steps[i].conflicted && (steps[i].what != STEP_NONE ||
		    steps[i].nf))
			wc_strset_add(&conflicts, steps[i].path);
		if (steps[i].note)
			any = 1;
	}
	if ((error = manifest_write(newdir, m)) < 0 ||
	    (error = meta_write(newdir, wc, m->revision, &deleted,
	    &conflicts)) < 0 ||
	    (error = fsync_dirs(newdir, 0)) < 0)
		goto out;
	/* From here on, a journal may exist: recovery owns the next tree. */
	created = 0;
	if ((error = wc_switch(wc->root)) < 0)
		goto out;
	for (i = 0; i < npaths && notify; i++)
		if (steps[i].note)
			notify(steps[i].note, steps[i].path, payload);
	if (changed)
		*changed = any;
	error = 0;
out:
	if (created)
		ecc_rm_rf(newdir);
	for (i = 0; steps && i < npaths; i++)
		free(steps[i].data);
	free(steps);
	free(paths);
	free(newdir);
	free(dir);
	wc_strset_clear(&deleted);
	wc_strset_clear(&conflicts);
	wc_status_clear(&st);
	ecc_manifest_free(m);
	if (git)
		git_libgit2_shutdown();
	return error;
}

/*
 * Recording a commit.
 */

/* Drop `path` from a manifest's file list (no-op when absent). */
static void
manifest_remove(struct ecc_manifest *m, const char *path)
{
	const struct ecc_manifest_file *f = ecc_manifest_find(m, path);
	size_t i;

	if (!f)
		return;
	i = (size_t)(f - m->files);
	free(m->files[i].path);
	memmove(&m->files[i], &m->files[i + 1],
	    (m->nfiles - i - 1) * sizeof(*m->files));
	m->nfiles--;
}

/* Store `data` as a base object of `root` (atomic, once). */
static int
obj_write(const char *root, const void *data, size_t len)
{
	char sha[ECC_SHA256_HEX_LEN];
	char *p;
	int error = 0;

	ecc_sha256_hex(sha, data, len);
	p = obj_path(root, sha);
	if (!ecc_path_exists(p) && ((error = mkdir_parent(p)) < 0 ||
	    (error = ecc_file_write_atomic(p, data, len, 0644)) < 0))
		goto out;
out:
	free(p);
	return error;
}

int
wc_record_commit(struct wc *wc, const struct wc_committed *files,
    size_t n, int64_t revision, const char *commit)
{
	size_t i;
	int error;

	/* Removals first: ecc_manifest_find() needs the list sorted. */
	for (i = 0; i < n; i++) {
		manifest_remove(wc->base, files[i].path);
		if (files[i].deleted)
			wc_strset_remove(&wc->deleted, files[i].path);
	}
	for (i = 0; i < n; i++) {
		if (files[i].deleted)
			continue;
		if ((error = obj_write(wc->root, files[i].data,
		    files[i].len)) < 0)
			return error;
		ecc_manifest_add_file(wc->base, files[i].path, files[i].mode,
		    files[i].data, files[i].len);
	}
	ecc_manifest_sort(wc->base);
	if (revision >= 0) {
		wc->base->revision = revision;
		if (commit && strlen(commit) == 40)
			memcpy(wc->base->commit, commit, 41);
	}
	return wc_save(wc, 1);
}
