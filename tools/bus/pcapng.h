/* pcapng.h: a pcapng file writer for `bus monitor --pcapng` (the block
 * formats of draft-ietf-opsawg-pcapng: a Section Header Block, one Interface
 * Description Block, an Enhanced Packet Block per record). The interface's
 * link type is LINKTYPE_WIRESHARK_UPPER_PDU (252): each packet is an exported
 * PDU whose tags name the dissector (`json`), so Wireshark and tshark decode
 * each monitor record as JSON. No I/O beyond the FILE it is given.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes the section header and the interface description. Returns 0 or
 * -EIO. */
int pcapng_start(FILE *f);
/* Writes one record: `data` (len bytes of JSON text) at time_us (µs since
 * the Unix epoch), with `comment` (NUL-terminated, may be NULL) as the
 * packet's comment. Returns 0 or -EIO. */
int pcapng_write(FILE *f, uint64_t time_us, const char *data, size_t len, const char *comment);
