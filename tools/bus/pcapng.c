/* pcapng.c: see pcapng.h. Blocks are written in the host's byte order (the
 * section header's byte-order magic says which); the exported-PDU tags inside
 * a packet are big-endian, as Wireshark's exported_pdu format defines them. */
#include "pcapng.h"

#include <errno.h>
#include <string.h>

#define BLOCK_SHB 0x0A0D0D0Au
#define BLOCK_IDB 0x00000001u
#define BLOCK_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define LINKTYPE_WIRESHARK_UPPER_PDU 252u
#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define IF_TSRESOL 9
/* Wireshark's exported_pdu tags (epan/exported_pdu.h) */
#define EXP_PDU_TAG_END_OF_OPT 0
#define EXP_PDU_TAG_DISSECTOR_NAME 12
#define DISSECTOR "json"

static size_t pad4(size_t n)
{
        return (n + 3) & ~(size_t)3;
}

static int put(FILE *f, const void *p, size_t n)
{
        return fwrite(p, 1, n, f) == n ? 0 : -EIO;
}

static int put32(FILE *f, uint32_t v)
{
        return put(f, &v, 4);
}

static int put16(FILE *f, uint16_t v)
{
        return put(f, &v, 2);
}

static int put16be(FILE *f, uint16_t v)
{
        unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };
        return put(f, b, 2);
}

static int put_zeros(FILE *f, size_t n)
{
        static const char zeros[4];
        return n ? put(f, zeros, n) : 0;
}

int pcapng_start(FILE *f)
{
        int e = 0;

        /* Section Header Block: no options; section length unknown (-1) */
        e |= put32(f, BLOCK_SHB);
        e |= put32(f, 28);
        e |= put32(f, BYTE_ORDER_MAGIC);
        e |= put16(f, 1);
        e |= put16(f, 0);
        e |= put32(f, 0xFFFFFFFFu);
        e |= put32(f, 0xFFFFFFFFu);
        e |= put32(f, 28);
        /* Interface Description Block: exported PDUs, no snap length,
         * if_tsresol 6 (microseconds, also the default) */
        e |= put32(f, BLOCK_IDB);
        e |= put32(f, 32);
        e |= put16(f, LINKTYPE_WIRESHARK_UPPER_PDU);
        e |= put16(f, 0);
        e |= put32(f, 0);
        e |= put16(f, IF_TSRESOL);
        e |= put16(f, 1);
        unsigned char res[4] = { 6, 0, 0, 0 };
        e |= put(f, res, 4);
        e |= put16(f, OPT_ENDOFOPT);
        e |= put16(f, 0);
        e |= put32(f, 32);
        return e ? -EIO : 0;
}

int pcapng_write(FILE *f, uint64_t time_us, const char *data, size_t len, const char *comment)
{
        /* the packet: the tag naming the dissector, the end tag, the JSON */
        size_t tags = 4 + pad4(strlen(DISSECTOR)) + 4;
        size_t caplen = tags + len;
        size_t clen = comment ? strlen(comment) : 0;
        size_t opts = (clen ? 4 + pad4(clen) : 0) + 4;
        size_t total = 28 + pad4(caplen) + opts + 4;
        int e = 0;

        if (clen > UINT16_MAX || total > UINT32_MAX)
                return -EIO;
        e |= put32(f, BLOCK_EPB);
        e |= put32(f, (uint32_t)total);
        e |= put32(f, 0); /* interface 0 */
        e |= put32(f, (uint32_t)(time_us >> 32));
        e |= put32(f, (uint32_t)time_us);
        e |= put32(f, (uint32_t)caplen);
        e |= put32(f, (uint32_t)caplen);
        e |= put16be(f, EXP_PDU_TAG_DISSECTOR_NAME);
        e |= put16be(f, (uint16_t)strlen(DISSECTOR));
        e |= put(f, DISSECTOR, strlen(DISSECTOR));
        e |= put_zeros(f, pad4(strlen(DISSECTOR)) - strlen(DISSECTOR));
        e |= put16be(f, EXP_PDU_TAG_END_OF_OPT);
        e |= put16be(f, 0);
        e |= put(f, data, len);
        e |= put_zeros(f, pad4(caplen) - caplen);
        if (clen) {
                e |= put16(f, OPT_COMMENT);
                e |= put16(f, (uint16_t)clen);
                e |= put(f, comment, clen);
                e |= put_zeros(f, pad4(clen) - clen);
        }
        e |= put16(f, OPT_ENDOFOPT);
        e |= put16(f, 0);
        e |= put32(f, (uint32_t)total);
        return e ? -EIO : 0;
}
