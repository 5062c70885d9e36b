/* pktstash.c: see pktstash.h. */
#include "pktstash.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TRUNC_BIT (~(SIZE_MAX >> 1))

int pktstash_save(struct pktstash *st, const struct mmsghdr *mm, const struct iovec *iov, int from, int n)
{
        size_t need = 0, off = 0;

        for (int i = from; i < n; i++)
                need += sizeof(size_t) + mm[i].msg_len;
        if (!need)
                return 0;
        char *s = malloc(need);
        if (!s)
                return -ENOMEM;
        for (int i = from; i < n; i++) {
                size_t len = mm[i].msg_len;
                size_t word = len | (mm[i].msg_hdr.msg_flags & MSG_TRUNC ? TRUNC_BIT : 0);
                memcpy(s + off, &word, sizeof(word));
                memcpy(s + off + sizeof(word), iov[i].iov_base, len);
                off += sizeof(word) + len;
        }
        pktstash_deinit(st);
        st->mem = s;
        st->len = need;
        return 0;
}

bool pktstash_replay(struct pktstash *st, bool (*fn)(void *ud, char *data, size_t len, bool trunc), void *ud)
{
        while (st->mem && st->off < st->len) {
                size_t word;
                memcpy(&word, st->mem + st->off, sizeof(word));
                char *data = st->mem + st->off + sizeof(word);
                size_t len = word & ~TRUNC_BIT;
                st->off += sizeof(word) + len;
                if (!fn(ud, data, len, word & TRUNC_BIT))
                        return false;
        }
        pktstash_deinit(st);
        return true;
}

void pktstash_deinit(struct pktstash *st)
{
        free(st->mem);
        st->mem = NULL;
        st->len = st->off = 0;
}
