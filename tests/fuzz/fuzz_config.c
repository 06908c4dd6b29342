/* conf/scoped.conf's parser: any text is accepted with every limit positive, or refused with a
 * message that names the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config_t c;
    config_defaults(&c);
    char err[512] = "";
    if (config_parse(&c, (const char *)data, size, "fuzz.conf", err, sizeof err) == 0) {
        const uint64_t *lim = (const uint64_t *)&c.lim;
        for (size_t i = 0; i < sizeof c.lim / sizeof *lim; i++)
            if (lim[i] == 0)
                abort();
        if (!memchr(c.listen, 0, sizeof c.listen) || !memchr(c.data_dir, 0, sizeof c.data_dir) ||
            !c.listen[0] || !c.data_dir[0])
            abort();
    } else if (strncmp(err, "fuzz.conf", 9) != 0) {
        abort();
    }
    return 0;
}
