/* fuzz_address.c: bus addresses (proto/address.c).
 *
 * Input: a string (cut at the first NUL). Parsing must not overflow; an
 * accepted address has an absolute path that fits a socket address, and
 * formatting then parsing it gives it back. The same string as
 * XDG_RUNTIME_DIR must give a default address that fits or -ENAMETOOLONG,
 * and the seqpacket sibling of any parsed address fits or is refused. */
#include <errno.h>
#include <string.h>

#include "address.h"
#include "fuzz.h"

static void check_path(const struct address *a)
{
        size_t n = strnlen(a->path, sizeof(a->path));
        FUZZ_CHECK(n < sizeof(a->path));
        FUZZ_CHECK(a->path[0] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        struct address a, b;
        char text[256];

        FUZZ_CHECK(s);
        memcpy(s, data, size);
        s[size] = 0;

        memset(&a, 0x55, sizeof(a));
        int r = address_parse(s, &a);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENAMETOOLONG);
        if (r == 0) {
                check_path(&a);
                address_format(&a, text, sizeof(text));
                FUZZ_CHECK(address_parse(text, &b) == 0);
                FUZZ_CHECK(b.seqpacket == a.seqpacket && strcmp(b.path, a.path) == 0);
                /* the scheme decides the socket type */
                FUZZ_CHECK(a.seqpacket == (strncmp(s, "seqpacket:", 10) == 0));
                int k = address_seqpacket_sibling(&a, &b);
                FUZZ_CHECK(k == 0 || k == -ENAMETOOLONG);
                if (k == 0) {
                        check_path(&b);
                        FUZZ_CHECK(b.seqpacket && strlen(b.path) == strlen(a.path) + 4);
                }
        }
        for (int sys = 0; sys < 2; sys++) {
                for (int seq = 0; seq < 2; seq++) {
                        int k = address_default(sys, seq, s, (uid_t)size, &b);
                        FUZZ_CHECK(k == 0 || k == -ENAMETOOLONG);
                        if (k == 0)
                                check_path(&b);
                        FUZZ_CHECK(sys == 0 || k == 0); /* the system bus never depends on it */
                }
        }
        char dir[64];
        int k = address_default_dir(false, s, 0, dir, sizeof(dir));
        FUZZ_CHECK(k == 0 || k == -ENAMETOOLONG);
        if (k == 0)
                FUZZ_CHECK(dir[0] == '/' && strlen(dir) < sizeof(dir));
        free(s);
        return 0;
}
