/*
 * test_store.c - unit tests for lib/store.c and the file back end
 * (lib/store_file.c): accounts, the last-admin rule, persistence and
 * corrupt files.
 */
#include "helpers.h"

#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "error.h"
#include "store.h"
#include "util.h"

static struct ecc_user
user(const char *name, enum ecc_role role, const char *hash)
{
	struct ecc_user u;

	memset(&u, 0, sizeof(u));
	u.name = (char *)name;
	u.role = role;
	u.hash = (char *)hash;
	return u;
}

static ecc_store *
open_store(void **state)
{
	ecc_store *st = NULL;

	assert_int_equal(ecc_store_file_open(&st, *state), 0);
	assert_non_null(st);
	assert_string_equal(st->ops->name, "file");
	return st;
}

static void
add(ecc_store *st, const char *name, enum ecc_role role)
{
	struct ecc_user u = user(name, role, "$scrypt$ln=10,r=8,p=1$x$y");

	assert_int_equal(ecc_store_user_add(st, &u), 0);
}

static void
test_store__add_get_list(void **state)
{
	ecc_store *st = open_store(state);
	struct ecc_user u, got, *list = NULL;
	size_t n = 99;

	/* A missing file is an empty store. */
	assert_int_equal(ecc_store_user_list(st, &list, &n), 0);
	assert_int_equal(n, 0);
	ecc_user_array_free(list, n);
	assert_int_equal(ecc_store_user_get(st, &got, "admin"), ECC_ENOTFOUND);

	add(st, "zed", ECC_ROLE_SERVICE);
	add(st, "admin", ECC_ROLE_ADMIN);
	u = user("admin", ECC_ROLE_SERVICE, "$scrypt$other");
	assert_int_equal(ecc_store_user_add(st, &u), ECC_EEXISTS);
	assert_non_null(strstr(ecc_error_last(), "admin"));

	assert_int_equal(ecc_store_user_get(st, &got, "admin"), 0);
	assert_string_equal(got.name, "admin");
	assert_int_equal(got.role, ECC_ROLE_ADMIN);
	assert_string_equal(got.hash, "$scrypt$ln=10,r=8,p=1$x$y");
	assert_true(got.created > 0);
	assert_true(got.changed >= got.created);
	ecc_user_clear(&got);
	assert_null(got.name);

	/* Listed sorted by name. */
	assert_int_equal(ecc_store_user_list(st, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "admin");
	assert_string_equal(list[1].name, "zed");
	assert_int_equal(list[1].role, ECC_ROLE_SERVICE);
	ecc_user_array_free(list, n);
	ecc_store_free(st);
}

static void
test_store__bad_input(void **state)
{
	ecc_store *st = open_store(state);
	struct ecc_user u, got;
	char *p;

	u = user("Bad Name", ECC_ROLE_ADMIN, "$scrypt$x");
	assert_int_equal(ecc_store_user_add(st, &u), ECC_EINVALID);
	u = user("../etc", ECC_ROLE_ADMIN, "$scrypt$x");
	assert_int_equal(ecc_store_user_add(st, &u), ECC_EINVALID);
	u = user("alice", ECC_ROLE_NONE, "$scrypt$x");
	assert_int_equal(ecc_store_user_add(st, &u), ECC_EINVALID);
	u = user("alice", ECC_ROLE_ADMIN, "");
	assert_int_equal(ecc_store_user_add(st, &u), ECC_EINVALID);
	u = user("alice", ECC_ROLE_ADMIN, NULL);
	assert_int_equal(ecc_store_user_add(st, &u), ECC_EINVALID);
	u = user("alice", ECC_ROLE_ADMIN, "has\nnewline");
	assert_int_equal(ecc_store_user_add(st, &u), ECC_EINVALID);
	assert_int_equal(ecc_store_user_get(st, &got, "NO"), ECC_EINVALID);
	assert_int_equal(ecc_store_user_remove(st, ""), ECC_EINVALID);
	/* Nothing was written. */
	p = ecc_printf("%s/users.json", (char *)*state);
	assert_false(ecc_path_exists(p));
	free(p);
	ecc_store_free(st);
	ecc_store_free(NULL);
}

static void
test_store__update_remove(void **state)
{
	ecc_store *st = open_store(state);
	struct ecc_user u, got;

	add(st, "admin", ECC_ROLE_ADMIN);
	add(st, "svc", ECC_ROLE_SERVICE);
	u = user("svc", ECC_ROLE_SERVICE, "$scrypt$new");
	assert_int_equal(ecc_store_user_update(st, &u), 0);
	assert_int_equal(ecc_store_user_get(st, &got, "svc"), 0);
	assert_string_equal(got.hash, "$scrypt$new");
	ecc_user_clear(&got);
	/* Promotion is always fine. */
	u = user("svc", ECC_ROLE_ADMIN, "$scrypt$new");
	assert_int_equal(ecc_store_user_update(st, &u), 0);

	u = user("ghost", ECC_ROLE_ADMIN, "$scrypt$x");
	assert_int_equal(ecc_store_user_update(st, &u), ECC_ENOTFOUND);
	assert_int_equal(ecc_store_user_remove(st, "ghost"), ECC_ENOTFOUND);

	assert_int_equal(ecc_store_user_remove(st, "svc"), 0);
	assert_int_equal(ecc_store_user_get(st, &got, "svc"), ECC_ENOTFOUND);
	assert_int_equal(ecc_store_user_get(st, &got, "admin"), 0);
	ecc_user_clear(&got);
	ecc_store_free(st);
}

static void
test_store__last_admin(void **state)
{
	ecc_store *st = open_store(state);
	struct ecc_user u, got;

	add(st, "root", ECC_ROLE_ADMIN);
	add(st, "svc", ECC_ROLE_SERVICE);
	assert_int_equal(ecc_store_user_remove(st, "root"), ECC_EFORBIDDEN);
	assert_non_null(strstr(ecc_error_last(), "last admin"));
	u = user("root", ECC_ROLE_SERVICE, "$scrypt$x");
	assert_int_equal(ecc_store_user_update(st, &u), ECC_EFORBIDDEN);
	/* A password change of the last admin is fine. */
	u = user("root", ECC_ROLE_ADMIN, "$scrypt$changed");
	assert_int_equal(ecc_store_user_update(st, &u), 0);
	/* Non-admins go freely. */
	assert_int_equal(ecc_store_user_remove(st, "svc"), 0);

	/* With a second admin, either may go, but not both. */
	add(st, "second", ECC_ROLE_ADMIN);
	u = user("root", ECC_ROLE_SERVICE, "$scrypt$x");
	assert_int_equal(ecc_store_user_update(st, &u), 0);
	assert_int_equal(ecc_store_user_remove(st, "second"), ECC_EFORBIDDEN);
	assert_int_equal(ecc_store_user_remove(st, "root"), 0);
	assert_int_equal(ecc_store_user_get(st, &got, "second"), 0);
	assert_int_equal(got.role, ECC_ROLE_ADMIN);
	ecc_user_clear(&got);
	ecc_store_free(st);
}

static void
test_store__persistence(void **state)
{
	ecc_store *a = open_store(state), *b = open_store(state);
	struct ecc_user got, *list = NULL;
	char *p = ecc_printf("%s/users.json", (char *)*state);
	struct stat st;
	size_t n = 0;

	add(a, "admin", ECC_ROLE_ADMIN);
	/* Another handle (another process) sees the change at once. */
	assert_int_equal(ecc_store_user_get(b, &got, "admin"), 0);
	ecc_user_clear(&got);
	add(b, "bob", ECC_ROLE_SERVICE);
	assert_int_equal(ecc_store_user_list(a, &list, &n), 0);
	assert_int_equal(n, 2);
	ecc_user_array_free(list, n);
	ecc_store_free(a);
	ecc_store_free(b);

	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	a = open_store(state);
	assert_int_equal(ecc_store_user_get(a, &got, "bob"), 0);
	assert_int_equal(got.role, ECC_ROLE_SERVICE);
	ecc_user_clear(&got);
	ecc_store_free(a);
	free(p);
}

static void
test_store__corrupt_file(void **state)
{
	static const char *const bad[] = {
		"{not json",
		"[]",
		"{\"users\": {}}",
		"{\"users\": [], \"extra\": 1}",
		"{\"users\": [{\"name\": \"a\"}]}",
		"{\"users\": [{\"name\": \"Bad\", \"role\": \"admin\", "
		    "\"hash\": \"h\", \"created\": 1, \"changed\": 1}]}",
		"{\"users\": [{\"name\": \"a\", \"role\": \"root\", "
		    "\"hash\": \"h\", \"created\": 1, \"changed\": 1}]}",
		"{\"users\": [{\"name\": \"a\", \"role\": \"admin\", "
		    "\"hash\": 5, \"created\": 1, \"changed\": 1}]}",
		"{\"users\": [{\"name\": \"a\", \"role\": \"admin\", "
		    "\"hash\": \"h\", \"created\": -1, \"changed\": 1}]}",
		"{\"users\": [{\"name\": \"a\", \"role\": \"admin\", "
		    "\"hash\": \"h\", \"created\": 1, \"changed\": 1, "
		    "\"x\": 1}]}",
		"{\"users\": [{\"name\": \"a\", \"role\": \"admin\", "
		    "\"hash\": \"h\", \"created\": 1, \"changed\": 1}, "
		    "{\"name\": \"a\", \"role\": \"admin\", "
		    "\"hash\": \"h\", \"created\": 1, \"changed\": 1}]}",
		"{\"users\": [], \"users\": []}",
	};
	char *p = ecc_printf("%s/users.json", (char *)*state), *after = NULL;
	ecc_store *st = open_store(state);
	struct ecc_user u, got, *list = NULL;
	size_t i, n = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ecc_file_write_atomic(p, bad[i],
		    strlen(bad[i]), 0600), 0);
		if (ecc_store_user_list(st, &list, &n) != ECC_EINVALID)
			fail_msg("case %zu accepted: %s", i, bad[i]);
		assert_non_null(strstr(ecc_error_last(), p));
		assert_null(list);
	}
	/* Never silently emptied or overwritten. */
	assert_int_equal(ecc_store_user_get(st, &got, "a"), ECC_EINVALID);
	u = user("new", ECC_ROLE_ADMIN, "$scrypt$x");
	assert_int_equal(ecc_store_user_add(st, &u), ECC_EINVALID);
	assert_int_equal(ecc_file_read(&after, NULL, p, 4096), 0);
	assert_string_equal(after, bad[i - 1]);
	free(after);

	/* A valid file written by someone else is read as is. */
	after = (char *)"{\"users\": [{\"name\": \"a\", \"role\": \"admin\", "
	    "\"hash\": \"h\", \"created\": 1, \"changed\": 2}]}";
	assert_int_equal(ecc_file_write_atomic(p, after, strlen(after), 0600),
	    0);
	assert_int_equal(ecc_store_user_get(st, &got, "a"), 0);
	assert_int_equal(got.created, 1);
	assert_int_equal(got.changed, 2);
	ecc_user_clear(&got);
	ecc_store_free(st);
	free(p);
}

static void
test_store__open_errors(void **state)
{
	ecc_store *st = NULL;
	char *f = ecc_printf("%s/file", (char *)*state);
	char *missing = ecc_printf("%s/missing", (char *)*state);

	assert_int_equal(ecc_file_write_atomic(f, "x", 1, 0600), 0);
	assert_int_equal(ecc_store_file_open(&st, f), ECC_EINVALID);
	assert_null(st);
	assert_int_equal(ecc_store_file_open(&st, missing), ECC_ENOTFOUND);
	assert_null(st);
	free(f);
	free(missing);
}

static struct ecc_node
node(const char *name, const char *sc, const char *serial, int64_t when)
{
	struct ecc_node n;

	memset(&n, 0, sizeof(n));
	n.name = (char *)name;
	n.subcluster = (char *)sc;
	n.serial = (char *)serial;
	n.enrolled = when;
	return n;
}

static void
test_store__nodes(void **state)
{
	ecc_store *st = open_store(state);
	struct ecc_node a = node("mta2", "default", "0a1b", 100);
	struct ecc_node b = node("mta1", "east", "ff", 200);
	struct ecc_node got, *list = NULL;
	struct stat sb;
	char *path;
	size_t n = 99;

	assert_int_equal(ecc_store_node_list(st, &list, &n), 0);
	assert_int_equal(n, 0);
	ecc_node_array_free(list, n);
	assert_int_equal(ecc_store_node_get(st, &got, "mta1"), ECC_ENOTFOUND);
	assert_non_null(strstr(ecc_error_last(), "mta1 is not enrolled"));

	assert_int_equal(ecc_store_node_put(st, &a), 0);
	assert_int_equal(ecc_store_node_put(st, &b), 0);
	path = ecc_printf("%s/nodes.json", (char *)*state);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(path);

	assert_int_equal(ecc_store_node_list(st, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "mta1");
	assert_string_equal(list[0].subcluster, "east");
	assert_string_equal(list[1].name, "mta2");
	assert_string_equal(list[1].serial, "0a1b");
	assert_int_equal(list[1].enrolled, 100);
	ecc_node_array_free(list, n);

	/* Re-enrollment replaces the record. */
	b = node("mta1", "east", "1234", 300);
	assert_int_equal(ecc_store_node_put(st, &b), 0);
	ecc_store_free(st);
	st = open_store(state);
	assert_int_equal(ecc_store_node_get(st, &got, "mta1"), 0);
	assert_string_equal(got.serial, "1234");
	assert_int_equal(got.enrolled, 300);
	ecc_node_clear(&got);

	assert_int_equal(ecc_store_node_remove(st, "mta1"), 0);
	assert_int_equal(ecc_store_node_remove(st, "mta1"), ECC_ENOTFOUND);
	assert_int_equal(ecc_store_node_get(st, &got, "mta1"), ECC_ENOTFOUND);
	assert_int_equal(ecc_store_node_list(st, &list, &n), 0);
	assert_int_equal(n, 1);
	ecc_node_array_free(list, n);
	ecc_store_free(st);
}

#define BAD_NODES "{\"nodes\":[{\"name\":\"mta1\"}]}"

static void
test_store__nodes_bad_input(void **state)
{
	ecc_store *st = open_store(state);
	struct ecc_node bad = node("mta1", "default", "XYZ", 1);
	struct ecc_node got, *list = NULL;
	char *path;
	size_t n = 0;

	assert_int_equal(ecc_store_node_put(st, &bad), ECC_EINVALID);
	bad = node("mta1", "default", "", 1);
	assert_int_equal(ecc_store_node_put(st, &bad), ECC_EINVALID);
	bad = node("../x", "default", "ab", 1);
	assert_int_equal(ecc_store_node_put(st, &bad), ECC_EINVALID);
	bad = node("mta1", "Bad Name", "ab", 1);
	assert_int_equal(ecc_store_node_put(st, &bad), ECC_EINVALID);
	assert_int_equal(ecc_store_node_get(st, &got, ""), ECC_EINVALID);

	/* A corrupt file is an error naming it, never an empty store. */
	path = ecc_printf("%s/nodes.json", (char *)*state);
	assert_int_equal(ecc_file_write_atomic(path, BAD_NODES,
	    strlen(BAD_NODES), 0600), 0);
	assert_int_equal(ecc_store_node_list(st, &list, &n), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "nodes.json"));
	assert_int_equal(ecc_file_write_atomic(path, "[]", 2, 0600), 0);
	assert_int_equal(ecc_store_node_get(st, &got, "mta1"), ECC_EINVALID);
	free(path);
	ecc_store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store__add_get_list,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_store__bad_input,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_store__update_remove,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_store__last_admin,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_store__persistence,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_store__corrupt_file,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_store__open_errors,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_store__nodes,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_store__nodes_bad_input,
		    test_setup_tmpdir, test_teardown_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
