/* replay.c: a main() for the ordinary build that runs every file of the given
 * corpus directories (or the given files) through LLVMFuzzerTestOneInput(),
 * in name order. A crash or a failed invariant fails the test; so does an
 * empty or missing corpus, which would otherwise pass silently. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -1;
        }
        size_t cap = 4096, len = 0;
        uint8_t *data = malloc(cap);
        if (!data) {
                fclose(f);
                return -1;
        }
        for (;;) {
                if (len == cap) {
                        uint8_t *nd = realloc(data, cap *= 2);
                        if (!nd) {
                                free(data);
                                fclose(f);
                                return -1;
                        }
                        data = nd;
                }
                size_t n = fread(data + len, 1, cap - len, f);
                if (n == 0)
                        break;
                len += n;
        }
        fclose(f);
        /* an exact-size copy, so that ASan catches reads past the input */
        uint8_t *exact = malloc(len ? len : 1);
        if (!exact) {
                free(data);
                return -1;
        }
        memcpy(exact, data, len);
        free(data);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        return 0;
}

static int only_files(const struct dirent *d)
{
        return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
        size_t total = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (run_file(argv[i]) < 0)
                                return 1;
                        total++;
                        continue;
                }
                struct dirent **names;
                int n = scandir(argv[i], &names, only_files, alphasort);
                if (n < 0) {
                        fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                for (int k = 0; k < n; k++) {
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
                        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                                if (run_file(path) < 0)
                                        return 1;
                                total++;
                        }
                        free(names[k]);
                }
                free(names);
        }
        printf("replayed %zu inputs\n", total);
        return total > 0 ? 0 : 1;
}
