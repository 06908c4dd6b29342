/* Streaming ustar reader for upload bodies, and the header writer for tar replies.
 *
 * The reader is push-based: the HTTP layer feeds body chunks of any size as they arrive and
 * entry contents go straight to callbacks, so memory stays at one header block plus a PAX
 * buffer bounded by tar_limits_t. Only regular files are accepted; the caller judges names. */
#ifndef SCOPED_TAR_H
#define SCOPED_TAR_H

#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK 512
/* Zero bytes that end an archive (two zero blocks). */
#define TAR_END_SIZE 1024

/* A zero field in tar_limits_t, or a NULL tar_limits_t, takes these. */
#define TAR_DEFAULT_MAX_ENTRY_SIZE ((uint64_t)1 << 30)
#define TAR_DEFAULT_MAX_PAX_SIZE ((size_t)64 * 1024)
#define TAR_DEFAULT_MAX_NAME_LEN ((size_t)255)

typedef struct {
    uint64_t max_entry_size; /* larger entry size in a header -> TAR_ERR_LIMIT */
    size_t max_pax_size;     /* PAX 'x'/'g' header bodies larger than this -> TAR_ERR_LIMIT */
    size_t max_name_len;     /* resulting names longer -> TAR_ERR_LIMIT */
} tar_limits_t;

/* Each callback returns 0 to go on, or a nonzero value that aborts the reader and is returned by
 * tar_reader_feed. Any of them may be NULL. */
typedef struct {
    /* A regular-file entry begins. name is NUL-terminated: prefix + "/" + name, a GNU long
     * name, or a PAX path. It is only valid during the call. */
    int (*entry_begin)(void *ctx, const char *name, uint64_t size);
    /* A piece of the entry's content, never empty; the pieces add up to size. */
    int (*entry_data)(void *ctx, const unsigned char *data, size_t len);
    /* All size bytes were delivered. An entry begun but never ended (error or truncation) must
     * be discarded by the caller. */
    int (*entry_end)(void *ctx);
} tar_callbacks_t;

enum { TAR_OK = 0, TAR_ERR_FORMAT = -1, TAR_ERR_LIMIT = -2, TAR_ERR_TRUNCATED = -3 };

typedef struct tar_reader tar_reader_t;

/* cb and lim are copied; lim may be NULL. Returns NULL only when memory runs out. */
tar_reader_t *tar_reader_new(const tar_callbacks_t *cb, void *ctx, const tar_limits_t *lim);
void tar_reader_free(tar_reader_t *r);
/* Returns TAR_OK, a TAR_ERR_*, or a callback's nonzero value. Errors are sticky: once one is
 * returned, every later feed (and finish) returns the same value. */
int tar_reader_feed(tar_reader_t *r, const unsigned char *data, size_t len);
/* At the end of the body: TAR_OK only if the end-of-archive marker (one or two zero blocks, and
 * any trailing zero padding) was seen; TAR_ERR_TRUNCATED otherwise, or the earlier sticky error. */
int tar_reader_finish(tar_reader_t *r);
/* A sentence for the last error, e.g. "tar header checksum mismatch at offset 1024"; "" if none. */
const char *tar_reader_error(const tar_reader_t *r);
/* Regular-file entries completed so far (entry_end reached). */
uint64_t tar_reader_entries(const tar_reader_t *r);

/* A ustar header for a regular file: mode 0644, uid/gid 0, empty uname/gname, valid checksum.
 * Names up to 100 bytes go in the name field; a longer one is split at a '/' into the prefix
 * field when it can be, and truncated to 100 bytes otherwise. Sizes of 8 GiB and more use the
 * base-256 form; mtime is clamped to what 11 octal digits hold. */
void tar_header_write(unsigned char out[TAR_BLOCK], const char *name, uint64_t size,
                      long long mtime);
/* Zero bytes to add after size bytes of content to reach a block boundary. */
size_t tar_padding(uint64_t size);

#endif
