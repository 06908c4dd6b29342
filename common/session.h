/* Browser sessions of the web pages: a random secret in an HttpOnly cookie, kept in the index
 * only as its BLAKE2b-256 (like API tokens), with an expiry. Each session has a CSRF token that
 * the pages put in their forms: derived from the secret, so it needs no storage and cannot be
 * guessed without the cookie. */
#ifndef SCOPED_SESSION_H
#define SCOPED_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "index.h"

#define SESSION_TEXT_MAX 64
#define CSRF_TEXT_MAX 65

/* Starts a session for who; text (the cookie's value) is shown to the browser once. */
int session_create(index_t *ix, const identity_t *who, uint64_t lifetime_s,
                   char text[SESSION_TEXT_MAX]);
/* Fills who from a cookie value; who->authenticated stays false for an unknown or expired one. */
int session_identify(index_t *ix, const char *text, identity_t *who);
int session_end(index_t *ix, const char *text);
/* The CSRF token of a secret (a session's, or a sign-in form's pre-session nonce). */
void session_csrf(const char *text, const char *purpose, char out[CSRF_TEXT_MAX]);
/* Compares in constant time; false when either is missing. */
bool session_csrf_ok(const char *text, const char *purpose, const char *given);
/* A random secret for a sign-in form's nonce cookie. */
void session_nonce(char text[SESSION_TEXT_MAX]);

#endif
