/*  charset.h - any charset a mail declares, to clean UTF-8 (pure: iconv, no I/O).

    Mail lies about its charset often enough that nothing here fails on input: an unknown
    charset is read as windows-1252, a byte that is not valid in the declared charset
    becomes U+FFFD, and the result is always well-formed UTF-8.
*/
#ifndef ADUAN_EMAIL_CHARSET_H
#define ADUAN_EMAIL_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

/*  Converts len bytes of in, declared as charset (NULL or "": us-ascii), to UTF-8.
    Returns a new NUL-terminated string (caller frees) and its length in *outlen (may be
    NULL); NULL only when memory runs out. *fell_back (may be NULL) says whether the
    charset was unknown and windows-1252 was used instead. */
char *email_charset_to_utf8(const char *charset, const void *in, size_t len, size_t *outlen,
                            bool *fell_back);

/*  Makes UTF-8 of a header value that may carry raw 8-bit bytes (no declared charset):
    kept when it is valid UTF-8, else read as windows-1252. Caller frees; NULL when memory
    runs out. */
char *email_charset_repair(const char *s, size_t len);

/*  For a text field: CR LF and lone CR become LF; other control characters (C0 but TAB
    and LF, DEL, C1) are dropped; trailing blanks of each line and blank lines at both
    ends go. In place; s must be valid UTF-8. */
void email_text_clean(char *s);

/*  For a line field (subject, name): every run of control characters and blanks becomes
    one space, and the ends are trimmed. In place; s must be valid UTF-8. */
void email_line_clean(char *s);

/*  Cuts s to at most max bytes at a character boundary (s valid UTF-8). Returns true when
    something was cut. */
bool email_utf8_cut(char *s, size_t max);

#endif
