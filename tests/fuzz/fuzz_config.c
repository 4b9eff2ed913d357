/*  fuzz_config: the configuration file (core/common/config.c over libinih): every error
    must be a message with file:line, never a crash. The input is the file's text. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aduan/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("aduan.conf", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    aduan_config_t *config = NULL;
    aduan_config_errors_t errors = {0};
    if (aduan_config_load(path, &config, &errors) == 0 && !config)
        abort();
    aduan_config_destroy(&config);
    aduan_config_errors_clear(&errors);
    close(fd);
    return 0;
}
