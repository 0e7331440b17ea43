/*
 * prompt.h - questions on the controlling terminal.  Every function fails
 * with ECC_EINVALID and a message naming the flag to pass when standard
 * input is not a terminal, so scripts never hang.
 */
#ifndef ECCFG_PROMPT_H
#define ECCFG_PROMPT_H

#include <stddef.h>

/* 1 when stdin is a terminal. */
int prompt_is_interactive(void);

/* Read a line without echo into a malloc'd string (newline stripped).
 * `flag_hint` names the option that avoids the prompt ("--password"). */
int prompt_password(char **out, const char *question, const char *flag_hint);

/* Ask twice; they must match (asks again up to 3 times). */
int prompt_new_password(char **out, const char *what, const char *flag_hint);

/* Ask a yes/no question; *out 1 for yes. `def` is used on empty input. */
int prompt_yes_no(int *out, const char *question, int def,
    const char *flag_hint);

/* Read one visible line; malloc'd. */
int prompt_line(char **out, const char *question, const char *flag_hint);

#endif
