#include "html.h"

#include <ctype.h>
#include <string.h>

bool html_escape(buf_t *b, const char *s)
{
    return html_escape_n(b, s, strlen(s));
}

bool html_escape_n(buf_t *b, const char *s, size_t len)
{
    for (const char *end = s + len; s < end; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\0': rep = "\xef\xbf\xbd"; break;
        default: break;
        }
        if (!(rep ? buf_append_str(b, rep) : buf_append_byte(b, (unsigned char)*s)))
            return false;
    }
    return true;
}

bool url_encode(buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool ok = isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
                      ? buf_append_byte(b, c)
                      : buf_append_byte(b, '%') && buf_append_byte(b, (unsigned char)hex[c >> 4]) &&
                            buf_append_byte(b, (unsigned char)hex[c & 15]);
        if (!ok)
            return false;
    }
    return true;
}

bool url_encode_path(buf_t *b, const char *s)
{
    char one[2] = {0, 0};
    for (; *s; s++) {
        one[0] = *s;
        if (!(*s == '/' ? buf_append_byte(b, '/') : url_encode(b, one)))
            return false;
    }
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool form_value(const char *body, size_t len, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    for (size_t pos = 0; pos < len;) {
        const char *pair = body + pos;
        const char *amp = memchr(pair, '&', len - pos);
        size_t plen = amp ? (size_t)(amp - pair) : len - pos;
        pos += plen + 1;
        if (plen <= klen || pair[klen] != '=' || memcmp(pair, key, klen) != 0)
            continue;
        size_t o = 0;
        for (size_t i = klen + 1; i < plen && o + 1 < outlen; i++) {
            char c = pair[i];
            if (c == '+') {
                c = ' ';
            } else if (c == '%' && i + 2 < plen && hexval(pair[i + 1]) >= 0 &&
                       hexval(pair[i + 2]) >= 0) {
                c = (char)(hexval(pair[i + 1]) << 4 | hexval(pair[i + 2]));
                i += 2;
                if (c == 0)
                    return false; /* a NUL would cut the value short unseen */
            }
            out[o++] = c;
        }
        out[o] = 0;
        return true;
    }
    return false;
}
