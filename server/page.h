/* What every web page shares: the layout and its stylesheet, the security headers, the visitor's
 * session and the CSRF token of its forms. Every value a page shows goes through page_text (or
 * html_escape); buf_printf on a page is for the page's own markup and numbers only. */
#ifndef SCOPED_PAGE_H
#define SCOPED_PAGE_H

#include "app.h"
#include "html.h"
#include "session.h"

typedef struct {
    req_t *r;
    buf_t b;
    char session[SESSION_TEXT_MAX]; /* the session cookie's value, "" when not signed in */
    char csrf[CSRF_TEXT_MAX];       /* the session's CSRF token, "" when not signed in */
    const char *set_cookie[2];      /* Set-Cookie headers of the reply, static or owned by caller */
    bool cli_redirect;              /* the form may redirect to the CLI's listener (/bit-login) */
} page_t;

#define SESSION_COOKIE "scoped_session"
#define SIGNIN_COOKIE "scoped_signin"

/* Reads the session cookie: a valid session makes r->who its user. */
void page_begin(page_t *p, req_t *r);
/* <head>, the stylesheet and the navigation bar; the caller closes with page_end. */
void page_head(page_t *p, const char *title);
void page_end(page_t *p);
/* Sends the page with its security headers; frees the buffer. */
int page_reply(page_t *p, int status);
/* One answer for "no such page", "no such scope" and "a scope you may not read". */
int page_not_found(page_t *p);
/* A page with one message, e.g. 403 "only server admins may do that". */
int page_message(page_t *p, int status, const char *title, const char *msg);
/* 303 to a local path (never a secret in it). */
int page_redirect(page_t *p, const char *location);
/* Sends the visitor to the sign-in form, back here afterwards. */
int page_sign_in_first(page_t *p);

void page_text(page_t *p, const char *s);
/* A Unix time, or Bit's milliseconds since the epoch as text, as "YYYY-MM-DD HH:MM UTC". */
void page_time(page_t *p, int64_t t);
void page_ms_date(page_t *p, const char *ms);
/* The hidden CSRF field of a form of the signed-in visitor. */
void page_csrf_field(page_t *p);
/* A POST of this session's form? (CSRF token matches the session.) */
bool page_csrf_ok(page_t *p);

const char *page_query(req_t *r, const char *key);
bool page_form(req_t *r, const char *key, char *out, size_t outlen);
/* The origin visitors reach this server at, for `bit remote add` lines. */
void page_origin(page_t *p, buf_t *out);

#endif
