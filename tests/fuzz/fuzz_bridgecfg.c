/* fuzz_bridgecfg.c: the bridge's configuration file (busd/bridge/bridgecfg.c).
 *
 * Input: the text of a file. The parser answers 0 or -EINVAL (-ENOMEM
 * aside) with a non-empty reason; on success every link has a name and
 * peers, every address parses and the check function answers without
 * crashing; freeing leaves nothing behind. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "bridgecfg.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct bridge_config c;
        char err[300];

        err[0] = '\0';
        int r = bridgecfg_parse((const char *)data, size, &c, err, sizeof(err));
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r != 0) {
                FUZZ_CHECK(r == -ENOMEM || err[0] != '\0');
                return 0;
        }
        for (size_t i = 0; i < c.nlinks; i++) {
                struct sockaddr_storage ss;
                FUZZ_CHECK(c.links[i].name && c.links[i].npeers > 0);
                char host[256], port[8];
                (void)ss;
                if (c.links[i].connect)
                        FUZZ_CHECK(bridgecfg_host_port(c.links[i].connect, host, sizeof(host), port, sizeof(port)) ==
                                   0);
        }
        for (size_t i = 0; i < c.nlisten; i++) {
                struct sockaddr_storage ss;
                FUZZ_CHECK(bridgecfg_address(c.listen[i], &ss) == 0);
        }
        bridgecfg_check(&c, err, sizeof(err));
        bridgecfg_free(&c);
        return 0;
}
