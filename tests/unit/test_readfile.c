/* test_readfile.c: util/readfile.c, reading a whole small file: the cap
 * (exactly at it, one byte over, a file whose size stat() does not tell),
 * what is not a regular file (directory, FIFO: refused without blocking,
 * symbolic link with READFILE_NOFOLLOW), missing files, the error texts,
 * and outputs untouched on failure. Files in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"
#include "test.h"

static char dir[64];

static const char *at(const char *name)
{
        static char path[128];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return path;
}

static void write_file(const char *name, const char *data, size_t len)
{
        int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        CHECK(fd >= 0);
        CHECK(write(fd, data, len) == (ssize_t)len);
        close(fd);
}

static void test_read(void)
{
        char *text = NULL, err[256];
        size_t len = 99;

        write_file("a.json", "{\"x\": 1}\n", 9);
        CHECK_EQ_INT(readfile(at("a.json"), 100, &text, &len, err, sizeof(err)), 0);
        CHECK_EQ_INT(len, 9);
        CHECK_STREQ(text, "{\"x\": 1}\n"); /* NUL-terminated */
        free(text);

        /* exactly the cap, then one byte more */
        CHECK_EQ_INT(readfile(at("a.json"), 9, &text, &len, err, sizeof(err)), 0);
        CHECK_EQ_INT(len, 9);
        free(text);
        text = (char *)0x1;
        len = 99;
        CHECK_EQ_INT(readfile(at("a.json"), 8, &text, &len, err, sizeof(err)), -EFBIG);
        CHECK(text == (char *)0x1);
        CHECK_EQ_INT(len, 99);
        CHECK_CONTAINS(err, at("a.json"));
        CHECK_CONTAINS(err, ": larger than 8 bytes");

        /* empty */
        write_file("empty", "", 0);
        CHECK_EQ_INT(readfile(at("empty"), 10, &text, &len, err, sizeof(err)), 0);
        CHECK_EQ_INT(len, 0);
        CHECK_STREQ(text, "");
        free(text);
        text = NULL;
        CHECK_EQ_INT(readfile(at("empty"), 0, &text, &len, err, sizeof(err)), 0);
        free(text);

        /* a NUL inside is data: the length tells */
        write_file("nul", "a\0b", 3);
        CHECK_EQ_INT(readfile(at("nul"), 10, &text, &len, err, sizeof(err)), 0);
        CHECK_EQ_INT(len, 3);
        CHECK(memcmp(text, "a\0b", 4) == 0);
        free(text);

        /* larger than the first allocation guesses: grows up to the cap */
        size_t big = 300000;
        char *data = malloc(big);
        CHECK(data);
        memset(data, 'x', big);
        write_file("big", data, big);
        free(data);
        CHECK_EQ_INT(readfile(at("big"), big, &text, &len, err, sizeof(err)), 0);
        CHECK_EQ_INT(len, big);
        CHECK_EQ_INT(text[big - 1], 'x');
        CHECK_EQ_INT(text[big], 0);
        free(text);
        CHECK_EQ_INT(readfile(at("big"), big - 1, &text, &len, err, sizeof(err)), -EFBIG);
}

static void test_no_size(void)
{
        char *text = NULL, err[256];
        size_t len = 0;

        /* procfs files say st_size 0: read to the end anyway, and hold them to the cap */
        if (access("/proc/self/status", R_OK) != 0)
                return;
        CHECK_EQ_INT(readfile("/proc/self/status", 1 << 20, &text, &len, err, sizeof(err)), 0);
        CHECK(len > 10);
        CHECK_EQ_INT(strlen(text), len);
        CHECK(strstr(text, "Pid:"));
        free(text);
        CHECK_EQ_INT(readfile("/proc/self/status", 5, &text, &len, err, sizeof(err)), -EFBIG);
        CHECK_CONTAINS(err, "larger than 5 bytes");
}

static void test_refused(void)
{
        char *text = (char *)0x1, err[256];
        size_t len = 7;

        CHECK_EQ_INT(readfile(at("missing"), 10, &text, &len, err, sizeof(err)), -ENOENT);
        CHECK_CONTAINS(err, at("missing"));
        CHECK_CONTAINS(err, strerror(ENOENT));

        CHECK_EQ_INT(readfile(dir, 10, &text, &len, err, sizeof(err)), -EISDIR);
        CHECK_CONTAINS(err, ": not a regular file");

        /* a FIFO with no writer: refused at once, never waited on */
        CHECK_EQ_INT(mkfifo(at("fifo"), 0600), 0);
        CHECK_EQ_INT(readfile(at("fifo"), 10, &text, &len, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, ": not a regular file");
        unlink(at("fifo"));

        CHECK_EQ_INT(readfile("/dev/null", 10, &text, &len, err, sizeof(err)), -EINVAL);
        CHECK(text == (char *)0x1);
        CHECK_EQ_INT(len, 7);

        /* symbolic links: followed, unless READFILE_NOFOLLOW (relative to a directory fd) */
        write_file("target", "t", 1);
        CHECK_EQ_INT(symlink("target", at("link")), 0);
        CHECK_EQ_INT(readfile(at("link"), 10, &text, &len, err, sizeof(err)), 0);
        CHECK_STREQ(text, "t");
        free(text);
        text = (char *)0x1;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(dfd >= 0);
        CHECK_EQ_INT(readfile_at(dfd, "link", READFILE_NOFOLLOW, 10, &text, &len, err, sizeof(err)), -ELOOP);
        CHECK_CONTAINS(err, "link: ");
        CHECK(text == (char *)0x1);
        CHECK_EQ_INT(readfile_at(dfd, "target", READFILE_NOFOLLOW, 10, &text, &len, err, sizeof(err)), 0);
        CHECK_STREQ(text, "t");
        free(text);
        close(dfd);

        /* a tiny error buffer is still terminated; none at all is allowed */
        char small[8];
        CHECK_EQ_INT(readfile(at("missing"), 10, &text, &len, small, sizeof(small)), -ENOENT);
        CHECK_EQ_INT(strlen(small), 7);
        CHECK_EQ_INT(readfile(at("missing"), 10, &text, &len, NULL, 0), -ENOENT);
}

static void cleanup(void)
{
        const char *names[] = { "a.json", "empty", "nul", "big", "target", "link", "fifo" };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                unlink(at(names[i]));
        rmdir(dir);
}

int main(void)
{
        snprintf(dir, sizeof(dir), "/tmp/test_readfile.XXXXXX");
        CHECK(mkdtemp(dir));
        atexit(cleanup);
        test_read();
        test_no_size();
        test_refused();
        return 0;
}
