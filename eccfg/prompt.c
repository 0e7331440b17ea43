/*
 * prompt.c - questions on the controlling terminal (see prompt.h): the
 * password prompt without echo, new passwords asked twice, yes/no and
 * free-text questions.  Without a terminal every question fails at once
 * naming the option that answers it, so scripts never hang.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "error.h"
#include "prompt.h"
#include "util.h"

#define PROMPT_LINE_MAX 4096
#define PROMPT_TRIES 3

/* The terminal state to restore if a signal arrives while echo is off. */
static struct termios saved_termios;
static volatile sig_atomic_t echo_off;

static void
prompt_on_signal(int sig)
{
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
	signal(sig, SIG_DFL);
	raise(sig);
}

int
prompt_is_interactive(void)
{
	return isatty(STDIN_FILENO);
}

static int
prompt_refuse(const char *question, const char *flag_hint)
{
	size_t n = strlen(question);

	while (n > 0 && strchr(" :?", question[n - 1]))
		n--;
	return ecc_error_set(ECC_EINVALID, "cannot ask \"%.*s\": standard "
	    "input is not a terminal; pass %s", (int)n, question,
	    flag_hint ? flag_hint : "the answer as an option");
}

/* Read one line from stdin into a malloc'd string without its newline.
 * ECC_EINVALID at end of input or for an over-long line. */
static int
prompt_read_line(char **out, const char *question)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int error = -1;

	*out = NULL;
	errno = 0;
	if ((n = getline(&line, &cap, stdin)) < 0) {
		if (errno)
			error = ecc_error_set_errno(ECC_ERROR,
			    "cannot read the answer to \"%s\"", question);
		else
			error = ecc_error_set(ECC_EINVALID, "no answer to "
			    "\"%s\" (end of input)", question);
		goto out;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if ((size_t)n > PROMPT_LINE_MAX || strlen(line) != (size_t)n) {
		error = ecc_error_set(ECC_EINVALID, "the answer to \"%s\" is "
		    "longer than %d bytes or holds a NUL byte", question,
		    PROMPT_LINE_MAX);
		goto out;
	}
	*out = ecc_strdup(line);
	error = 0;
out:
	if (line) {
		OPENSSL_cleanse(line, cap);
		free(line);
	}
	return error;
}

int
prompt_password(char **out, const char *question, const char *flag_hint)
{
	struct termios t;
	struct sigaction sa, old_int, old_term, old_hup;
	int error = -1, changed = 0;

	*out = NULL;
	if (!prompt_is_interactive())
		return prompt_refuse(question, flag_hint);
	fprintf(stderr, "%s", question);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = prompt_on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGHUP, &sa, &old_hup);
		t = saved_termios;
		t.c_lflag &= ~(tcflag_t)ECHO;
		t.c_lflag |= ECHONL;
		echo_off = 1;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
			changed = 1;
	}
	error = prompt_read_line(out, question);
	if (changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
	if (echo_off) {
		echo_off = 0;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
	}
	return error;
}

static void
prompt_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

int
prompt_new_password(char **out, const char *what, const char *flag_hint)
{
	char *q1 = NULL, *q2 = NULL, *a = NULL, *b = NULL;
	int error = -1, i;

	*out = NULL;
	q1 = ecc_printf("New password for %s: ", what);
	q2 = ecc_printf("Retype the password for %s: ", what);
	if (!prompt_is_interactive()) {
		error = prompt_refuse(q1, flag_hint);
		goto out;
	}
	for (i = 0; i < PROMPT_TRIES; i++) {
		prompt_free_secret(a);
		prompt_free_secret(b);
		a = b = NULL;
		if ((error = prompt_password(&a, q1, flag_hint)) < 0)
			goto out;
		if (*a == '\0') {
			fputs("The password may not be empty.\n", stderr);
			continue;
		}
		if ((error = prompt_password(&b, q2, flag_hint)) < 0)
			goto out;
		if (strcmp(a, b) == 0) {
			*out = a;
			a = NULL;
			error = 0;
			goto out;
		}
		fputs("The passwords do not match; try again.\n", stderr);
	}
	error = ecc_error_set(ECC_EINVALID, "no matching password for %s "
	    "after %d tries", what, PROMPT_TRIES);
out:
	prompt_free_secret(a);
	prompt_free_secret(b);
	free(q1);
	free(q2);
	return error;
}

int
prompt_yes_no(int *out, const char *question, int def,
    const char *flag_hint)
{
	char *line = NULL;
	int error = -1, i;

	*out = def;
	if (!prompt_is_interactive())
		return prompt_refuse(question, flag_hint);
	for (i = 0; i < PROMPT_TRIES; i++) {
		free(line);
		line = NULL;
		fprintf(stderr, "%s [%s] ", question, def ? "Y/n" : "y/N");
		fflush(stderr);
		if ((error = prompt_read_line(&line, question)) < 0)
			goto out;
		if (*line == '\0') {
			*out = def;
			goto out;
		}
		if (strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0) {
			*out = 1;
			goto out;
		}
		if (strcasecmp(line, "n") == 0 || strcasecmp(line, "no") == 0) {
			*out = 0;
			goto out;
		}
		fputs("Please answer yes or no.\n", stderr);
	}
	error = ecc_error_set(ECC_EINVALID, "no yes/no answer to \"%s\"",
	    question);
out:
	free(line);
	return error;
}

int
prompt_line(char **out, const char *question, const char *flag_hint)
{
	*out = NULL;
	if (!prompt_is_interactive())
		return prompt_refuse(question, flag_hint);
	fprintf(stderr, "%s", question);
	fflush(stderr);
	return prompt_read_line(out, question);
}
